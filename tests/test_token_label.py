"""Token-labeling data path: dense label maps follow the image through crop and flip.

The label maps and images here are made so that the right answer is visible in the image
itself: a label map whose left half says class 0 and right half class 1, on an image whose left
half is black and right half white. Whatever crop and flip the pipeline draws, a token that
sees only black pixels must be labelled 0 and one that sees only white pixels 1.
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
                                               crop_box, token_label_from_topk)

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


def pipeline(root: Path, label_size: int = 7, scale: int = 56, flip_prob: float = 0.5,
             crop_ratio_range=(0.08, 1.0)) -> Compose:
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose([
            dict(type='LoadImageFromFile'),
            dict(type='uniformer_mm.LoadTokenLabel', label_root=str(root / 'labels')),
            # nearest: output pixels are exactly black or white
            dict(type='uniformer_mm.TokenLabelRandomResizedCrop', scale=scale,
                 crop_ratio_range=crop_ratio_range, interpolation='nearest',
                 backend='pillow'),
            dict(type='RandomFlip', prob=flip_prob, direction='horizontal'),
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


def test_labels_follow_random_crops_and_flips(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    transforms = pipeline(tmp_path)
    np.random.seed(0)
    flips, checked = set(), 0
    for _ in range(60):
        out = transforms(dict(img_path=img_path))
        token_label = out['data_samples'].token_label
        img = out['inputs'].permute(1, 2, 0).numpy()  # C x H x W -> H x W x C
        assert token_label.shape == (4, 7, 7)
        assert torch.allclose(token_label.sum(0), torch.ones(7, 7), atol=1e-5)
        checked += check_tokens(img, token_label)
        flips.add(bool(out['data_samples'].flip))
    assert flips == {True, False}
    assert checked > 60 * 49 // 2  # most tokens are single-coloured: the check is not vacuous


def test_a_stale_box_or_a_missed_flip_would_be_caught(tmp_path):
    """The check above fails for labels that ignore the crop or the flip."""
    topk = half_map()
    img = np.zeros((56, 56, 3), np.uint8)
    img[:, :28] = 255  # a flipped whole-image view: white on the left
    ignoring_flip = token_label_from_topk(topk, 4, [0, 0, 1, 1], 7)
    with pytest.raises(AssertionError):
        check_tokens(img, ignoring_flip)
    assert check_tokens(img, token_label_from_topk(topk, 4, [0, 0, 1, 1], 7, 'horizontal')) > 0
    left_crop = np.zeros((56, 56, 3), np.uint8)  # a crop of the left (black) third
    ignoring_crop = token_label_from_topk(topk, 4, [0, 0, 1, 1], 7)
    with pytest.raises(AssertionError):
        check_tokens(left_crop, ignoring_crop)
    assert check_tokens(left_crop, token_label_from_topk(topk, 4, [0, 0, 1 / 3, 1], 7)) == 49


def test_crop_boxes_compose():
    """Cropping twice gives the box of the single equivalent crop."""
    whole = np.array([0., 0., 1., 1.])
    first = crop_box(whole, (10, 20, 60, 80), (100, 200))  # top, left, h, w of a 100x200 image
    np.testing.assert_allclose(first, [0.1, 0.1, 0.5, 0.7])
    second = crop_box(first, (15, 40, 30, 20), (60, 80))
    direct = crop_box(whole, (10 + 15, 20 + 40, 30, 20), (100, 200))
    np.testing.assert_allclose(second, direct)


def test_whole_image_target_averages_the_map():
    """Without crop or flip, a label grid of the map's size reproduces it; a coarser one
    averages it (the official RoI-align of the score map)."""
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(2, 4, 4, generator=g)
    topk = torch.stack([scores, torch.stack([torch.zeros(4, 4), torch.ones(4, 4)])])
    same = token_label_from_topk(topk, 3, [0, 0, 1, 1], 4, normalize=False)
    torch.testing.assert_close(same[:2], scores)
    assert same[2].abs().max() == 0
    coarse = token_label_from_topk(topk, 3, [0, 0, 1, 1], 2, normalize=False)
    torch.testing.assert_close(coarse[:2], scores.reshape(2, 2, 2, 2, 2).mean((2, 4)))


def test_errors_name_the_file_and_the_fix(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    load = LoadTokenLabel(label_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match=r'nowhere/cls_a/img_0\.pt.*label_root'):
        load(dict(img_path=img_path))
    bad = tmp_path / 'bad'
    (bad / 'cls_a').mkdir(parents=True)
    torch.save(torch.zeros(5, 14, 14), bad / 'cls_a' / 'img_0.pt')
    with pytest.raises(ValueError, match=r'\(5, 14, 14\).*\(2, k, h, w\)'):
        LoadTokenLabel(label_root=str(bad))(dict(img_path=img_path))
    torch.save({'x': object()}, bad / 'cls_a' / 'img_0.pt')  # not tensors-only
    with pytest.raises(ValueError, match='tensors only'):
        LoadTokenLabel(label_root=str(bad))(dict(img_path=img_path))
    results = LoadTokenLabel(label_root=str(tmp_path / 'labels'))(dict(img_path=img_path))
    with pytest.raises(ValueError, match='num_classes=2'):
        TokenLabelTarget(num_classes=2)(dict(results))
    with pytest.raises(KeyError, match='LoadTokenLabel'):
        TokenLabelTarget(num_classes=4)(dict(img_path=img_path))
    negative = half_map()
    negative[0, 0] = -1.
    with pytest.raises(ValueError, match='negative'):
        TokenLabelTarget(num_classes=4)(dict(token_label_topk=negative,
                                             token_label_box=np.array([0., 0., 1., 1.])))


def test_flip_before_the_crop_is_refused(tmp_path):
    img_path = write_sample(tmp_path, half_map())
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        transforms = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='uniformer_mm.LoadTokenLabel', label_root=str(tmp_path / 'labels')),
            dict(type='RandomFlip', prob=1.0, direction='horizontal'),
            dict(type='uniformer_mm.TokenLabelRandomResizedCrop', scale=32),
        ])
    with pytest.raises(ValueError, match='RandomFlip after the crop'):
        transforms(dict(img_path=img_path))


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
