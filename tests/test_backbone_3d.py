"""Video backbone ``uniformer_mm.UniFormer3D``, 2D->3D inflation, the mmaction2 path.

Golden fixtures (``tests/data/*.pth``): outputs of the official
Sense-X/UniFormer video code with synthetic weights. They are reproduced through the public
loading path, ``init_cfg=dict(type='Pretrained', checkpoint=...)`` + ``init_weights()``.
"""
import copy
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch
import torch.nn as nn

import uniformer_mm  # noqa: F401
from uniformer_mm.checkpoint import (ShapeMismatchError, load_checkpoint_file,
                                     unwrap_state_dict)
from uniformer_mm.checkpoint.inflate import (InflationError, inflate_state_dict,
                                             inflate_weight)
from tiny_archs import TINY

from uniformer_mm.checkpoint.keys import head_parts, select_head_keys
from uniformer_mm.models import UniFormer3D
from uniformer_mm.models.blocks import AttentionBlock, ConvBlock

DATA = Path(__file__).parent / 'data'
GOLDEN = ['video_tiny', 'inflate_tiny']


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest deviation relative to the reference output's scale."""
    return ((out - ref).abs().max() / ref.abs().max()).item()


def golden(name: str) -> dict:
    return torch.load(DATA / f'{name}.pth', weights_only=True)


@pytest.fixture(scope='session', autouse=True)
def official_files(tmp_path_factory) -> None:
    """Each fixture's ``checkpoint`` written as the official release file it stands for
    (``{'model_state': sd}`` for video, ``{'model': sd}`` for ImageNet)."""
    root = tmp_path_factory.mktemp('official')
    for name in GOLDEN:
        torch.save(golden(name)['checkpoint'], root / f'{name}.pth')
    OFFICIAL.append(root)


OFFICIAL: List[Path] = []


def official(name: str) -> Path:
    return OFFICIAL[0] / f'{name}.pth'


def pretrained(name: str) -> dict:
    return dict(type='Pretrained', checkpoint=str(official(name)))


def file_state_dict(name: str) -> Dict[str, torch.Tensor]:
    return unwrap_state_dict(load_checkpoint_file(official(name)))


def file_head(name: str) -> Dict[str, torch.Tensor]:
    head = select_head_keys(file_state_dict(name), head_parts('video'))
    return {k.split('.', 1)[1]: v for k, v in head.items()}


def tiny(**kwargs) -> UniFormer3D:
    return UniFormer3D(arch=copy.deepcopy(TINY), **kwargs)


def read_keys(name: str) -> Tuple[int, List[Tuple[str, List[int]]]]:
    """Parameter count of the header and the ``key -> shape`` list of a reference key file."""
    lines = (DATA / 'keys' / name).read_text().splitlines()
    count = int(re.search(r'(\d+) parameters', lines[0]).group(1))
    rows = [line.split('\t') for line in lines[1:] if line.strip()]
    return count, [(k, [int(d) for d in re.findall(r'\d+', s)]) for k, s in rows]


# --------------------------------------------------------------------------- architecture

@pytest.mark.parametrize('arch,keyfile', [('small', 'video_uniformer_small_k400.txt'),
                                          ('base', 'video_uniformer_base_k600.txt')])
def test_keys_shapes_and_param_count_match_official(arch, keyfile):
    count, ref = read_keys(keyfile)
    model = UniFormer3D(arch)
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    backbone_ref = [(k, s) for k, s in ref if not k.startswith('head.')]
    assert ours == backbone_ref  # names, shapes and order
    head = dict(ref)
    head_params = sum(torch.Size(head[k]).numel() for k in ('head.weight', 'head.bias'))
    assert sum(p.numel() for p in model.parameters()) + head_params == count


def test_stage_shapes_out_indices_and_std():
    x = torch.randn(1, 3, 16, 64, 64)
    outs = tiny(out_indices=(0, 1, 2, 3)).eval()(x)
    assert [tuple(o.shape) for o in outs] == [(1, 16, 8, 16, 16), (1, 32, 8, 8, 8),
                                              (1, 64, 8, 4, 4), (1, 128, 8, 2, 2)]
    assert all(o.is_contiguous() for o in outs)
    # A single index gives a tuple of one map, as every backbone.
    (out, ) = tiny(out_indices=-1).eval()(x)
    assert out.shape == (1, 128, 8, 2, 2)
    std = tiny(std=True)
    assert std.patch_embed2.proj.weight.shape == (32, 16, 3, 2, 2)
    assert std.eval()(x)[0].shape == (1, 128, 8, 2, 2)  # std keeps T
    with pytest.raises(ValueError, match='out_indices'):
        tiny(out_indices=4)


# ------------------------------------------------------------------------ golden fixtures

@pytest.mark.parametrize('name', GOLDEN)
def test_golden_backbone_through_pretrained_init_cfg(name, mm_log):
    """Official logits = our features -> average pool -> the file's own classifier."""
    g = golden(name)
    model = tiny(init_cfg=pretrained(name))
    model.init_weights()
    # Every backbone tensor found in the file: no missing/unexpected-key warnings.
    assert not [r.getMessage() for r in mm_log if r.levelname == 'WARNING']
    head = file_head(name)
    with torch.no_grad():
        (feats, ) = model.eval()(g['input'])
        logits = nn.functional.linear(feats.flatten(2).mean(-1), head['weight'], head['bias'])
    assert rel_err(logits, g['outputs'][0]) < 1e-4


def test_golden_fixture_is_sensitive():
    """Without the checkpoint (or with the other fixture) the golden logits are not met."""
    g = golden('video_tiny')
    model = tiny(init_cfg=pretrained('inflate_tiny'))
    model.init_weights()
    head = file_head('video_tiny')
    with torch.no_grad():
        (feats, ) = model.eval()(g['input'])
        logits = nn.functional.linear(feats.flatten(2).mean(-1), head['weight'], head['bias'])
    assert rel_err(logits, g['outputs'][0]) > 1e-2


# ----------------------------------------------------------------------------- inflation

def test_inflate_weight_modes():
    w = torch.randn(4, 2, 3, 3)
    avg = inflate_weight(w, 5, 'average')
    assert avg.shape == (4, 2, 5, 3, 3)
    assert all(torch.allclose(avg[:, :, t], w / 5) for t in range(5))
    cen = inflate_weight(w, 4, 'center')
    assert torch.equal(cen[:, :, 2], w) and cen[:, :, [0, 1, 3]].abs().sum() == 0
    with pytest.raises(ValueError, match='inflate mode'):
        inflate_weight(w, 3, 'repeat')


@pytest.mark.parametrize('mode', ['average', 'center'])
def test_inflated_conv_block_on_static_clip(mode):
    """A clip of one repeated frame: centre inflation gives the 2D block's output on every
    frame; average inflation does so away from the zero-padded temporal borders only."""
    torch.manual_seed(0)
    block2d = ConvBlock(8, ndim=2).eval()
    block3d = ConvBlock(8, ndim=3).eval()
    for bn in (block2d.norm1, block2d.norm2):
        bn.running_mean.uniform_(-.5, .5)
        bn.running_var.uniform_(.5, 1.5)
    block3d.load_state_dict(inflate_state_dict(block2d.state_dict(), block3d.state_dict(),
                                               mode=mode, logger=None))
    frame = torch.randn(2, 8, 12, 12)
    T = 9
    with torch.no_grad():
        ref = block2d(frame)
        out = block3d(frame.unsqueeze(2).expand(-1, -1, T, -1, -1).contiguous())
    errs = [rel_err(out[:, :, t], ref) for t in range(T)]
    if mode == 'center':
        assert max(errs) < 1e-5
    else:
        # Receptive field along time: 3x3x3 position conv then 5x5x5 aggregation -> 3 frames.
        assert max(errs[3:T - 3]) < 1e-5
        assert errs[0] > 1e-3 and errs[-1] > 1e-3


def test_center_vs_average_through_the_backbone():
    sd2d = file_state_dict('inflate_tiny')
    models = {}
    for mode in ('average', 'center'):
        models[mode] = tiny(init_cfg=pretrained('inflate_tiny'), inflate_mode=mode)
        models[mode].init_weights()
    w2d = sd2d['blocks1.0.attn.weight']  # (16, 1, 5, 5) -> (16, 1, 5, 5, 5)
    avg = models['average'].blocks1[0].attn.weight.detach()
    cen = models['center'].blocks1[0].attn.weight.detach()
    assert torch.allclose(avg, w2d.unsqueeze(2).expand_as(avg) / 5)
    assert torch.equal(cen[:, :, 2], w2d) and cen[:, :, [0, 1, 3, 4]].abs().sum() == 0
    # Tensors that need no inflation are copied as they are in both modes.
    for mode in models:
        assert torch.equal(models[mode].blocks3[0].attn.qkv.weight.detach(),
                           sd2d['blocks3.0.attn.qkv.weight'])
    x = golden('inflate_tiny')['input']
    with torch.no_grad():
        assert rel_err(models['center'].eval()(x)[0], models['average'].eval()(x)[0]) > 1e-3


def test_inflate_state_dict_drops_mismatched_head_and_names_bad_keys():
    sd = {'head.weight': torch.zeros(10, 8), 'head.bias': torch.zeros(10),
          'proj.weight': torch.zeros(8, 3, 4, 4)}
    target = {'head.weight': torch.Size([5, 8]), 'head.bias': torch.Size([5]),
              'proj.weight': torch.Size([8, 3, 3, 4, 4])}
    out = inflate_state_dict(sd, target, logger=None)
    assert set(out) == {'proj.weight'} and out['proj.weight'].shape == (8, 3, 3, 4, 4)
    # A <=2-D mismatch outside the droppable head is an error naming the key.
    with pytest.raises(InflationError, match=r'head\.weight: checkpoint \(10, 8\)'):
        inflate_state_dict(sd, target, drop_mismatched=(), logger=None)
    with pytest.raises(InflationError, match='inflation is disabled'):
        inflate_state_dict(sd, target, allow_inflation=False, logger=None)


# --------------------------------------------------------------------------------- errors

def test_loading_errors_name_the_problem():
    wide = UniFormer3D(arch=dict(TINY, embed_dims=[16, 32, 64, 96]),
                       init_cfg=pretrained('video_tiny'))
    with pytest.raises(InflationError, match=r'patch_embed4\.proj\.weight'):
        wide.init_weights()
    no2d = tiny(init_cfg=pretrained('inflate_tiny'), pretrained2d=False)
    with pytest.raises(InflationError, match='pretrained2d=False'):
        no2d.init_weights()
    only2d = tiny(init_cfg=pretrained('video_tiny'), pretrained2d=True)
    with pytest.raises(InflationError, match='pretrained2d=True'):
        only2d.init_weights()


def test_input_errors():
    model = tiny().eval()
    with pytest.raises(ValueError, match='temporal stride 2'):
        model(torch.randn(1, 3, 1, 64, 64))
    with pytest.raises(ValueError, match=r'\(N, C, T, H, W\)'):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match='total stride 32'):
        model(torch.randn(1, 3, 8, 16, 64))
    with pytest.raises(ValueError, match='input channels'):
        model(torch.randn(1, 1, 8, 64, 64))
    assert model(torch.randn(1, 3, 2, 32, 32))[0].shape == (1, 128, 1, 1, 1)  # the minimum


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='huge'), 'unknown UniFormer3D arch'),
    (dict(arch=dict(depths=[1, 1, 1, 1], embed_dims=[8, 16, 32, 64])), 'head_dim'),
    (dict(arch=dict(TINY, head_dim=24)), 'not divisible by head_dim'),
    (dict(arch=dict(TINY, depths=[1, 1, 1])), 'needs 4 values'),
    (dict(attn_type='divided'), 'attn_type must be one of'),
    (dict(inflate_mode='repeat'), 'inflate_mode'),
    (dict(frozen_stages=4), 'frozen_stages'),
    (dict(with_cp=[1, 1]), 'with_cp'),
])
def test_constructor_errors(kwargs, match):
    kwargs.setdefault('arch', copy.deepcopy(TINY))
    with pytest.raises(ValueError, match=match):
        UniFormer3D(**kwargs)


# ----------------------------------------------------------------------- split attention

def test_split_attention_keys_init_and_per_frame_start():
    model = tiny(attn_type='split')
    model.init_weights()
    keys = [k for k in model.state_dict() if k.startswith('blocks3.0.')]
    assert keys[:8] == ['blocks3.0.pos_embed.weight', 'blocks3.0.pos_embed.bias',
                        'blocks3.0.t_norm.weight', 'blocks3.0.t_norm.bias',
                        'blocks3.0.t_attn.qkv.weight', 'blocks3.0.t_attn.qkv.bias',
                        'blocks3.0.t_attn.proj.weight', 'blocks3.0.t_attn.proj.bias']
    block = model.blocks3[0]
    assert block.t_attn.qkv.weight.abs().sum() == 0 and block.t_attn.qkv.bias.abs().sum() == 0
    assert torch.all(block.t_attn.proj.weight == 1) and block.t_attn.proj.bias.abs().sum() == 0
    assert block.attn.qkv.weight.std() > 0  # the official init elsewhere

    # At init the temporal branch is exactly 0: the block is per-frame spatial attention.
    x = torch.randn(2, 64, 4, 3, 5)
    with torch.no_grad():
        B, C, T, H, W = x.shape
        y = x + block.pos_embed(x)
        t = y.permute(0, 2, 3, 4, 1).reshape(B * T, H * W, C)
        t = t + block.attn(block.norm1(t))
        t = t + block.mlp(block.norm2(t))
        ref = t.reshape(B, T, H, W, C).permute(0, 4, 1, 2, 3)
        assert rel_err(block.eval()(x), ref) < 1e-5
        # With a proj weight of all ones the temporal update is constant over channels, which
        # norm1 removes: still per-frame. Once trained, it mixes frames and changes the output.
        nn.init.normal_(block.t_attn.qkv.weight, std=.2)
        assert rel_err(block(x), ref) < 1e-5
        nn.init.normal_(block.t_attn.proj.weight, std=.2)
        assert rel_err(block(x), ref) > 1e-3


def test_split_attention_from_a_joint_checkpoint(mm_log):
    model = tiny(attn_type='split', init_cfg=pretrained('video_tiny'))
    model.init_weights()
    # The temporal branch is expected to be absent from every official file: not a warning.
    assert not [r.getMessage() for r in mm_log if r.levelname == 'WARNING']
    assert any('t_attn' in r.getMessage() for r in mm_log)
    sd = file_state_dict('video_tiny')
    assert torch.equal(model.blocks3[1].attn.qkv.weight.detach(), sd['blocks3.1.attn.qkv.weight'])
    assert torch.all(model.blocks4[0].t_attn.proj.weight == 1)  # not in the file: official init
    with pytest.raises(ValueError, match='split'):
        AttentionBlock(16, 1, ndim=2, split=True)


# --------------------------------------------------------------------- training features

def test_gradient_checkpointing_is_used_and_exact(monkeypatch):
    torch.manual_seed(0)
    ref = tiny()
    ref.init_weights()
    cp_model = tiny(with_cp=(1, 0, 2, 0))
    cp_model.load_state_dict(ref.state_dict())
    calls = []
    original = torch.utils.checkpoint.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append(type(fn).__name__)
        return original(fn, *args, **kwargs)

    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint', counting)
    x = torch.randn(2, 3, 4, 32, 32)
    grads = []
    for model in (ref, cp_model):
        model.train()
        model(x)[0].square().mean().backward()
        grads.append(model.blocks3[1].attn.qkv.weight.grad.clone())
    assert calls == ['ConvBlock', 'AttentionBlock', 'AttentionBlock']
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-7)
    with torch.no_grad():
        cp_model.eval()(x)
    assert len(calls) == 3  # no checkpointing outside training


def test_frozen_stages_and_norm_eval():
    model = tiny(frozen_stages=1, norm_eval=True).train()
    frozen = ['patch_embed1', 'blocks1', 'patch_embed2', 'blocks2']
    for name, param in model.named_parameters():
        assert param.requires_grad == (name.split('.')[0] not in frozen), name
    assert not model.blocks2[0].training and model.blocks3[0].training
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm3d))
    # Frozen BN statistics really do not move in a training forward.
    before = model.norm.running_mean.clone()
    model(torch.randn(2, 3, 4, 32, 32))
    assert torch.equal(before, model.norm.running_mean)
    all_frozen = tiny(frozen_stages=3).train()
    assert not any(p.requires_grad for p in all_frozen.parameters())


def test_drop_path_only_in_training():
    model = tiny(drop_path_rate=0.5)
    model.init_weights()
    x = torch.randn(4, 3, 4, 32, 32)
    with torch.no_grad():
        torch.manual_seed(1)
        (a, ) = model.train()(x)
        torch.manual_seed(2)
        (b, ) = model(x)
        assert rel_err(a, b) > 1e-3
        model.eval()
        assert torch.equal(model(x)[0], model(x)[0])


# ------------------------------------------------------------------------------ mmaction2

def mmaction_model_cfg(head_init: dict = None, backbone_init: dict = None,
                       average_clips: str = 'prob', **backbone) -> dict:
    return dict(
        type='Recognizer3D',
        backbone=dict(type='uniformer_mm.UniFormer3D', arch=copy.deepcopy(TINY),
                      init_cfg=backbone_init, **backbone),
        cls_head=dict(type='uniformer_mm.UniFormerClsHead', num_classes=10, in_channels=128,
                      average_clips=average_clips, init_cfg=head_init),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))


@pytest.fixture
def mmaction():
    pytest.importorskip('mmaction.models')
    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    name = f'test_backbone_3d_{id(object())}'
    with DefaultScope.overwrite_default_scope('mmaction'):
        DefaultScope.get_instance(name, scope_name='mmaction')
        yield MODELS, ActionDataSample


@pytest.mark.parametrize('name', GOLDEN)
def test_golden_recognizer(mmaction, name):
    """Recognizer3D + UniFormer3D + UniFormerClsHead, both loading the official file."""
    MODELS, ActionDataSample = mmaction
    g = golden(name)
    model = MODELS.build(mmaction_model_cfg(pretrained(name), pretrained(name), 'score'))
    model.init_weights()
    model.eval()
    data = dict(inputs=[g['input'][0][None]], data_samples=[ActionDataSample()])
    with torch.no_grad():
        score = model.test_step(data)[0].pred_score
    assert rel_err(score, g['outputs'][0][0]) < 1e-4


def test_head_loading_rules(mmaction, tmp_path):
    MODELS, _ = mmaction
    # Another class count (e.g. Kinetics -> Something-Something): skipped, init kept.
    head = MODELS.build(dict(type='uniformer_mm.UniFormerClsHead', num_classes=7,
                             in_channels=128, init_cfg=pretrained('video_tiny')))
    head.init_weights()
    assert 0 < head.fc_cls.weight.std() < 0.03  # the trunc-normal(0.02) init
    head = MODELS.build(dict(type='uniformer_mm.UniFormerClsHead', num_classes=10,
                             in_channels=64, init_cfg=pretrained('video_tiny')))
    with pytest.raises(ShapeMismatchError, match='in_channels=64'):
        head.init_weights()
    # A recognizer file in mmaction2 layout (backbone.* / cls_head.fc_cls.*) loads as well.
    model = MODELS.build(mmaction_model_cfg(pretrained('video_tiny'), pretrained('video_tiny')))
    model.init_weights()
    assert torch.equal(model.cls_head.fc_cls.weight.detach(), file_head('video_tiny')['weight'])
    # Whole official files map to this recognizer with the checkpoint package's converter.
    from uniformer_mm.checkpoint import convert_official_to_mm
    converted = convert_official_to_mm(file_state_dict('video_tiny'), 'video')
    assert list(converted) == list(model.state_dict())
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'recognizer.pth')
    again = dict(type='Pretrained', checkpoint=str(tmp_path / 'recognizer.pth'))
    model2 = MODELS.build(mmaction_model_cfg(again, again))
    model2.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, model2.state_dict()[key]), key


def test_recognizer_trains_one_step_on_cpu(mmaction):
    """The recipe of the configs (inflated ImageNet init, drop path, checkpointing,
    mixup/cutmix soft labels, label smoothing, AdamW without decay on 1-D params, clipping)."""
    MODELS, ActionDataSample = mmaction
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    cfg = mmaction_model_cfg(backbone_init=pretrained('inflate_tiny'), drop_path_rate=0.1,
                             with_cp=True)
    cfg['cls_head']['label_smooth_eps'] = 0.1
    cfg['data_preprocessor']['blending'] = dict(
        type='RandomBatchAugment',
        augments=[dict(type='MixupBlending', alpha=0.8, num_classes=10),
                  dict(type='CutmixBlending', alpha=1.0, num_classes=10)])
    model = MODELS.build(cfg)
    model.init_weights()
    optim = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        paramwise_cfg=dict(flat_decay_mult=0.0), clip_grad=dict(max_norm=20)))
    data = dict(
        inputs=[torch.randint(0, 256, (1, 3, 4, 32, 32), dtype=torch.uint8) for _ in range(2)],
        data_samples=[ActionDataSample().set_gt_label(torch.tensor(i)) for i in (3, 7)])
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    log_vars = model.train_step(data, optim)
    assert torch.isfinite(log_vars['loss']) and log_vars['loss'] > 0
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith('backbone.blocks1') for k in changed)
    assert 'cls_head.fc_cls.weight' in changed


def test_multi_view_test_protocols(mmaction):
    """K400 (4 clips x 1 crop) and SSv2 (1 clip x 3 crops) views averaged as probabilities."""
    MODELS, ActionDataSample = mmaction
    from mmaction.registry import TRANSFORMS
    from mmengine.dataset import Compose
    import numpy as np
    torch.manual_seed(0)
    model = MODELS.build(mmaction_model_cfg())
    model.init_weights()
    model.eval()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(48)]
    protocols = {
        'kinetics_4x1': ([dict(type='SampleFrames', clip_len=4, frame_interval=4,
                               num_clips=4, test_mode=True)],
                         [dict(type='CenterCrop', crop_size=32)], 4),
        'sthv2_1x3': ([dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1,
                            test_mode=True)],
                      [dict(type='ThreeCrop', crop_size=32)], 3),
    }
    for name, (sample, crop, views) in protocols.items():
        sample_pipe = Compose([TRANSFORMS.build(t) for t in sample])
        rest = Compose([TRANSFORMS.build(t) for t in [dict(type='Resize', scale=(-1, 32))] + crop
                        + [dict(type='FormatShape', input_format='NCTHW'),
                           dict(type='PackActionInputs')]])
        results = sample_pipe(dict(total_frames=len(frames), start_index=0))
        results.update(imgs=[frames[i] for i in results['frame_inds']],
                       img_shape=(40, 56), original_shape=(40, 56), modality='RGB')
        packed = rest(results)
        assert packed['inputs'].shape == (views, 3, 4, 32, 32), name
        data = dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']])
        with torch.no_grad():
            score = model.test_step(data)[0].pred_score
            x = model.data_preprocessor(data, False)['inputs'][0]
            per_view = model.cls_head(model.backbone(x))
        assert torch.allclose(score, per_view.softmax(-1).mean(0), atol=1e-6), name


CONFIGS = Path(__file__).parents[1] / 'configs' / 'video'


@pytest.mark.parametrize('name,sampler,views,crop', [
    # the official dense sampling (uniformer_mm.DenseSampleFrames, tests/test_video_sampling.py)
    ('uniformer_s_16x4_k400.py', 'uniformer_mm.DenseSampleFrames', 4, 'CenterCrop'),
    ('uniformer_s_16_sthv2_prek400.py', 'UniformSample', 1, 'ThreeCrop'),
])
def test_configs_express_the_official_protocols(mmaction, name, sampler, views, crop):
    MODELS, _ = mmaction
    from mmaction.registry import TRANSFORMS
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.default_scope == 'mmaction'
    # the official SlowFast test ensembles the views' raw logits (the model has no softmax)
    assert cfg.model.cls_head.average_clips == 'score'
    test = cfg.test_dataloader.dataset.pipeline
    assert test[1].type == sampler and test[1].test_mode
    assert test[1].get('num_clips', 1) == views and test[4].type == crop
    # (the train pipelines' RandAugment needs pytorchvideo; tests/test_configs.py covers them)
    for pipeline in (cfg.val_pipeline, test):
        [TRANSFORMS.build(t) for t in pipeline]
    model = MODELS.build(cfg.model)  # not initialised: the pretrained files are not here
    assert type(model.backbone).__name__ == 'UniFormer3D'
    assert model.backbone.depths == (3, 4, 8, 3)
    assert model.cls_head.num_classes == cfg.num_classes


def test_same_outputs_as_mmaction2_uniformer(mmaction):
    """With the same weights, mmaction2's own UniFormer gives our output; the only model
    difference is its LayerNorm eps (1e-5 vs the official 1e-6). Timing is not tested here:
    tools/analysis/compare_mmaction_uniformer.py reports it."""
    import importlib.util
    path = Path(__file__).parents[1] / 'tools' / 'analysis' / 'compare_mmaction_uniformer.py'
    spec = importlib.util.spec_from_file_location('compare_mmaction_uniformer', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ours, theirs = tool.build_pair('tiny')
    diff = tool.output_difference(ours, theirs, torch.randn(2, 3, 8, 64, 64))
    assert diff['max_rel_diff_eps_aligned'] < 1e-5
    assert diff['max_rel_diff'] < 1e-4
