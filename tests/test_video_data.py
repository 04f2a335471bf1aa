"""The paper's video training data path, end to end on CPU.

The config step tests (tests/test_configs.py) feed hand-made tensors to the models; here every
distinct train dataset + pipeline of configs/video runs on real files: a synthetic MPEG-4 video
decoded by decord (Kinetics, Something-Something V2) or JPEG frames (V1), through mmaction2's
RepeatAugDataset, pytorchvideo's RandAugment, the crops and flips, the config's collate
function and the model's data preprocessor (mixup / cutmix included). The batch must have the
clip length and crop size the config's model expects.
"""
import copy
import json
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('mmaction')
pytest.importorskip('decord')
pytest.importorskip('pytorchvideo')
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import uniformer_mm  # noqa: E402,F401

CONFIGS = Path(__file__).parents[1] / 'configs' / 'video'
FRAMES, H, W = 72, 48, 64  # enough frames for 32 x 2 (the longest dense sampling is 32x4: 128,
# which SampleFrames covers by looping, as for short Kinetics clips)


def _frame(i: int) -> np.ndarray:
    rng = np.random.RandomState(i)
    return rng.randint(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Dict[str, str]:
    """One video (``videos/a.mp4``), one frame folder (``rawframes/a/00001.jpg`` ... and
    ``img_00001.jpg`` ...) and their mmaction2 annotation lists."""
    root = tmp_path_factory.mktemp('video_data')
    (root / 'videos').mkdir()
    writer = cv2.VideoWriter(str(root / 'videos' / 'a.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                             25, (W, H))
    for i in range(FRAMES):
        writer.write(_frame(i))
    writer.release()
    frames = root / 'rawframes' / 'a'
    frames.mkdir(parents=True)
    for i in range(FRAMES):
        cv2.imwrite(str(frames / f'{i + 1:05d}.jpg'), _frame(i))
        # HMDB51's frame names (mmaction2's layout, the official IMAGE_TEMPLATE)
        (frames / f'img_{i + 1:05d}.jpg').hardlink_to(frames / f'{i + 1:05d}.jpg')
    (root / 'videos.txt').write_text('a.mp4 1\n')  # a label of every config (templates: 2 classes)
    (root / 'rawframes.txt').write_text(f'a {FRAMES} 1\n')
    return dict(root=str(root))


def _train_setups() -> List[str]:
    """One config name per distinct train dataset + pipeline + collate + preprocessor."""
    seen: Dict[str, str] = {}
    for path in sorted(CONFIGS.glob('*.py')):
        cfg = Config.fromfile(str(path))
        loader = cfg.train_dataloader
        key = json.dumps([loader.dataset.to_dict(), loader.collate_fn.to_dict(),
                          cfg.model.data_preprocessor.to_dict()], sort_keys=True, default=str)
        seen.setdefault(key, path.stem)
    return sorted(seen.values())


def _expected_shape(cfg: Config) -> Tuple[int, int]:
    """Clip length and crop size of a train pipeline."""
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or \
        cfg.train_dataloader.dataset.dataset.pipeline
    clip_len = next(t['clip_len'] for t in pipeline if 'clip_len' in t)
    size = next(t['scale'] for t in pipeline
                if t['type'] == 'Resize' and t.get('keep_ratio') is False)
    return clip_len, size[0]


@pytest.mark.parametrize('name', _train_setups())
def test_train_data_path_runs(name: str, data: Dict[str, str]) -> None:
    from mmaction.registry import DATASETS, MODELS
    from mmengine.registry import FUNCTIONS
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    root = Path(data['root'])
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    inner = dataset_cfg if 'pipeline' in dataset_cfg else dataset_cfg.dataset
    if 'img' in inner.get('data_prefix', {}):  # frame folders (RawframeDataset and kin)
        inner.update(ann_file=str(root / 'rawframes.txt'),
                     data_prefix=dict(img=str(root / 'rawframes')))
    else:
        inner.update(ann_file=str(root / 'videos.txt'),
                     data_prefix=dict(video=str(root / 'videos')))
    torch.manual_seed(0)
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        dataset = DATASETS.build(dataset_cfg)
        preprocessor = MODELS.build(cfg.model.data_preprocessor)
    # as mmengine's Runner: the collate function by name (mmaction2 registers its own in
    # mmengine's FUNCTIONS when its datasets are imported)
    collate = FUNCTIONS.get(cfg.train_dataloader.collate_fn['type'])
    batch = preprocessor(collate([dataset[0], dataset[0]]), training=True)
    inputs, samples = batch['inputs'], batch['data_samples']
    repeats = dataset_cfg.get('num_repeats', 1)
    clip_len, size = _expected_shape(cfg)
    assert inputs.shape == (2 * repeats, 1, 3, clip_len, size, size), inputs.shape
    assert torch.isfinite(inputs).all()
    assert len(samples) == 2 * repeats
    # mixup / cutmix turned the labels into per-class scores over the config's classes
    num_classes = cfg.model.cls_head.num_classes
    assert samples[0].gt_label.shape[-1] == num_classes
    # the augmentations differ between the repeats of one video (RandAugment, crops, erasing)
    if repeats > 1:
        assert not torch.equal(inputs[0], inputs[1])


def test_repeat_aug_rawframe_dataset(data: Dict[str, str]) -> None:
    """Frame folders get the official repeated augmentation: the frames are sampled and
    decoded once, everything after the decoding runs once per repeat."""
    from mmaction.registry import DATASETS
    root = Path(data['root'])
    pipeline = [
        dict(type='UniformSample', clip_len=4),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(-1, 40)),
        dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', meta_keys=('img_shape', 'frame_inds')),
    ]
    kwargs = dict(ann_file=str(root / 'rawframes.txt'),
                  data_prefix=dict(img=str(root / 'rawframes')), pipeline=pipeline)
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        dataset = DATASETS.build(dict(type='uniformer_mm.RepeatAugRawframeDataset',
                                      num_repeats=3, **kwargs))
        resampled = DATASETS.build(dict(type='uniformer_mm.RepeatAugRawframeDataset',
                                        num_repeats=3, sample_once=False, **kwargs))
        test_set = DATASETS.build(dict(type='uniformer_mm.RepeatAugRawframeDataset',
                                       test_mode=True, **kwargs))
    samples = dataset[0]
    assert isinstance(samples, list) and len(samples) == 3
    inds = [s['data_samples'].frame_inds.tolist() for s in samples]
    assert inds[0] == inds[1] == inds[2]  # sampled once
    assert samples[0]['inputs'].shape == (1, 3, 4, 32, 32)
    assert not torch.equal(samples[0]['inputs'], samples[1]['inputs'])  # augmented apart
    assert all(s['data_samples'].gt_label.item() == 1 for s in samples)
    # sample_once=False: each repeat its own frames (72 frames, 4 segments: some differ)
    many = [resampled[0] for _ in range(3)]
    assert len({tuple(s['data_samples'].frame_inds.tolist()) for r in many for s in r}) > 1
    # test mode: one sample, no list
    assert isinstance(test_set[0], dict)
    # the batch of repeat_pseudo_collate holds videos x repeats clips
    from mmengine.registry import FUNCTIONS
    batch = FUNCTIONS.get('repeat_pseudo_collate')([dataset[0], dataset[0]])
    assert len(batch['inputs']) == 6
    with pytest.raises(ValueError, match='needs a \\*Decode transform'):
        with DefaultScope.overwrite_default_scope('mmaction'):
            DATASETS.build(dict(type='uniformer_mm.RepeatAugRawframeDataset',
                                **{**kwargs, 'pipeline': pipeline[2:]}))


def _test_setups() -> List[str]:
    """One config name per distinct test dataset + pipeline (clip lengths aside)."""
    seen: Dict[str, str] = {}
    for path in sorted(CONFIGS.glob('*.py')):
        dataset = Config.fromfile(str(path)).test_dataloader.dataset.to_dict()
        for t in dataset['pipeline']:
            t.pop('clip_len', None)
            t.pop('frame_interval', None)
        key = json.dumps(dataset, sort_keys=True, default=str)
        seen.setdefault(key, path.stem)
    return sorted(seen.values())


@pytest.mark.parametrize('name', _test_setups())
def test_test_data_path_runs(name: str, data: Dict[str, str]) -> None:
    """The test views of each protocol (clips x crops, short side, crop) reach the model."""
    from mmaction.registry import DATASETS, MODELS
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    root = Path(data['root'])
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if 'img' in dataset_cfg.get('data_prefix', {}):
        dataset_cfg.update(ann_file=str(root / 'rawframes.txt'),
                           data_prefix=dict(img=str(root / 'rawframes')))
    else:
        dataset_cfg.update(ann_file=str(root / 'videos.txt'),
                           data_prefix=dict(video=str(root / 'videos')))
    with DefaultScope.overwrite_default_scope('mmaction'):
        dataset = DATASETS.build(dataset_cfg)
        preprocessor = MODELS.build(cfg.model.data_preprocessor)
    sample = dataset[0]
    pipeline = {t['type'].split('.')[-1]: t for t in dataset_cfg.pipeline}
    sampler = next(t for k, t in pipeline.items() if k.endswith(('SampleFrames', 'UniformSample')))
    crops = 3 if 'ThreeCrop' in pipeline else 1
    size = (pipeline.get('ThreeCrop') or pipeline['CenterCrop'])['crop_size']
    views = sampler.get('num_clips', 1) * crops
    from mmengine.dataset import pseudo_collate
    batch = preprocessor(pseudo_collate([sample]), training=False)
    assert batch['inputs'].shape == (1, views, 3, sampler['clip_len'], size, size)
    # the crops are taken from a short side at least as large (no padding, no upsampling of
    # the crop itself); the values are checked against the official ones in test_recipes.py
    assert sample['data_samples'].img_shape == (size, size)
    assert pipeline['Resize']['scale'][1] >= size


def test_frame_random_erasing_draws_per_frame() -> None:
    """Official erasing (timm's, on a (T, C, H, W) clip) decides and places the rectangle of
    each frame on its own; mmaction2's erases one rectangle through the clip."""
    from mmaction.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmaction'):
        erase = TRANSFORMS.build(dict(
            type='uniformer_mm.FrameRandomErasing', erase_prob=0.5, mode='rand',
            fill_color=(114.75, ) * 3, fill_std=(57.375, ) * 3))
    np.random.seed(0)
    frames = [np.full((32, 32, 3), 7, np.uint8) for _ in range(16)]
    out = erase(dict(imgs=[f.copy() for f in frames]))['imgs']
    erased = [(f != 7).any(-1) for f in out]
    assert 0 < sum(m.any() for m in erased) < 16  # some frames erased, some not
    boxes = {tuple(np.argwhere(m).min(0)) + tuple(np.argwhere(m).max(0)) for m in erased
             if m.any()}
    assert len(boxes) > 1  # each erased frame has its own rectangle
    noise = np.concatenate([f[m] for f, m in zip(out, erased)]).astype(float)
    assert abs(noise.mean() - 114.75) < 10 and 40 < noise.std() < 70  # N(0, 1) normalised
