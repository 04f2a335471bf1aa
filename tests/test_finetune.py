"""Fine-tuning templates and the config checks behind them (issue 16, part 2).

Each template of docs/finetune.md fine-tunes for a few iterations through tools/train.py, as the
docs' commands do, on data generated here in the template's layout. The model is made tiny by a
derived config (a tiny arch, the template's everything else) and starts from an official-format
file of that tiny arch (the golden fixtures of tests/data, in the official release layouts), so
the "from official weights" path of each template runs: conversion, the classifier left out,
the head re-sized to the data's classes, 2D->3D inflation.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest
import torch

from conftest import DATA_DIR

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
TINY = dict(depths=(1, 1, 2, 1), embed_dims=(16, 32, 64, 128), head_dim=16)


def run_tool(args: List[str], timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env.pop('UNIFORMER_MM_DEBUG', None)
    return subprocess.run([PY, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def official_file(tmp_path: Path, name: str) -> str:
    """The golden fixture's checkpoint, written as the official release file it stands for."""
    path = tmp_path / f'{name}_official.pth'
    torch.save(torch.load(DATA_DIR / f'{name}.pth', weights_only=True)['checkpoint'], path)
    return str(path)


def derived(tmp_path: Path, template: str, body: str) -> str:
    """A config inheriting ``template`` with the test's (tiny-model) changes."""
    path = tmp_path / ('tiny_' + osp.basename(template))
    path.write_text(f'_base_ = [{str(REPO / template)!r}]\n{body}')
    return str(path)


def tiny_loaders(val_pipeline: str = 'test_pipeline', val_batch: int = 2) -> str:
    """The derived configs' dataloaders: batches of 2, no workers, the bodies' pipelines."""
    return f"""
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size={val_batch}, num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline={val_pipeline}))
test_dataloader = val_dataloader
"""


def fine_tune_tiny(tmp_path: Path, template: str, body: str, fixture: str,
                   options: List[str], loaders: Optional[Dict] = None,
                   **fields) -> Tuple[str, str]:
    """tools/train.py on ``template`` with a tiny model (``body``, formatted with the tiny
    arch, the official-format file of the golden ``fixture`` and ``fields``) and
    ``--cfg-options options``; must succeed. Returns the derived config and the log."""
    body = body.format(tiny=dict(TINY, _delete_=True), ckpt=official_file(tmp_path, fixture),
                       **fields)
    cfg = derived(tmp_path, template, body + tiny_loaders(**(loaders or {})))
    r = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                  *options])
    assert r.returncode == 0, r.stderr[-3000:]
    return cfg, r.stdout + r.stderr


def data_root_options(root: Path, splits=('train', 'val', 'test')) -> List[str]:
    """The --cfg-options of docs/finetune.md that move a template to other data."""
    return [f'{s}_dataloader.dataset.data_root={root}' for s in splits]


def _image(rng: np.random.Generator, c: int, size: int = 48) -> np.ndarray:
    img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    img[8:-8, 8:-8, c % 3] = 200
    return img


# ------------------------------------------------------------------- classification
def make_class_folders(root: Path, classes: List[str], per_class: int = 2) -> Path:
    import cv2
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                cv2.imwrite(str(root / split / name / f'{i}.png'), _image(rng, c))
    return root


CLS_TINY = """
model = dict(backbone=dict(arch={tiny}, drop_path_rate=0.,
                           init_cfg=dict(type='Pretrained', checkpoint={ckpt!r})),
             head=dict(in_channels=128))
# the template's pipelines at 64 x 64
train_pipeline = [dict(t, scale=64) if t['type'] == 'RandomResizedCrop' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=73) if t['type'] == 'ResizeEdge'
                 else dict(t, crop_size=64) if t['type'] == 'CenterCrop' else t
                 for t in _base_.test_pipeline]
train_cfg = dict(max_epochs=1)
"""


def test_cls_folder_template_fine_tunes_from_official_imagenet_weights(tmp_path):
    """4 class folders, the template's 3 classes changed with --cfg-options num_classes=4:
    head, preprocessor and top-k follow, the official classifier is left out, training and
    validation run, tools/test.py tests the result."""
    pytest.importorskip('mmpretrain')
    data = make_class_folders(tmp_path / 'data', ['a', 'b', 'c', 'd'])
    cfg, log = fine_tune_tiny(tmp_path, 'configs/cls/finetune_custom_folder.py', CLS_TINY,
                              'cls_tiny', ['num_classes=4', *data_root_options(data)])
    wd = tmp_path / 'wd'
    assert 'num_classes = 4: set model.head.num_classes (3 -> 4), ' \
           'data_preprocessor.num_classes (3 -> 4), val_evaluator.topk: (1, 5) -> (1,)' in log
    assert 'not loaded into the resized head(s)' in log
    assert "UniFormer: not loading ['head'] from the checkpoint" in log
    assert 'Loaded ' in log and 'tensors into UniFormer from' in log
    # 8 images in batches of 2: 4 iterations per epoch, logged every iteration, not every 100
    assert 'logging every 1 iterations instead of every 100' in log
    assert 'accuracy/top1' in log and (wd / 'epoch_1.pth').is_file()
    ckpt = torch.load(wd / 'epoch_1.pth', weights_only=False)
    assert ckpt['state_dict']['head.fc.weight'].shape == (4, 128)
    assert ckpt['meta']['dataset_meta']['classes'] == ('a', 'b', 'c', 'd') or \
        list(ckpt['meta']['dataset_meta']['classes']) == ['a', 'b', 'c', 'd']
    r = run_tool(['tools/test.py', cfg, str(wd / 'epoch_1.pth'), '--work-dir',
                  str(tmp_path / 'test'), '--cfg-options', 'num_classes=4',
                  *data_root_options(data, ('test', ))])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'accuracy/top1' in r.stdout + r.stderr


def test_cls_class_count_mismatch_stops_before_training(tmp_path):
    """The template says 3 classes, the data has 4 folders: refused before anything is built."""
    pytest.importorskip('mmpretrain')
    data = make_class_folders(tmp_path / 'data', ['a', 'b', 'c', 'd'], per_class=1)
    r = run_tool(['tools/train.py', 'configs/cls/finetune_custom_folder.py', '--work-dir',
                  str(tmp_path / 'wd'), '--cfg-options', *data_root_options(data)])
    assert r.returncode == 1
    assert 'has 4 classes but model.head.num_classes = 3' in r.stderr
    assert '--cfg-options num_classes=N' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path / 'wd').exists() or not list((tmp_path / 'wd').glob('*.pth'))


# ------------------------------------------------------------------- video
def make_video_list(root: Path, num_classes: int, per_class: int = 2) -> Path:
    import cv2
    (root / 'videos' / 'clips').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        lines = []
        for c in range(num_classes):
            for i in range(per_class):
                name = f'clips/{split}_{c}_{i}.mp4'
                w = cv2.VideoWriter(str(root / 'videos' / name), cv2.VideoWriter_fourcc(*'mp4v'),
                                    8, (64, 64))  # decord: sides of multiples of 16
                for t in range(16):
                    w.write(np.roll(_image(rng, c, 64), 2 * t * (1 if c % 2 else -1), axis=1))
                w.release()
                lines.append(f'{name} {c}')
        (root / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return root


VIDEO_TINY = """
model = dict(backbone=dict(arch={tiny}, drop_path_rate=0.,
                           init_cfg=dict(type='Pretrained', checkpoint={ckpt!r})),
             cls_head=dict(in_channels=128))
train_pipeline = [dict(t, scale=(64, 64)) if t['type'] == 'Resize' and 'keep_ratio' in t
                  else dict(t, clip_len=4) if t['type'] == 'SampleFrames'
                  else dict(t, scale=(-1, 64)) if t['type'] == 'Resize' else t
                  for t in _base_.train_pipeline]
val_pipeline = [dict(t, clip_len=4) if t['type'] == 'SampleFrames'
                else dict(t, scale=(-1, 64)) if t['type'] == 'Resize'
                else dict(t, crop_size=64) if t['type'] == 'CenterCrop' else t
                for t in _base_.val_pipeline]
train_cfg = dict(max_epochs=1)
"""


@pytest.mark.parametrize('template,fixture,expect', [
    ('configs/video/finetune_custom_videos.py', 'video_tiny',
     "UniFormer3D: not loading ['head'] from the checkpoint"),
    ('configs/video/finetune_custom_videos_from_in1k.py', 'cls_tiny', 'Inflated'),
])
def test_video_list_templates_fine_tune_from_official_weights(tmp_path, template, fixture,
                                                              expect):
    """A `path label` list with 2 classes: head and MixUp/CutMix follow num_classes=2; the
    Kinetics classifier (10 classes here) is left out, or ImageNet weights are inflated."""
    pytest.importorskip('mmaction')
    data = make_video_list(tmp_path / 'data', 2)
    _, log = fine_tune_tiny(tmp_path, template, VIDEO_TINY, fixture,
                            ['num_classes=2', *data_root_options(data)],
                            loaders=dict(val_pipeline='val_pipeline'))
    assert 'num_classes = 2: set model.cls_head.num_classes (3 -> 2), ' \
           'model.data_preprocessor.blending.augments[0].num_classes (3 -> 2), ' \
           'model.data_preprocessor.blending.augments[1].num_classes (3 -> 2)' in log
    assert 'val_evaluator.metric_options.top_k_accuracy.topk: (1, 5) -> (1,)' in log
    assert expect in log and 'tensors into UniFormer3D from' in log and 'acc/top1' in log
    ckpt = torch.load(tmp_path / 'wd' / 'epoch_1.pth', weights_only=False)
    assert ckpt['state_dict']['cls_head.fc_cls.weight'].shape == (2, 128)


# ------------------------------------------------------------------- detection
def make_coco_json(root: Path, classes: List[str], per_split: int = 2) -> Path:
    import cv2
    rng = np.random.default_rng(0)
    (root / 'annotations').mkdir(parents=True)
    ann_id = 1
    for split in ('train', 'val'):
        (root / split).mkdir()
        images, anns = [], []
        for i in range(per_split):
            img = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
            for c in range(len(classes)):
                x, y = 4 + 20 * c, 8 + 4 * i
                img[y:y + 16, x:x + 16] = (200 * (c == 0), 200 * (c == 1), 200 * (c == 2))
                anns.append(dict(id=ann_id, image_id=i + 1, category_id=10 + c, iscrowd=0,
                                 bbox=[x, y, 16, 16], area=256.,
                                 segmentation=[[x, y, x + 16, y, x + 16, y + 16, x, y + 16]]))
                ann_id += 1
            cv2.imwrite(str(root / split / f'{i}.jpg'), img)
            images.append(dict(id=i + 1, file_name=f'{i}.jpg', height=64, width=64))
        cats = [dict(id=10 + c, name=n) for c, n in enumerate(classes)]
        (root / 'annotations' / f'{split}.json').write_text(json.dumps(dict(
            images=images, annotations=anns, categories=cats)))
    return root


DET_TINY = """
model = dict(backbone=dict(arch={tiny}, drop_path_rate=0., window_size=2, with_cp=False,
                           init_cfg=dict(type='Pretrained', checkpoint={ckpt!r})),
             neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
             rpn_head=dict(in_channels=32, feat_channels=32),
             roi_head=dict(bbox_roi_extractor=dict(out_channels=32),
                           bbox_head=dict(in_channels=32, fc_out_channels=32),
                           mask_roi_extractor=dict(out_channels=32),
                           mask_head=dict(in_channels=32, conv_out_channels=32)))
train_pipeline = [dict(t, scale=(96, 64)) if t['type'] == 'Resize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=(96, 64)) if t['type'] == 'Resize' else t
                 for t in _base_.test_pipeline]
train_cfg = dict(max_epochs=1)
val_evaluator = dict(ann_file={val_json!r})
test_evaluator = val_evaluator
"""


def test_det_coco_template_fine_tunes_from_official_imagenet_weights(tmp_path):
    """COCO-format json with the template's 3 category names (ids not 1..3): one epoch and
    the COCO evaluation; a misspelt class name is refused before training."""
    pytest.importorskip('mmdet')
    classes = ['cat', 'dog', 'bird']
    data = make_coco_json(tmp_path / 'data', classes)
    cfg, log = fine_tune_tiny(tmp_path, 'configs/det/finetune_custom_coco.py', DET_TINY,
                              'cls_tiny', data_root_options(data, ('train', 'val')),
                              val_json=str(data / 'annotations' / 'val.json'))
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
    assert 'Loaded ' in log and 'tensors into UniFormer from' in log
    ckpt = torch.load(tmp_path / 'wd' / 'epoch_1.pth', weights_only=False)
    assert ckpt['state_dict']['roi_head.bbox_head.fc_cls.weight'].shape[0] == 4  # + background

    (data / 'annotations' / 'train.json').write_text(
        (data / 'annotations' / 'train.json').read_text().replace('"dog"', '"dogs"'))
    r = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'wd2'), '--cfg-options',
                  *data_root_options(data, ('train', 'val'))])
    assert r.returncode == 1 and "names ['dog'], which are not categories" in r.stderr


# ------------------------------------------------------------------- segmentation
SEG_TINY = """
crop_size = (64, 64)
model = dict(data_preprocessor=dict(size=crop_size),
             backbone=dict(arch={tiny}, drop_path_rate=0.,
                           init_cfg=dict(type='Pretrained', checkpoint={ckpt!r})),
             neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
             decode_head=dict(in_channels=[32, 32, 32, 32], channels=32))
train_pipeline = [dict(t, scale=(96, 64)) if t['type'] == 'RandomResize'
                  else dict(t, crop_size=crop_size) if t['type'] == 'RandomCrop' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=(96, 64)) if t['type'] == 'Resize' else t
                 for t in _base_.test_pipeline]
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
"""


def test_seg_template_fine_tunes_from_official_imagenet_weights(tmp_path):
    """images/ + annotations/ label PNGs with classes 0..2 (0 is a class, 255 ignored)."""
    pytest.importorskip('mmseg')
    import cv2
    data = tmp_path / 'data'
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        (data / 'images' / split).mkdir(parents=True)
        (data / 'annotations' / split).mkdir(parents=True)
        for i in range(2):
            label = np.zeros((64, 64), np.uint8)
            label[10:30, 10:40], label[40:60, 20:50], label[0] = 1, 2, 255
            img = _image(rng, i, 64)
            img[label == 1], img[label == 2] = (128, 64, 128), (0, 0, 142)
            cv2.imwrite(str(data / 'images' / split / f'{i}.jpg'), img)
            cv2.imwrite(str(data / 'annotations' / split / f'{i}.png'), label)
    _, log = fine_tune_tiny(tmp_path, 'configs/seg/finetune_custom_seg.py', SEG_TINY,
                            'cls_tiny', data_root_options(data), loaders=dict(val_batch=1))
    assert 'mIoU' in log and 'Loaded ' in log
    assert '| background |' in log  # class 0 is evaluated: no reduce_zero_label


# ------------------------------------------------------------------- config checks (in-process)
def _cfg(path: str, options: Optional[Dict] = None):
    from uniformer_mm import apis
    return apis.load_config(str(REPO / path), options)


def test_top_level_num_classes_reaches_every_place_of_the_paper_configs():
    """The user journey of the issue: a paper config plus num_classes=3."""
    pytest.importorskip('mmpretrain')
    from uniformer_mm.cli.checks import check_config
    cfg = _cfg('configs/cls/uniformer_s_in1k.py', dict(num_classes=3))
    check_config(cfg, ())
    assert cfg.model.head.num_classes == 3 and cfg.data_preprocessor.num_classes == 3
    assert tuple(cfg.val_evaluator.topk) == (1, )
    pytest.importorskip('mmaction')
    cfg = _cfg('configs/video/uniformer_s_16x4_k400.py', dict(num_classes=3))
    check_config(cfg, ())
    assert cfg.model.cls_head.num_classes == 3
    assert [a.num_classes for a in cfg.model.data_preprocessor.blending.augments] == [3, 3]


def test_disagreeing_class_counts_are_named():
    pytest.importorskip('mmpretrain')
    from uniformer_mm.cli.checks import check_config
    cfg = _cfg('configs/cls/uniformer_s_in1k.py', {'model.head.num_classes': 3})
    with pytest.raises(ValueError, match=r'(?s)disagree:.*model.head.num_classes = 3.*'
                       r'data_preprocessor.num_classes = 1000.*num_classes = N'):
        check_config(cfg, ())
    with pytest.raises(ValueError, match='positive integer'):
        check_config(_cfg('configs/cls/uniformer_s_in1k.py', dict(num_classes=0)), ())


def test_video_label_beyond_the_head_is_refused(tmp_path):
    pytest.importorskip('mmaction')
    from uniformer_mm.cli.checks import check_config
    (tmp_path / 'train.txt').write_text('a.mp4 0\nb.mp4 3\n')
    cfg = _cfg('configs/video/finetune_custom_videos.py',
               {'train_dataloader.dataset.data_root': str(tmp_path)})
    with pytest.raises(ValueError, match='has label 3, which a 3-class model cannot predict'):
        check_config(cfg, ('train', ))


def _toolbox_cfg(tmp_path: Path, name: str):
    from mmengine.config import Config
    path = tmp_path / 'toolbox_config.py'
    path.write_text(f'_base_ = [{name!r}]\n')
    return Config.fromfile(str(path))


def test_neck_that_does_not_fit_the_backbone_outputs_is_named(tmp_path):
    """mmdet's FCOS with our backbone at its default out_indices=(3,): the FPN would assert
    len(inputs) == len(in_channels) in the first forward pass; the check names both sides."""
    pytest.importorskip('mmdet')
    from uniformer_mm.cli.checks import check_config
    cfg = _toolbox_cfg(tmp_path, 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py')
    cfg.model.backbone = dict(type='uniformer_mm.UniFormer', arch=TINY, final_norm=False)
    with pytest.raises(ValueError, match=r'model.neck.in_channels = \[256, 512, 1024, 2048\] '
                       r'does not fit the backbone: uniformer_mm.UniFormer with out_indices='
                       r'\(default\) gives 1 feature map\(s\) with \[128\] channels'):
        check_config(cfg, ())
    cfg.model.backbone.out_indices = (0, 1, 2, 3)
    cfg.model.neck.in_channels = [16, 32, 64, 128]
    check_config(cfg, ())  # fits now


def test_rtmpose_albumentations_pipeline_builds(tmp_path):
    """RTMPose's training pipeline (mmpose's Albumentation transform) needs albumentations,
    part of the tested stack for the pose extra."""
    pytest.importorskip('mmpose')
    from mmpose.registry import TRANSFORMS
    from mmpose.utils import register_all_modules
    register_all_modules()
    cfg = _toolbox_cfg(tmp_path, 'mmpose::body_2d_keypoint/rtmpose/coco/'
                       'rtmpose-s_8xb256-420e_coco-256x192.py')
    steps = [t for t in cfg.train_pipeline if t['type'] == 'Albumentation']
    assert steps
    img = np.zeros((64, 48, 3), np.uint8)
    for step in steps:
        out = TRANSFORMS.build(step)(dict(img=img.copy(), keypoints=np.zeros((1, 17, 2)),
                                          keypoints_visible=np.ones((1, 17))))
        assert out['img'].shape == img.shape


def test_class_names_in_another_order_than_the_folders_are_refused(tmp_path):
    """mmpretrain's CustomDataset numbers class folders in sorted order and takes the names
    as given: any other order names every prediction wrongly."""
    pytest.importorskip('mmpretrain')
    from uniformer_mm.cli.checks import check_config
    data = make_class_folders(tmp_path / 'data', ['a', 'b', 'c'], per_class=1)
    opts = {f'{s}_dataloader.dataset.data_root': str(data) for s in ('train', 'val', 'test')}
    cfg = _cfg('configs/cls/finetune_custom_folder.py',
               {**opts, 'train_dataloader.dataset.metainfo': dict(classes=('b', 'a', 'c'))})
    with pytest.raises(ValueError, match=r"numbers the class folders in sorted order: "
                       r"\('a', 'b', 'c'\)"):
        check_config(cfg, ('train', ))
    cfg = _cfg('configs/cls/finetune_custom_folder.py',
               {**opts, 'train_dataloader.dataset.metainfo': dict(classes=('a', 'b', 'c'))})
    check_config(cfg, ('train', ))
