"""Token-labeling data path: dense label maps follow the image through crop and flip.

The label maps and images here are made so that the right answer is visible in the image
itself: a label map whose left half says class 0 and right half class 1, on an image whose left
half is black and right half white. Whatever crop, flip, shear, translation and rotation the
pipeline draws (nearest-neighbour, grey padding), a token that sees only black pixels must be
labelled 0 and one that sees only white pixels 1.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('mmpretrain')
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import uniformer_mm  # noqa: E402,F401
from uniformer_mm.datasets.token_label import (LoadTokenLabel, TokenLabelTarget,  # noqa: E402
                                               crop_affine, flip_affine, token_label_from_topk)

CONFIGS = Path(__file__).parents[1] / 'configs' / 'cls'
H, W, GRID = 96, 128, 14  # image size (not square, not a multiple of the grid), label grid


def half_map(k: int = 3, grid: int = GRID) -> torch.Tensor:
    """``(2, k, grid, grid)``: class 0 (score 1) on the left half, class 1 on the right; the
    other top-k entries are class 2+ with score 0."""
    topk = torch.zeros(2, k, grid, grid)
    topk[0, 0] = 1.
    topk[1, 0, :, grid // 2:] = 1
    for i in range(1, k):
        topk[1, i] = i + 1
    return topk


def write_sample(root: Path, topk: torch.Tensor, name: str = 'cls_a/img_0') -> str:
    """Image ``<root>/train/<name>.png`` (left half black, right half white) and its label
    file ``<root>/labels/<name>.pt``; returns the image path."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, W // 2:] = 255
    img_path = root / 'train' / f'{name}.png'
    img_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img_path), img)
    label_path = root / 'labels' / f'{name}.pt'
    label_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(topk, label_path)
    return str(img_path)


#: RandAugment restricted to its geometric operations, strong and nearest-neighbour.
GEOMETRIC = dict(
    type='uniformer_mm.TokenLabelRandAugment',
    policies=[dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
              dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
              dict(type='Translate', magnitude_range=(0, 0.3), direction='horizontal'),
              dict(type='Translate', magnitude_range=(0, 0.3), direction='vertical'),
              dict(type='Rotate', magnitude_range=(0, 40))],
    num_policies=2, magnitude_level=9, magnitude_std=0.5,
    hparams=dict(pad_val=128, interpolation='nearest'))


def pipeline(root: Path, label_size: int = 7, scale: int = 56, randaug: bool = True,
             flip: str = 'uniformer_mm.TokenLabelRandomFlip',
             crop: str = 'uniformer_mm.TokenLabelRandomResizedCrop',
             randaug_type: str = 'uniformer_mm.TokenLabelRandAugment',
             flip_first: bool = False) -> Compose:
    geometric = [dict(GEOMETRIC, type=randaug_type)] if randaug else []
    steps = [
        # nearest: output pixels are exactly black or white (or the grey padding)
        dict(type=crop, scale=scale, interpolation='nearest', backend='pillow'),
        dict(type=flip, prob=0.5, direction=['horizontal', 'vertical', 'diagonal']),
    ]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose([
            dict(type='LoadImageFromFile'),
            dict(type='uniformer_mm.LoadTokenLabel', label_root=str(root / 'labels')),
            *(steps[::-1] if flip_first else steps),
            *geometric,
            dict(type='uniformer_mm.TokenLabelTarget', num_classes=4, label_size=label_size),
            dict(type='PackInputs', algorithm_keys=('token_label', )),
        ])


def check_tokens(img: np.ndarray, token_label: torch.Tensor) -> int:
    """Assert that every single-colour token's label is mostly its colour's class; return
    how many tokens were checked."""
    size = token_label.shape[-1]
    ph, pw = img.shape[0] // size, img.shape[1] // size
    checked = 0
    for a in range(size):
        for b in range(size):
            patch = img[a * ph:(a + 1) * ph, b * pw:(b + 1) * pw]
            if (patch == 0).all():
                expected = 0
            elif (patch == 255).all():
                expected = 1
            else:
                continue
            dist = token_label[:, a, b]
            # > 0.5, not 1: RoI-align interpolates between label cells, so a token just
            # beside the boundary gets some of the other side
            assert dist[expected] > 0.5, (a, b, expected, dist.tolist())
            checked += 1
    return checked


def run(transforms: Compose, img_path: str, n: int = 60, seed: int = 0) -> int:
    """Run ``n`` random samples through ``transforms`` and check them; return how many tokens
    were checked."""
    np.random.seed(seed)
    flips, checked = set(), 0
    for _ in range(n):
        out = transforms(dict(img_path=img_path))
        token_label = out['data_samples'].token_label
        img = out['inputs'].permute(1, 2, 0).numpy()  # C x H x W -> H x W x C
        assert token_label.shape == (4, 7, 7)
        sums = token_label.sum(0)
        assert torch.allclose(sums[sums > 0], torch.ones_like(sums[sums > 0]), atol=1e-5)
        checked += check_tokens(img, token_label)
        flips.add(out['data_samples'].flip_direction)
    assert flips == {None, 'horizontal', 'vertical', 'diagonal'}
    return checked


def test_labels_follow_crops_flips_and_randaugment(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    checked = run(pipeline(tmp_path), img_path)
    assert checked > 60 * 49 // 3  # most tokens are single-coloured: the check is not vacuous


def test_labels_follow_a_flip_before_the_crop(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    assert run(pipeline(tmp_path, randaug=False, flip_first=True), img_path) > 60 * 49 // 2


def test_transforms_that_ignore_the_labels_are_caught(tmp_path):
    """mmpretrain's / mmcv's own transforms in place of the label-aware ones: a resize or a
    flip is refused by TokenLabelTarget; a warp of the same size is caught by the check."""
    img_path = write_sample(tmp_path, half_map())
    with pytest.raises(ValueError, match='TokenLabelRandomFlip'):
        run(pipeline(tmp_path, randaug=False, flip='RandomFlip'), img_path)
    with pytest.raises(ValueError, match='TokenLabelRandomResizedCrop'):
        run(pipeline(tmp_path, randaug=False, crop='RandomResizedCrop'), img_path)
    with pytest.raises(AssertionError):
        run(pipeline(tmp_path, randaug_type='RandAugment'), img_path)


def test_axis_aligned_targets_are_roi_align():
    """For crops and flips, the targets are torchvision's roi_align(aligned=True) of the
    dense map (an independent implementation of the same sampling)."""
    from torchvision.ops import roi_align
    g = torch.Generator().manual_seed(0)
    topk = torch.stack([torch.rand(3, 14, 14, generator=g),
                        torch.randint(0, 10, (3, 14, 14), generator=g).float()])
    dense = torch.zeros(10, 14, 14).scatter_(0, topk[1].long(), topk[0])
    rng = np.random.RandomState(0)
    for _ in range(20):
        h, w = rng.randint(50, 300, size=2)
        ch, cw = rng.randint(10, h + 1), rng.randint(10, w + 1)
        top, left = rng.randint(0, h - ch + 1), rng.randint(0, w - cw + 1)
        affine = crop_affine((top, left, ch, cw), (h, w))
        box = torch.tensor([[0., left / w * 14, top / h * 14, (left + cw) / w * 14,
                             (top + ch) / h * 14]], dtype=torch.float32)
        ref = roi_align(dense[None], box, output_size=7, sampling_ratio=2, aligned=True)[0]
        ours = token_label_from_topk(topk, 10, affine, 7, normalize=False, sampling_ratio=2)
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
        flipped = token_label_from_topk(topk, 10, affine @ flip_affine('horizontal'), 7,
                                        normalize=False, sampling_ratio=2)
        torch.testing.assert_close(flipped, ref.flip(-1), atol=1e-5, rtol=1e-5)


def test_whole_image_target_averages_the_map():
    """Without crop or flip, a label grid of the map's size reproduces it; a coarser one
    averages it (the official RoI-align of the score map)."""
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(2, 4, 4, generator=g)
    topk = torch.stack([scores, torch.stack([torch.zeros(4, 4), torch.ones(4, 4)])])
    same = token_label_from_topk(topk, 3, np.eye(3), 4, normalize=False)
    torch.testing.assert_close(same[:2], scores)
    assert same[2].abs().max() == 0
    coarse = token_label_from_topk(topk, 3, np.eye(3), 2, normalize=False)
    torch.testing.assert_close(coarse[:2], scores.reshape(2, 2, 2, 2, 2).mean((2, 4)))


def test_errors_name_the_file_and_the_fix(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    img = np.zeros((H, W, 3), np.uint8)
    load = LoadTokenLabel(label_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match=r'nowhere/cls_a/img_0\.pt.*label_root'):
        load(dict(img_path=img_path, img=img))
    bad = tmp_path / 'bad'
    (bad / 'cls_a').mkdir(parents=True)
    torch.save(torch.zeros(5, 14, 14), bad / 'cls_a' / 'img_0.pt')
    with pytest.raises(ValueError, match=r'\(5, 14, 14\).*\(2, k, h, w\)'):
        LoadTokenLabel(label_root=str(bad))(dict(img_path=img_path, img=img))
    torch.save({'x': object()}, bad / 'cls_a' / 'img_0.pt')  # not tensors-only
    with pytest.raises(ValueError, match='tensors only'):
        LoadTokenLabel(label_root=str(bad))(dict(img_path=img_path, img=img))
    results = LoadTokenLabel(label_root=str(tmp_path / 'labels'))(dict(img_path=img_path,
                                                                       img=img))
    with pytest.raises(ValueError, match='num_classes=2'):
        TokenLabelTarget(num_classes=2)(dict(results))
    with pytest.raises(KeyError, match='LoadTokenLabel'):
        TokenLabelTarget(num_classes=4)(dict(img_path=img_path))
    negative = half_map()
    negative[0, 0] = -1.
    with pytest.raises(ValueError, match='negative'):
        TokenLabelTarget(num_classes=4)(dict(results, token_label_topk=negative))


@pytest.mark.parametrize('name,label_size', [('uniformer_s_tl_in1k', 7),
                                             ('uniformer_s_tl_in1k_384', 12)])
def test_paper_config_trains_on_token_labels(tmp_path, name, label_size):
    """The token-labeling config's own train pipeline on an ImageNet-style folder: the token
    targets reach the head, and the auxiliary loss uses them (it differs from the loss of the
    class-label fallback)."""
    from mmpretrain.registry import DATASETS, MODELS
    from mmpretrain.structures import DataSample
    from test_configs import model_config, shrink_backbone

    for sample in ['cls_a/img_0', 'cls_b/img_1']:
        write_sample(tmp_path, half_map(k=5, grid=GRID), sample)
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    pipe = [dict(t, label_root=str(tmp_path / 'labels')) if 'LoadTokenLabel' in t['type'] else t
            for t in cfg.train_dataloader.dataset.pipeline]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dict(type='CustomDataset', data_root=str(tmp_path / 'train'),
                                      pipeline=pipe))
        samples = [dataset[i] for i in range(2)]
        model_cfg = model_config(cfg)
        shrink_backbone(model_cfg.backbone)
        model_cfg.head.pop('init_cfg', None)  # the 384 config starts from a 224 checkpoint
        model = MODELS.build(model_cfg)
    for s in samples:
        assert s['data_samples'].token_label.shape == (1000, label_size, label_size)
    batch = model.data_preprocessor(dict(inputs=[s['inputs'] for s in samples],
                                         data_samples=[s['data_samples'] for s in samples]),
                                    training=True)
    model.mix_token = False  # compare the two targets on the same tokens
    feats = model.extract_feat(batch['inputs'])
    with_labels = model.head.loss(feats, batch['data_samples'])
    fallback = [DataSample().set_gt_label(s.gt_label) for s in batch['data_samples']]
    without = model.head.loss(feats, fallback)
    assert torch.isfinite(with_labels['loss_aux'])
    assert not torch.allclose(with_labels['loss_aux'], without['loss_aux'])
    torch.testing.assert_close(with_labels['loss_cls'], without['loss_cls'])


def test_train_refuses_missing_label_files_before_building_anything(tmp_path):
    """tools/train.py's data check names the token-label folder of a TL config and the
    --cfg-options key that moves it, instead of an error from inside a data-loader worker."""
    from uniformer_mm.apis import load_config
    from uniformer_mm.cli import check_data_paths
    (tmp_path / 'train').mkdir()
    (tmp_path / 'meta').mkdir()
    cfg = load_config(str(CONFIGS / 'uniformer_s_tl_in1k.py'),
                      {'train_dataloader.dataset.data_root': str(tmp_path)})
    with pytest.raises(FileNotFoundError) as e:
        check_data_paths(cfg, ('train', ))
    msg = str(e.value)
    assert "train_dataloader.dataset.pipeline.1.label_root = 'data/imagenet/label_top5" in msg
    assert '--cfg-options train_dataloader.dataset.pipeline.1.label_root=' in msg
    (tmp_path / 'labels').mkdir()
    cfg = load_config(str(CONFIGS / 'uniformer_s_tl_in1k.py'),
                      {'train_dataloader.dataset.data_root': str(tmp_path),
                       'train_dataloader.dataset.pipeline.1.label_root': str(tmp_path / 'labels')})
    check_data_paths(cfg, ('train', ))  # the --cfg-options key of the message works
