"""Image classification with mmpretrain: ImageClassifier + UniFormer + LinearClsHead,
and token labeling (TokenLabelClsHead, TokenLabelClassifier with MixToken).

Golden fixtures (official logits) are reproduced through the public paths: the backbone and
token-labeling head load the official file via ``init_cfg=dict(type='Pretrained', ...)``; a
whole classifier loads a file converted with ``convert_official_to_mm`` through mmengine's
own ``Pretrained`` initializer, or the official file through ``load_pretrained(model, ...)``.
"""
import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import max_rel_err

pytest.importorskip('mmpretrain')
from mmengine.registry import DefaultScope  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

from tiny_archs import TINY

from uniformer_mm.checkpoint import (convert_official_to_mm, load_pretrained,  # noqa: E402
                                     unwrap_state_dict)
from uniformer_mm.models.mix_token import MixToken, unmix_tokens  # noqa: E402

CLS_ARCHS = {
    'cls_tiny': TINY,
    'cls_tiny_convstem': dict(TINY, depths=(1, 2, 2, 1), conv_stem=True),
    'cls_tiny_ls': dict(TINY, layer_scale='attention'),
}
TL_ARCH = dict(TINY, layer_scale='all')


def build(cfg: dict):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def image_classifier(arch: dict, **kwargs) -> dict:
    return dict(type='ImageClassifier',
                backbone=dict(type='uniformer_mm.UniFormer', arch=arch),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10, in_channels=128), **kwargs)


def tl_classifier(backbone_init=None, head_init=None, **kwargs) -> dict:
    return dict(type='uniformer_mm.TokenLabelClassifier',
                backbone=dict(type='uniformer_mm.UniFormer', arch=TL_ARCH, init_cfg=backbone_init),
                head=dict(type='uniformer_mm.TokenLabelClsHead', num_classes=10, in_channels=128,
                          **({'init_cfg': head_init} if head_init else {})), **kwargs)


def converted(path: str, tmp_path) -> str:
    """The official file converted to the mmpretrain layout (what a model zoo would ship)."""
    sd = convert_official_to_mm(unwrap_state_dict(torch.load(path, weights_only=True)), 'cls')
    out = tmp_path / 'converted.pth'
    torch.save({'state_dict': sd}, out)
    return str(out)


def logits(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x, mode='tensor')


# ---------------------------------------------------------------------------- golden
@pytest.mark.parametrize('name', sorted(CLS_ARCHS))
def test_golden_image_classifier_converted(golden_case, tmp_path, name):
    path, x, (expected, ) = golden_case(name)
    model = build(image_classifier(CLS_ARCHS[name], init_cfg=dict(
        type='Pretrained', checkpoint=converted(path, tmp_path))))
    model.init_weights()
    assert max_rel_err(logits(model, x), expected) < 1e-4


def test_golden_image_classifier_official_file(golden_case):
    # What tools/test.py does with an official file: load_pretrained on the whole model.
    path, x, (expected, ) = golden_case('cls_tiny')
    model = build(image_classifier(TINY))
    load_pretrained(model, path)
    assert max_rel_err(logits(model, x), expected) < 1e-4
    # mmpretrain's prediction path gives the softmax of the same logits.
    pred = model.predict(x)
    assert torch.allclose(pred[0].pred_score, F.softmax(expected[0], 0), atol=1e-5)


def test_golden_token_labeling_official_file(golden_case):
    # Backbone and head both read the official {'state_dict': ...} file through init_cfg.
    path, x, (expected, ) = golden_case('tl_tiny_ls')
    init = dict(type='Pretrained', checkpoint=path)
    model = build(tl_classifier(backbone_init=init, head_init=init))
    model.init_weights()
    assert max_rel_err(logits(model, x), expected) < 1e-4
    # The eval rule matters: the class head alone is far off.
    feats = model.extract_feat(x)
    cls_only, _ = model.head.forward_train(feats)
    assert max_rel_err(cls_only.detach(), expected) > 1e-2


def test_golden_token_labeling_converted(golden_case, tmp_path):
    path, x, (expected, ) = golden_case('tl_tiny_ls')
    cfg = tl_classifier(init_cfg=dict(type='Pretrained', checkpoint=converted(path, tmp_path)))
    # Plain ImageClassifier evaluates a token-labeling model as well.
    cfg['type'] = 'ImageClassifier'
    model = build(cfg)
    model.init_weights()
    assert max_rel_err(logits(model, x), expected) < 1e-4


# ---------------------------------------------------------------------------- MixToken
def test_mix_token_replaces_the_box_with_the_flipped_batch():
    torch.manual_seed(0)
    x = torch.rand(3, 4, 16, 16)
    mixer = MixToken(beta=1.0)
    for _ in range(20):
        mixed = mixer(x)
        x1, y1, x2, y2 = mixer.mixed_box
        assert 0 <= x1 <= x2 <= 16 and 0 <= y1 <= y2 <= 16
        inside = torch.zeros(16, 16, dtype=torch.bool)
        inside[x1:x2, y1:y2] = True
        assert torch.equal(mixed[..., inside], x.flip(0)[..., inside])
        assert torch.equal(mixed[..., ~inside], x[..., ~inside])
        assert mixer.box == tuple(v // 8 for v in mixer.mixed_box)
    tokens = torch.rand(3, 2, 2, 5)
    assert torch.equal(unmix_tokens(unmix_tokens(tokens, (0, 0, 1, 2)), (0, 0, 1, 2)), tokens)
    assert unmix_tokens(tokens, None) is tokens


def samples(labels, token_labels=None):
    out = []
    for i, label in enumerate(labels):
        s = DataSample().set_gt_label(label)
        if token_labels is not None and token_labels[i] is not None:
            s.set_field(token_labels[i], 'token_label')
        out.append(s)
    return out


def manual_loss(head, feats, data, box, smooth=0.1, token_targets=None):
    """The official TokenLabelCrossEntropy, written out."""
    cls, aux = head.forward_train(feats)
    B, H, W, K = aux.shape
    target = torch.stack([F.one_hot(s.gt_label, K)[0].float() * (1 - smooth) + smooth / K
                          for s in data])
    if token_targets is None:
        dense = target[:, None].expand(B, H * W, K)
    else:
        dense = token_targets.reshape(B, H * W, K)
    if box is not None:
        aux = unmix_tokens(aux, box)
        x1, y1, x2, y2 = box
        lam = 1 - (x2 - x1) * (y2 - y1) / (H * W)
        target = lam * target + (1 - lam) * target.flip(0)
    ce = lambda lo, t: (-t * F.log_softmax(lo, -1)).sum(-1).mean()  # noqa: E731
    return ce(cls, target), ce(aux.reshape(B, H * W, K), dense)


def test_token_label_loss_matches_official_formula():
    torch.manual_seed(0)
    head = build(dict(type='uniformer_mm.TokenLabelClsHead', num_classes=10, in_channels=8))
    feats = (torch.rand(2, 8, 2, 2), )
    data = samples([3, 7])
    box = (0, 0, 1, 2)  # half of the 2x2 token grid
    losses = head.loss(feats, data, mix_box=box)
    cls_ref, aux_ref = manual_loss(head, feats, data, box)
    assert torch.allclose(losses['loss_cls'], cls_ref)
    assert torch.allclose(losses['loss_aux'], aux_ref)
    # Without MixToken the class target is not mixed.
    no_mix = head.loss(feats, data)
    assert not torch.allclose(no_mix['loss_cls'], losses['loss_cls'])


def test_token_label_maps_indices_and_scores():
    torch.manual_seed(0)
    head = build(dict(type='uniformer_mm.TokenLabelClsHead', num_classes=4, in_channels=8,
                      label_smooth_val=0.))
    feats = (torch.rand(2, 8, 2, 2), )
    idx = torch.tensor([[0, 1], [2, 3]])
    scores = F.one_hot(torch.tensor([[3, 3], [1, 0]]), 4).permute(2, 0, 1).float()
    # A 4x4 score map is average-pooled to the 2x2 token grid.
    big = scores.repeat_interleave(2, 1).repeat_interleave(2, 2)
    data = samples([0, 1], [idx, big])
    losses = head.loss(feats, data)
    dense = torch.stack([F.one_hot(idx, 4).float(), scores.permute(1, 2, 0)])
    _, aux_ref = manual_loss(head, feats, data, None, smooth=0., token_targets=dense)
    assert torch.allclose(losses['loss_aux'], aux_ref)
    # Samples without maps fall back to their class target.
    mixed = head.loss(feats, samples([0, 1], [idx, None]))
    dense[1] = F.one_hot(torch.tensor(1), 4).float().expand(2, 2, 4)
    _, aux_ref = manual_loss(head, feats, data, None, smooth=0., token_targets=dense)
    assert torch.allclose(mixed['loss_aux'], aux_ref)
    with pytest.raises(ValueError, match='token_label must be'):
        head.loss(feats, samples([0, 1], [torch.rand(3, 2, 2), None]))


def test_token_labeling_training_step(monkeypatch):
    torch.manual_seed(0)
    model = build(tl_classifier(data_preprocessor=dict(type='ClsDataPreprocessor')))
    boxes = []
    real = MixToken.__call__

    def spy(self, x):
        out = real(self, x)
        boxes.append((tuple(x.shape), self.mixed_box, self.box))
        return out

    monkeypatch.setattr(MixToken, '__call__', spy)
    model.train()
    data = samples([1, 2, 3], [torch.randint(0, 10, (2, 2)), None, None])
    losses = model.loss(torch.rand(3, 3, 64, 64), data)
    assert set(losses) == {'loss_cls', 'loss_aux'}
    assert len(boxes) == 1 and boxes[0][0] == (3, 16, 16, 16)  # mixed on the stride-4 map
    sum(losses.values()).backward()
    for name in ('backbone.patch_embed1.proj.weight', 'head.aux_fc.weight', 'head.fc.weight'):
        assert dict(model.named_parameters())[name].grad.abs().sum() > 0, name
    # mix_token=False never calls MixToken; evaluation never mixes either.
    boxes.clear()
    plain = build(tl_classifier(mix_token=False))
    plain.train().loss(torch.rand(2, 3, 64, 64), samples([1, 2]))
    logits(model, torch.rand(2, 3, 64, 64))
    assert boxes == []


def test_mmpretrain_layer_decay_constructor():
    from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS
    model = build(image_classifier(TINY))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='LearningRateDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
            paramwise_cfg=dict(layer_decay_rate=0.5)))
        groups = constructor(model).optimizer.param_groups
    lr = {}
    for g in groups:
        for p in g['params']:
            lr[p] = g['lr']
    named = dict(model.named_parameters())
    chain = ['backbone.patch_embed1.proj.weight', 'backbone.blocks1.0.conv1.weight',
             'backbone.blocks3.0.attn.qkv.weight', 'backbone.blocks4.0.attn.qkv.weight',
             'head.fc.weight']
    values = [lr[named[n]] for n in chain]
    assert values == sorted(values) and values[-1] == pytest.approx(1e-3)
    assert values[0] == pytest.approx(1e-3 * 0.5**6)


def test_tl_classifier_needs_a_mixing_backbone():
    cfg = tl_classifier()
    cfg['backbone'] = dict(type='ResNet', depth=18)
    with pytest.raises(TypeError, match='stem_hook'):
        build(cfg)
    cfg = copy.deepcopy(cfg)
    cfg['mix_token'] = False
    build(cfg)
