"""The inference API (:mod:`uniformer_mm.apis`: model names, ``init_model``,
``inference_model``), and the inference routes agreeing: for the same weights and input,
``tools/test.py``, the API, the demos (``tools/demo/*``) and each toolbox's own Inferencer
give the same predictions, for every task.

The tiny demo configs with random weights (random BatchNorm statistics, spread logits) on the
generated demo data; the first test sample of each. ``tools/test.py`` and the demos run as a
user runs them (subprocesses); the API and the Inferencers in-process. A model built without
the config's top-level ``data_preprocessor`` (no normalisation, no BGR->RGB) predicts other
scores, which the classification case catches.
"""
import os.path as osp
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
from conftest import make_demo_data

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / 'configs' / 'demo'
#: task -> (toolbox, demo config, demo data set)
TASKS = {
    'cls': ('mmpretrain', 'cls_uniformer_tiny_shapes.py', 'cls'),
    'det': ('mmdet', 'det_mask_rcnn_uniformer_tiny_coco_demo.py', 'coco'),
    'seg': ('mmseg', 'seg_fpn_uniformer_tiny_ade_demo.py', 'ade'),
    'pose': ('mmpose', 'pose_uniformer_tiny_coco_demo.py', 'coco'),
    'video': ('mmaction', 'video_uniformer_tiny_kinetics_demo.py', 'kinetics'),
}


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory) -> str:
    return str(make_demo_data(tmp_path_factory.mktemp('demo_data'),
                              sorted({t[2] for t in TASKS.values()})))


@pytest.fixture
def task_env(request, demo_data, monkeypatch, tmp_path):
    """``(config, checkpoint)`` of a task: the demo config, random weights saved as an
    OpenMMLab checkpoint."""
    toolbox, name, _ = TASKS[request.param]
    pytest.importorskip(toolbox)
    monkeypatch.setenv('UNIFORMER_MM_DEMO_DATA', demo_data)
    from uniformer_mm import apis
    config = str(DEMO / name)
    cfg = apis.load_config(config)
    torch.manual_seed(0)
    model = apis.build_model(cfg)
    model.init_weights()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            # Eval-mode BatchNorm of a fresh model is an identity: give it statistics.
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
        for name_, p in model.named_parameters():
            # Classifier logits far apart, so that scores differ in their first digits.
            if re.search(r'(head|fc_cls)\..*weight$', name_) and p.dim() == 2:
                p.mul_(30)
    # The class names where the config has them (pose: the keypoint metadata comes from the
    # config's dataset, in every route).
    names = apis.class_names(cfg)
    meta = dict(dataset_meta=dict(classes=names)) if names else {}
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=meta), ckpt)
    return config, str(ckpt)


def run_tool(args: List[str]) -> subprocess.CompletedProcess:
    """``python ARGS`` from the repository root, as a user runs the tools."""
    r = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-2000:]
    return r


def first_test_py_prediction(config: str, ckpt: str, tmp_path: Path,
                             out: Optional[str] = None) -> Dict:
    """tools/test.py on the first test sample, with its prediction dumped (``--out``)."""
    out = out or str(tmp_path / 'preds.pkl')
    run_tool(['tools/test.py', config, ckpt, '--work-dir', str(tmp_path / 'wd'), '--out', out,
              '--cfg-options', 'test_dataloader.dataset.indices=1'])
    if out.endswith('.pkl'):
        with open(out, 'rb') as f:
            preds = pickle.load(f)
        assert len(preds) == 1
        return preds[0]
    return {}


def demo_summary(demo: str, src: str, config: str, ckpt: str, tmp_path: Path,
                 *extra: str) -> str:
    """The one-line result a demo prints (``<toolbox>: <summary> -> <png>``)."""
    png = tmp_path / 'demo.png'
    r = run_tool([f'tools/demo/{demo}', src, config, ckpt, '--out', str(png), *extra])
    assert png.is_file()
    (line, ) = [ln for ln in r.stdout.splitlines() if ln.endswith(f'-> {png}')]
    return line


def assert_class_scores_agree(reference: torch.Tensor, routes: Dict[str, torch.Tensor],
                              names: List[str], demo_line: str, toolbox: str,
                              score_kind: str = '') -> None:
    """Every route's class scores are tools/test.py's (``reference``), and the demo prints its
    top-1 (classification and video recognition; video scores say what they are,
    ``score_kind``)."""
    for route, scores in routes.items():
        torch.testing.assert_close(scores, reference, atol=1e-5, rtol=1e-5,
                                   msg=lambda m, r=route: f'{r}: {m}')
    # Scores that differ in their first digits make the demo's printed top-1 a real check.
    top = torch.topk(reference, 2).values
    assert top[0] - top[1] > 0.01, top
    best = int(reference.argmax())
    assert f'{toolbox}: 1. {names[best]}: {float(reference[best]):.3f}{score_kind} ->' \
        in demo_line


@pytest.mark.parametrize('task_env', ['cls'], indirect=True)
def test_classification_routes_agree(task_env, tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer

    from uniformer_mm import apis
    config, ckpt = task_env
    dumped = first_test_py_prediction(config, ckpt, tmp_path)
    img = dumped['img_path']
    reference = dumped['pred_score']

    model = apis.init_model(config, ckpt)
    api = apis.inference_model(model, img).pred_score
    toolbox = ImageClassificationInferencer(model=config, pretrained=ckpt, device='cpu')(
        img, return_datasamples=True)[0].pred_score
    assert_class_scores_agree(reference, dict(api=api, inferencer=toolbox),
                              apis.class_names(model.cfg),
                              demo_summary('image_demo.py', img, config, ckpt, tmp_path),
                              'mmpretrain')


@pytest.mark.parametrize('task_env', ['det'], indirect=True)
def test_detection_routes_agree(task_env, tmp_path):
    from mmdet.apis import DetInferencer

    from uniformer_mm import apis
    config, ckpt = task_env
    dumped = first_test_py_prediction(config, ckpt, tmp_path)
    img = dumped['img_path']
    reference = dumped['pred_instances']
    assert len(reference['scores']) > 0

    api = apis.inference_model(apis.init_model(config, ckpt), img).pred_instances
    toolbox = DetInferencer(model=config, weights=ckpt, device='cpu', show_progress=False)(
        img, return_datasamples=True)['predictions'][0].pred_instances
    for ours in (api, toolbox):
        torch.testing.assert_close(ours.scores, reference['scores'], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours.bboxes, reference['bboxes'], atol=1e-3, rtol=1e-5)
        assert torch.equal(ours.labels, reference['labels'])

    line = demo_summary('image_demo.py', img, config, ckpt, tmp_path, '--score-thr', '0.05')
    n = int((reference['scores'] >= 0.05).sum())
    assert f'mmdet: {n} detections with score >= 0.05 ->' in line


@pytest.mark.parametrize('task_env', ['seg'], indirect=True)
def test_segmentation_routes_agree(task_env, tmp_path):
    from mmseg.apis import MMSegInferencer
    from PIL import Image

    from uniformer_mm import apis
    config, ckpt = task_env
    out_dir = tmp_path / 'pngs'
    first_test_py_prediction(config, ckpt, tmp_path, out=str(out_dir))
    (png, ) = out_dir.glob('*.png')
    cfg = apis.load_config(config)
    ds = cfg.test_dataloader.dataset
    img = osp.join(ds.data_root, ds.data_prefix.img_path, png.stem + ds.img_suffix)
    # The demo data set reduces label 0 (ignore), and IoUMetric adds the 1 back to the
    # predicted labels it writes.
    reference = torch.from_numpy(np.array(Image.open(png)).astype(np.int64)) - 1

    api = apis.inference_model(apis.init_model(config, ckpt), img)
    toolbox = MMSegInferencer(model=config, weights=ckpt, device='cpu')(
        img, return_datasamples=True)
    for ours in (api, toolbox):
        assert torch.equal(ours.pred_sem_seg.data[0].long(), reference)
    torch.testing.assert_close(toolbox.seg_logits.data, api.seg_logits.data)
    present = sorted(reference.unique().tolist())
    assert len(present) > 1  # a prediction worth comparing

    names = apis.class_names(cfg)
    line = demo_summary('image_demo.py', img, config, ckpt, tmp_path)
    assert f'mmseg: classes present: {[names[i] for i in present]} ->' in line


@pytest.mark.parametrize('task_env', ['pose'], indirect=True)
def test_pose_routes_agree(task_env, tmp_path):
    from mmpose.apis import MMPoseInferencer

    from uniformer_mm import apis
    config, ckpt = task_env
    dumped = first_test_py_prediction(config, ckpt, tmp_path)
    img = dumped['img_path']
    model = apis.init_model(config, ckpt)

    # tools/test.py crops the annotated person box: the API on the same box.
    reference = dumped['pred_instances']
    box = np.asarray(reference['bboxes'], np.float32).reshape(1, 4)
    api = apis.inference_model(model, img, bboxes=box).pred_instances
    np.testing.assert_allclose(api.keypoints, reference['keypoints'], atol=1e-3)
    np.testing.assert_allclose(api.keypoint_scores, reference['keypoint_scores'], atol=1e-5)

    # mmpose's Inferencer without a detector takes the whole image, as the API and the demo
    # do without a box.
    whole = apis.inference_model(model, img).pred_instances
    toolbox = next(MMPoseInferencer(pose2d=config, pose2d_weights=ckpt, det_model='whole_image',
                                    device='cpu')(img, return_datasamples=True))
    theirs = toolbox['predictions'][0].pred_instances
    np.testing.assert_allclose(theirs.keypoints, whole.keypoints, atol=1e-3)
    np.testing.assert_allclose(theirs.keypoint_scores, whole.keypoint_scores, atol=1e-5)

    line = demo_summary('image_demo.py', img, config, ckpt, tmp_path)
    assert f'mean score {float(np.mean(whole.keypoint_scores)):.3f} ->' in line


@pytest.mark.parametrize('task_env', ['video'], indirect=True)
def test_video_routes_agree(task_env, tmp_path):
    from mmaction.apis.inferencers import ActionRecogInferencer

    from uniformer_mm import apis
    config, ckpt = task_env
    dumped = first_test_py_prediction(config, ckpt, tmp_path)
    reference = dumped['pred_score']
    cfg = apis.load_config(config)
    ds = cfg.test_dataloader.dataset
    with open(ds.ann_file) as f:
        first = f.readline().split()[0]
    video = osp.join(ds.data_prefix.video, first)

    model = apis.init_model(config, ckpt)
    api = apis.inference_model(model, video).pred_score
    toolbox = ActionRecogInferencer(model=config, weights=ckpt, device='cpu')(
        video, return_datasamples=True)['predictions'][0].pred_score
    from uniformer_mm.engine.visualization import video_score_kind
    assert_class_scores_agree(reference, dict(api=api, inferencer=toolbox),
                              apis.class_names(cfg),
                              demo_summary('video_demo.py', video, config, ckpt, tmp_path),
                              'mmaction',
                              f' ({video_score_kind(cfg.model.cls_head.average_clips)})')


def test_model_names_come_from_the_metafiles():
    import yaml

    from uniformer_mm import apis
    names = apis.list_models()
    rows = []
    for path in sorted((REPO / 'configs').glob('*/metafile.yml')):
        rows += yaml.safe_load(path.read_text())['Models']
    assert names == sorted(r['Name'] for r in rows) and len(set(names)) == len(names)
    for row in rows:  # a name is its config's file stem, and resolves to that config
        assert Path(row['Config']).stem == row['Name']
        assert Path(apis.resolve_config(row['Name'])) == REPO / row['Config']
    with pytest.raises(ValueError, match="did you mean uniformer_s_in1k"):
        apis.resolve_config('uniformer_s_in1')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        apis.init_model('configs/cls/nope.py')


def test_init_model_by_name_without_weights(tmp_path, mm_log):
    pytest.importorskip('mmpretrain')
    from uniformer_mm import apis
    model = apis.init_model('uniformer_xxs_in1k_128')
    warning = next(r.getMessage() for r in mm_log if 'the weights are random' in r.getMessage())
    # ... and where the released weights of that name are.
    file, link = apis.model_zoo.official_weights('uniformer_xxs_in1k_128')
    assert file == 'uniformer_xxs_128_in1k.pth' and link.startswith('https://drive.google.com/')
    assert file in warning and link in warning
    assert not model.training and apis.toolbox_of(model.cfg) == 'mmpretrain'
    img = tmp_path / 'img.png'
    import cv2
    cv2.imwrite(str(img), np.random.default_rng(0).integers(0, 255, (96, 128, 3), np.uint8))
    result = apis.inference_model(model, str(img))
    assert result.pred_score.shape == (1000, ) and 0 <= int(result.pred_label) < 1000
    with pytest.raises(ValueError, match='top-down pose'):
        apis.inference_model(model, str(img), bboxes=np.zeros((1, 4), np.float32))
