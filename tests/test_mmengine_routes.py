"""Official release files given to mmengine's own loaders: converted on the fly or refused.

Users hand official files to routes that never pass through our tools: mmpretrain's
``ImageClassificationInferencer(config, pretrained=FILE)``, ``load_from=FILE`` in a config, a
toolbox model's ``Pretrained`` init. Before the fix the first loaded nothing (the official keys
are not the model's) and still predicted; the second died with ``KeyError: 'state_dict'`` in
the EMAHook. The golden official-format fixtures of ``tests/data`` stand for the releases.
"""
from pathlib import Path

import pytest
import torch
from conftest import make_demo_data
from test_tools import golden_cls_config, official_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory) -> str:
    return str(make_demo_data(tmp_path_factory.mktemp('demo_data'), ('cls', )))


def test_toolbox_inferencer_converts_an_official_image_file(tmp_path, demo_data, monkeypatch):
    pytest.importorskip('mmpretrain')
    from mmpretrain.apis import ImageClassificationInferencer

    from uniformer_mm import apis
    monkeypatch.setenv('UNIFORMER_MM_DEMO_DATA', demo_data)
    cfg = str(golden_cls_config(tmp_path))
    ckpt = official_file(tmp_path, 'cls_tiny')
    img = str(next((Path(demo_data) / 'cls' / 'val').rglob('*.png')))
    # Our route converts official files (tested against the golden outputs elsewhere).
    reference = apis.inference_model(apis.init_model(cfg, ckpt), img).pred_score
    toolbox = ImageClassificationInferencer(model=cfg, pretrained=ckpt, device='cpu')(
        img, return_datasamples=True)[0].pred_score
    torch.testing.assert_close(toolbox, reference, atol=1e-5, rtol=1e-5)
    # Not the prediction of a model that loaded nothing.
    unloaded = ImageClassificationInferencer(model=cfg, pretrained=False, device='cpu')(
        img, return_datasamples=True)[0].pred_score
    assert not torch.allclose(unloaded, reference, atol=1e-3)


def test_load_from_an_official_image_file_with_an_ema_hook(tmp_path, demo_data, monkeypatch):
    """``load_from=<official ImageNet file>`` in a config with mmpretrain's EMAHook (as every
    ImageNet recipe has): the run starts from the converted weights."""
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.runner import Runner

    from uniformer_mm.checkpoint.release import convert_release_file
    monkeypatch.setenv('UNIFORMER_MM_DEMO_DATA', demo_data)
    ckpt = official_file(tmp_path, 'cls_tiny')
    cfg = Config.fromfile(str(golden_cls_config(tmp_path)))
    cfg.work_dir = str(tmp_path / 'wd')
    cfg.load_from = ckpt
    cfg.custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
    # No step changes a weight: what the model holds after the run is what was loaded.
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0., momentum=0., weight_decay=0.))
    cfg.param_scheduler = []
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    runner = Runner.from_cfg(cfg)
    runner.train()
    expected = convert_release_file(ckpt)['state_dict']
    got = runner.model.state_dict()
    weights = [k for k, v in expected.items() if v.is_floating_point() and 'running_' not in k]
    assert len(weights) > 10
    for k in weights:
        torch.testing.assert_close(got[k], expected[k], msg=k)


def test_mmengine_loader_refuses_an_official_video_file(tmp_path):
    """Reordering an official video classifier into the dataset's class order needs the
    config: mmengine's loaders refuse such files and name the converter."""
    from mmengine.runner import load_checkpoint

    from uniformer_mm.checkpoint import CheckpointError
    ckpt = official_file(tmp_path, 'video_tiny')
    with pytest.raises(CheckpointError, match='uniformer_official2mm.py .* --config'):
        load_checkpoint(torch.nn.Linear(2, 2), ckpt)


def test_mmengine_loader_leaves_other_files_alone(tmp_path):
    """Files that are not official UniFormer releases reach mmengine's callers unchanged: a
    1.x detector of another backbone (the keys of an mmdet 2.x release) and a 2.0 file."""
    from mmengine.runner.checkpoint import _load_checkpoint
    other = dict(state_dict={'backbone.conv1.weight': torch.ones(4, 3, 7, 7),
                             'rpn_head.rpn_conv.weight': torch.ones(4, 4, 3, 3)},
                 meta=dict(mmcv_version='1.3.8'))
    path = tmp_path / 'resnet_mmdet2.pth'
    torch.save(other, path)
    loaded = _load_checkpoint(str(path))
    assert set(loaded) == {'state_dict', 'meta'}
    assert loaded['meta'] == other['meta']
    assert list(loaded['state_dict']) == list(other['state_dict'])


def test_converted_imagenet_files_carry_the_class_names():
    """Official ImageNet files have no class names; the converted ones carry mmpretrain's
    ImageNet-1k list (the order of the official classifier rows), which the shipped list
    must still equal."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES

    from uniformer_mm.checkpoint.labels import read_labels
    from uniformer_mm.checkpoint.release import convert_release_checkpoint
    assert read_labels('imagenet1k') == list(IMAGENET_CATEGORIES)
    sd = {'patch_embed1.proj.weight': torch.zeros(8, 3, 4, 4),
          'patch_embed1.norm.weight': torch.zeros(8),
          'blocks1.0.pos_embed.weight': torch.zeros(8, 1, 3, 3),
          'head.weight': torch.zeros(1000, 8), 'head.bias': torch.zeros(1000)}
    converted = convert_release_checkpoint({'model': sd}, 'uniformer_x_in1k.pth')
    assert converted['meta']['release_kind'] == 'image'
    assert converted['meta']['dataset_meta']['classes'] == list(IMAGENET_CATEGORIES)


def test_toolboxes_know_our_model_names():
    """``import uniformer_mm`` first, the toolboxes' model names later (import hooks): the
    classification rows of our metafiles are mmpretrain names that build our classifiers
    (the other tasks' names are not mmpretrain's), every mmengine-based inferencer takes our
    names, and a name of another toolbox's task is refused naming it."""
    pytest.importorskip('mmpretrain')
    pytest.importorskip('mmaction')
    pytest.importorskip('mmdet')
    import subprocess
    import sys
    code = ('import sys, uniformer_mm\n'
            "assert 'mmpretrain' not in sys.modules and 'mmengine.infer' not in sys.modules\n"
            'import mmpretrain\n'
            "names = mmpretrain.list_models('uniformer*')\n"
            "model = mmpretrain.get_model('uniformer_xxs_in1k_128')\n"
            'from mmaction.apis.inferencers import ActionRecogInferencer\n'
            "video = ActionRecogInferencer('uniformer_xxs_4f_128_k400', device='cpu').model\n"
            'from mmdet.apis import DetInferencer\n'
            'try:\n'
            "    DetInferencer('uniformer_xxs_4f_128_k400')\n"
            'except ValueError as e:\n'
            '    refused = str(e)\n'
            'print(len(names), type(model.backbone).__name__,\n'
            "      'uniformer_s_16x4_k400' in names, type(video.backbone).__name__)\n"
            'print(refused)\n')
    r = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    import yaml
    rows = yaml.safe_load((REPO / 'configs' / 'cls' / 'metafile.yml').read_text())['Models']
    *_, found, refused = r.stdout.splitlines()
    assert found.split() == [str(len(rows)), 'UniFormerLight', 'False', 'UniFormerLight3D']
    assert 'is an mmaction model' in refused and 'DetInferencer runs mmdet' in refused


def test_load_from_another_architecture_stops_the_run(tmp_path, demo_data, monkeypatch):
    """mmengine's non-strict ``load_from`` would only log size mismatches and train with
    those weights random: a UniFormer file of other depths is refused before training, for
    official files (converted on the fly) and OpenMMLab files alike."""
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.runner import Runner

    from uniformer_mm.checkpoint import ArchMismatchError
    from uniformer_mm.checkpoint.release import convert_release_file
    monkeypatch.setenv('UNIFORMER_MM_DEMO_DATA', demo_data)
    official = official_file(tmp_path, 'cls_tiny')  # depths (1, 1, 2, 1)
    converted = tmp_path / 'converted.pth'
    torch.save(convert_release_file(official), converted)
    for i, ckpt in enumerate((official, str(converted))):
        cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / 'cls_uniformer_tiny_shapes.py'))
        cfg.model.backbone.arch = dict(depths=(1, 1, 1, 1), embed_dims=(16, 32, 64, 128),
                                       head_dim=16)  # the stage-3 block of the file is extra
        cfg.work_dir = str(tmp_path / f'wd{i}')
        cfg.load_from = ckpt
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
        runner = Runner.from_cfg(cfg)
        with pytest.raises(ArchMismatchError, match='depths'):
            runner.train()
        assert runner.iter == 0


def test_init_model_applies_a_top_level_num_classes(tmp_path):
    """``init_model(..., cfg_options={'num_classes': N})`` sizes the head like the tools."""
    pytest.importorskip('mmpretrain')
    from uniformer_mm import apis
    model = apis.init_model(str(golden_cls_config(tmp_path)), cfg_options={'num_classes': 3})
    assert model.head.fc.out_features == 3
