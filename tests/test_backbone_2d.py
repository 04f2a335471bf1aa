"""The 2D UniFormer backbone.

* Golden fixtures from the official code (``tests/data/*.pth``) are
  reproduced to 1e-4 through the public loading path (``init_cfg`` Pretrained ->
  ``init_weights()``).
* Keys, shapes and parameter counts of every named arch equal ``tests/data/keys``.
* frozen_stages / norm_eval / gradient checkpointing / drop path / layer depth behave as
  documented; invalid arguments fail with clear errors; the backbone builds from the
  configs of every toolbox; the layer-decay constructor scales the learning rates.
"""
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import max_rel_err

from tiny_archs import DENSE_TINY, TINY
from torch.nn.modules.batchnorm import _BatchNorm

from uniformer_mm.checkpoint import unwrap_state_dict
from uniformer_mm.models.backbones import base as base_module
from uniformer_mm.models.backbones.uniformer import UniFormer

KEYS = Path(__file__).parent / 'data' / 'keys'
DENSE = dict(out_indices=(0, 1, 2, 3), final_norm=False)


# ---------------------------------------------------------------------------- golden
CLS_CASES = {
    'cls_tiny': dict(arch=TINY),
    'cls_tiny_convstem': dict(arch=dict(TINY, depths=(1, 2, 2, 1), conv_stem=True)),
    'cls_tiny_ls': dict(arch=dict(TINY, layer_scale='attention')),
    'tl_tiny_ls': dict(arch=dict(TINY, layer_scale='all')),
}
DENSE_CASES = {
    'dense_tiny_global': dict(arch=DENSE_TINY, **DENSE),
    'dense_tiny_window': dict(arch=DENSE_TINY, attn_type='window', window_size=4, **DENSE),
    'dense_tiny_hybrid': dict(arch=DENSE_TINY, attn_type='hybrid', window_size=4, **DENSE),
}


def official_logits(feat: torch.Tensor, sd: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The official classifier on a backbone map: GAP + head (+ 0.5 * token max of aux_head)."""
    logits = F.linear(feat.flatten(2).mean(-1), sd['head.weight'], sd['head.bias'])
    if 'aux_head.weight' in sd:
        aux = F.linear(feat.flatten(2).transpose(1, 2), sd['aux_head.weight'], sd['aux_head.bias'])
        logits = logits + 0.5 * aux.max(1)[0]
    return logits


def load_backbone(path: str, **kwargs) -> UniFormer:
    model = UniFormer(init_cfg=dict(type='Pretrained', checkpoint=path), **kwargs)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('name', sorted(CLS_CASES))
def test_golden_classification_backbones(golden_case, name):
    path, x, (expected, ) = golden_case(name)
    model = load_backbone(path, **CLS_CASES[name])
    with torch.no_grad():
        (feat, ) = model(x)
    sd = unwrap_state_dict(torch.load(path, weights_only=True))
    assert max_rel_err(official_logits(feat, sd), expected) < 1e-4


@pytest.mark.parametrize('name', sorted(DENSE_CASES))
def test_golden_dense_backbones(golden_case, name):
    # {'state_dict': {'backbone.*': ...}} as the mmdet/mmseg/mmpose releases.
    path, x, expected = golden_case(name)
    model = load_backbone(path, **DENSE_CASES[name])
    with torch.no_grad():
        outs = model(x)
    assert len(outs) == 4
    for out, exp in zip(outs, expected):
        assert max_rel_err(out, exp) < 1e-4


def test_golden_fixtures_discriminate_attention_types(golden_case):
    # The window/hybrid fixtures would not pass with another attention type, so the tests
    # above pin the window partition, the zero padding and the hybrid rule.
    path, x, expected = golden_case('dense_tiny_window')
    for attn in ('global', 'hybrid'):
        kwargs = dict(DENSE_CASES['dense_tiny_window'], attn_type=attn)
        with torch.no_grad():
            outs = load_backbone(path, **kwargs)(x)
        assert max_rel_err(outs[2], expected[2]) > 1e-3


def test_per_output_selection_and_pose_files(golden_case, mm_log):
    # An official pose file has norm1..norm4; out_indices=(3,) builds and loads only norm4.
    path, x, expected = golden_case('dense_tiny_global')
    model = load_backbone(path, arch=DENSE_TINY, out_indices=(3, ), final_norm=False)
    assert not any(hasattr(model, f'norm{i}') for i in (1, 2, 3))
    with torch.no_grad():
        (out, ) = model(x)
    assert max_rel_err(out, expected[3]) < 1e-4
    assert not [r for r in mm_log if r.levelname == 'WARNING']


# ---------------------------------------------------------------------------- keys
def parse_keys(name: str) -> Tuple[int, List[Tuple[str, Tuple[int, ...]]]]:
    lines = (KEYS / f'{name}.txt').read_text().splitlines()
    total = int(re.search(r'(\d+) parameters', lines[0]).group(1))
    keys = []
    for line in lines[1:]:
        key, shape = line.split('\t')
        keys.append((key, tuple(int(s) for s in re.findall(r'\d+', shape))))
    return total, keys


KEY_CASES = {
    'cls_uniformer_small': ('small', False), 'cls_uniformer_small_plus': ('small_plus', False),
    'cls_uniformer_small_plus_dim64': ('small_plus_dim64', False),
    'cls_uniformer_base': ('base', False), 'cls_uniformer_base_ls': ('base_ls', False),
    'tl_uniformer_small': ('tl_small', False), 'tl_uniformer_large_ls': ('large_ls', False),
    'dense_uniformer_small': ('small', True), 'dense_uniformer_base': ('base', True),
}


@pytest.mark.parametrize('name', sorted(KEY_CASES))
def test_state_dict_equals_official(name):
    arch, dense = KEY_CASES[name]
    total, keys = parse_keys(name)
    with torch.device('meta'):  # real-size models without allocating them
        model = UniFormer(arch=arch, **(DENSE if dense else {}))
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    # head.* / aux_head.* belong to the mmpretrain head (head.fc / head.aux_fc).
    heads = [(k, s) for k, s in keys if k.startswith(('head.', 'aux_head.'))]
    assert ours == [ks for ks in keys if ks not in heads]  # names, shapes and order
    n_head = sum(torch.Size(s).numel() for _, s in heads)
    assert sum(p.numel() for p in model.parameters()) + n_head == total


@pytest.mark.parametrize('arch,heads', [('small', 5), ('small_plus', 10), ('tl_small', 10),
                                        ('tl_base', 10), ('base', 5), ('large_ls', 7),
                                        ('tl_small_dim64', 5)])
def test_head_dims_of_named_archs(arch, heads):
    # head_dim is invisible in the weights, so pin the stage-3 head count of every name.
    with torch.device('meta'):
        model = UniFormer(arch=arch)
    assert model.blocks3[0].attn.num_heads == heads


# ---------------------------------------------------------------------------- arguments
@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='huge'), "unknown UniFormer arch 'huge'"),
    (dict(arch=dict(depths=(1, 1, 1, 1), embed_dims=(16, 32, 64, 128))), 'missing keys'),
    (dict(arch=dict(TINY, heads=2)), 'unknown keys'),
    (dict(arch=dict(TINY, head_dim=48)), 'head_dim=48 must divide'),
    (dict(arch=dict(TINY, depths=(1, 1, 1))), 'depths must be 4'),
    (dict(arch=TINY, attn_type='window', window_size=0), 'window_size must be an int >= 1'),
    (dict(arch=TINY, attn_type='shifted'), 'attn_type must be one of'),
    (dict(arch=TINY, out_indices=(4, ), final_norm=False), r'\[-4, 3\], got 4'),
    (dict(arch=TINY, out_indices=(0, 3)), 'final_norm=True'),
    (dict(arch=TINY, frozen_stages=4), r'frozen_stages must be an int in \[-1, 3\]'),
    (dict(arch=TINY, with_cp=(1, 2)), 'with_cp must be'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UniFormer(**kwargs)


def test_invalid_inputs():
    model = UniFormer(arch=TINY, in_channels=3)
    with pytest.raises(ValueError, match='4 channels but .* in_channels=3'):
        model(torch.rand(1, 4, 64, 64))
    with pytest.raises(ValueError, match='smaller than the total stride 32'):
        model(torch.rand(1, 3, 31, 64))
    with pytest.raises(ValueError, match='B x C x H x W'):
        model(torch.rand(3, 64, 64))


def test_any_input_size_and_channels():
    model = UniFormer(arch=DENSE_TINY, in_channels=1, attn_type='window', window_size=3,
                      out_indices=(-1, 0), final_norm=False).eval()
    outs = model(torch.rand(2, 1, 45, 77))
    assert [tuple(o.shape) for o in outs] == [(2, 128, 1, 2), (2, 16, 11, 19)]


def test_hybrid_rule():
    model = UniFormer(arch=dict(TINY, depths=(1, 1, 8, 2)), attn_type='hybrid', window_size=5)
    assert [b.window_size for b in model.blocks3] == [5, 5, 5, None, 5, 5, 5, None]
    assert all(b.window_size is None for b in model.blocks4)


def test_drop_path_linspace():
    model = UniFormer(arch=TINY, drop_path_rate=0.4)
    blocks = [b for i in range(1, 5) for b in getattr(model, f'blocks{i}')]
    rates = [getattr(b.drop_path, 'drop_prob', 0.) for b in blocks]
    assert isinstance(blocks[0].drop_path, nn.Identity)
    assert rates == pytest.approx([0., 0.4 / 4, 0.8 / 4, 1.2 / 4, 0.4])


# ---------------------------------------------------------------------------- training state
def bn_stats(module: nn.Module) -> Dict[str, torch.Tensor]:
    return {n: m.running_mean.clone() for n, m in module.named_modules()
            if isinstance(m, _BatchNorm)}


def grads_after_step(model: nn.Module, x: torch.Tensor) -> Dict[str, bool]:
    loss = sum(o.sum() for o in model(x))
    if loss.requires_grad:  # everything frozen: nothing to differentiate
        loss.backward()
    return {n: p.grad is not None and bool(p.grad.abs().sum() > 0)
            for n, p in model.named_parameters()}


@pytest.mark.parametrize('frozen', [0, 1, 3])
def test_frozen_stages(frozen):
    model = UniFormer(arch=dict(TINY, conv_stem=True), frozen_stages=frozen)
    model.train()
    before = bn_stats(model)
    grads = grads_after_step(model, torch.rand(2, 3, 64, 64))
    after = bn_stats(model)

    def is_frozen(name: str) -> bool:
        """The documented rule (mmpretrain Swin): k = the stem and stages 0..k, i.e.
        patch_embed1..k+1 and blocks1..k+1; 3 also the final norm."""
        kind, stage = re.match(r'(patch_embed|blocks|norm)(\d?)', name).groups()
        if not stage:  # the final BatchNorm `norm`
            return frozen == 3
        return int(stage) <= frozen + 1

    for name, p in model.named_parameters():
        assert p.requires_grad is not is_frozen(name), name
        assert grads[name] is not is_frozen(name), name
    for name in before:  # frozen BatchNorms keep their statistics, the others move
        assert torch.equal(before[name], after[name]) is is_frozen(name), name
    # train() again must not unfreeze anything
    model.train()
    assert not model.patch_embed1.training


@pytest.mark.parametrize('norm_eval', [False, True])
def test_norm_eval(norm_eval):
    model = UniFormer(arch=dict(TINY, conv_stem=True), norm_eval=norm_eval).train()
    before = bn_stats(model)
    grads = grads_after_step(model, torch.rand(2, 3, 64, 64))
    after = bn_stats(model)
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert all(m.training is not norm_eval for m in bns)
    assert all(torch.equal(before[n], after[n]) is norm_eval for n in before)
    # Only statistics are frozen: BN affine parameters still learn.
    assert grads['blocks1.0.norm1.weight']


def test_gradient_checkpointing(monkeypatch):
    calls = []
    real = base_module.cp.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(base_module.cp, 'checkpoint', counting)
    x = torch.rand(2, 3, 64, 64)
    torch.manual_seed(0)
    ref = UniFormer(arch=DENSE_TINY, **DENSE)
    model = UniFormer(arch=DENSE_TINY, with_cp=(0, 1, 3, 0), **DENSE)
    model.load_state_dict(ref.state_dict())
    ref.train(), model.train()
    outs_ref, outs = ref(x), model(x)
    assert calls == [False] * 4  # the first 0/1/3/0 blocks, non-reentrant
    sum(o.sum() for o in outs_ref).backward()
    sum(o.sum() for o in outs).backward()
    for o, r in zip(outs, outs_ref):
        assert torch.allclose(o, r, atol=1e-6)
    for (n, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5), n
    calls.clear()
    with torch.no_grad():
        model.eval()(x)
    assert calls == []  # nothing to save in inference
    assert UniFormer(arch=TINY, with_cp=True).cp_num == (1, 1, 2, 1)
    assert UniFormer(arch=TINY, with_cp=5).cp_num == (1, 1, 2, 1)


# ---------------------------------------------------------------------------- layer decay
def test_get_layer_depth():
    model = UniFormer(arch=TINY)  # 5 blocks -> 7 layers
    depth = {n: model.get_layer_depth('backbone.' + n, 'backbone.')[0]
             for n, _ in model.named_parameters()}
    assert {model.get_layer_depth('backbone.' + n, 'backbone.')[1] for n in depth} == {7}
    assert depth['patch_embed1.proj.weight'] == 0
    assert depth['blocks1.0.conv1.weight'] == 1
    assert depth['patch_embed2.proj.weight'] == depth['blocks2.0.conv1.weight'] == 2
    assert depth['blocks3.0.attn.qkv.weight'] == 3 and depth['blocks3.1.attn.qkv.weight'] == 4
    assert depth['blocks4.0.mlp.fc1.weight'] == 5
    assert depth['norm.weight'] == 6
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (6, 7)


class TinyDetector(nn.Module):
    """A backbone and a head, like any toolbox model."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.backbone = UniFormer(arch=TINY, **kwargs)
        self.head = nn.Linear(128, 4)


def test_layer_decay_constructor():
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
    cfg = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='uniformer_mm.LayerDecayOptimWrapperConstructor', optim_wrapper_cfg=cfg,
        paramwise_cfg=dict(layer_decay_rate=0.5, norm_decay_mult=0.)))
    model = TinyDetector(frozen_stages=0)
    groups = constructor(model).optimizer.param_groups
    lr = {g['param_name']: g['lr'] for g in groups}
    # frozen (the stem and stage 0): skipped
    assert 'backbone.patch_embed1.proj.weight' not in lr
    assert 'backbone.blocks1.0.conv1.weight' not in lr
    assert lr['head.weight'] == lr['backbone.norm.weight'] == pytest.approx(1e-3)
    chain = ['backbone.blocks2.0.conv1.weight',
             'backbone.blocks3.0.attn.qkv.weight', 'backbone.blocks3.1.attn.qkv.weight',
             'backbone.blocks4.0.attn.qkv.weight', 'head.weight']
    assert [lr[n] for n in chain] == pytest.approx([1e-3 * 0.5**k for k in range(4, -1, -1)])
    wd = {g['param_name']: g['weight_decay'] for g in groups}
    assert wd['backbone.blocks3.0.norm1.weight'] == 0 and wd['head.weight'] == 0.05
    with pytest.raises(ValueError, match='layer_decay_rate'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='uniformer_mm.LayerDecayOptimWrapperConstructor', optim_wrapper_cfg=cfg,
            paramwise_cfg=dict(layer_decay_rate=1.5)))
    with pytest.raises(TypeError, match='get_layer_depth'):
        constructor(nn.Sequential(nn.Linear(2, 2)))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_layer_decay_constructor_from_a_toolbox_config(scope):
    # How a detection/segmentation config names it: optim_wrapper.constructor, built by
    # mmengine under the toolbox's default scope.
    pytest.importorskip(scope)
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    cfg = dict(type='OptimWrapper', constructor='uniformer_mm.LayerDecayOptimWrapperConstructor',
               optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
               paramwise_cfg=dict(layer_decay_rate=0.9))
    with DefaultScope.overwrite_default_scope(scope):
        wrapper = build_optim_wrapper(TinyDetector(), cfg)
    lrs = [g['lr'] for g in wrapper.optimizer.param_groups]
    assert min(lrs) == pytest.approx(1e-4 * 0.9**6) and max(lrs) == pytest.approx(1e-4)


# ---------------------------------------------------------------------------- toolboxes
TOOLBOXES = [
    # (toolbox, scope, the config's backbone as its users would write it)
    ('mmdet', 'mmdet', dict(out_indices=(0, 1, 2, 3), final_norm=False, attn_type='hybrid',
                            window_size=14, drop_path_rate=0.1)),
    ('mmseg', 'mmseg', dict(out_indices=(0, 1, 2, 3), final_norm=False, attn_type='window',
                            window_size=7)),
    ('mmpose', 'mmpose', dict(out_indices=(3, ), final_norm=False, norm_eval=True)),
    ('mmpretrain', 'mmpretrain', dict()),
]


@pytest.mark.parametrize('toolbox,scope,backbone', TOOLBOXES, ids=[t[0] for t in TOOLBOXES])
def test_builds_from_toolbox_configs(toolbox, scope, backbone):
    pytest.importorskip(toolbox)
    import importlib
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    cfg = Config(dict(default_scope=scope,
                      model=dict(backbone=dict(type='uniformer_mm.UniFormer', arch=TINY,
                                               **backbone))))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = registry.build(cfg.model.backbone)
    assert type(model) is UniFormer
    outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert len(outs) == len(model.out_indices)
