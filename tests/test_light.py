"""The efficient hourglass UniFormer: UniFormerLight, UniFormerLight3D and their heads.

Golden fixtures (``tests/data/{light,dense_light,video_light}_tiny.pth``) were produced by the
official Sense-X/UniFormer code; each is ``{'checkpoint': <file as released>, 'input',
'outputs'}``. The checkpoint part is written to a file and loaded through the public path
(``init_cfg=dict(type='Pretrained', checkpoint=path)`` -> ``init_weights()``), and every output
must match to 1e-4 of its scale.
"""
import os.path as osp
import re
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
import torch.nn.functional as F

from tiny_archs import LIGHT_TINY as TINY

from uniformer_mm.checkpoint import convert_official_to_mm
from uniformer_mm.checkpoint.keys import head_parts, select_head_keys
from uniformer_mm.models.backbones.uniformer_light import UniFormerLight, UniFormerLight3D
from uniformer_mm.models.hourglass import EvoSABlock, pool_score

DATA = osp.join(osp.dirname(__file__), 'data')
DENSE = dict(final_norm=False, out_indices=(0, 1, 2, 3))


def light_head_state_dict(state_dict: dict, task: str = 'cls') -> dict:
    """The three classifier parts of a light file, named as inside our head of ``task``."""
    return select_head_keys(state_dict, head_parts(task, 'head_cls', 'norm_cls'))


def golden(name: str) -> dict:
    return torch.load(osp.join(DATA, f'{name}.pth'), weights_only=True)


def release_file(tmp_path, name: str, raw: bool = False) -> Tuple[str, dict]:
    """Write the fixture's checkpoint as released (or unwrapped with ``raw``); return its path."""
    g = golden(name)
    ckpt = g['checkpoint']
    if raw:
        (ckpt, ) = ckpt.values()
    path = str(tmp_path / f'{name}{"_raw" if raw else ""}.pth')
    torch.save(ckpt, path)
    return path, g


def assert_close_to_scale(out: torch.Tensor, ref: torch.Tensor, rel: float = 1e-4) -> None:
    assert out.shape == ref.shape
    err, scale = (out - ref).abs().max().item(), ref.abs().max().item()
    assert err <= rel * scale, f'max error {err:.3g} > {rel} x scale {scale:.3g}'


def pretrained(path: Optional[str]) -> Optional[dict]:
    """A fresh ``Pretrained`` init_cfg of ``path`` (None without a path: the default init)."""
    return dict(type='Pretrained', checkpoint=path) if path else None


def build(toolbox: str, cfg: dict):
    """Build ``cfg`` from ``toolbox``'s MODELS registry under its default scope, as its tools do.

    The scope is explicit so that a scope left current by another test (a Runner sets one)
    cannot change where types are looked up.
    """
    import importlib

    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    with DefaultScope.overwrite_default_scope(toolbox):
        return registry.build(cfg)


def light_classifier(checkpoint: Optional[str] = None, **backbone: Any):
    """mmpretrain ``ImageClassifier``: TINY ``UniFormerLight`` + 10-class ``LightClsHead``.

    ``checkpoint``: a ``Pretrained`` file for both backbone and head; ``backbone``: more
    backbone arguments.
    """
    return build('mmpretrain', dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='uniformer_mm.UniFormerLight', arch=TINY,
                      init_cfg=pretrained(checkpoint), **backbone),
        head=dict(type='uniformer_mm.LightClsHead', num_classes=10, in_channels=128,
                  init_cfg=pretrained(checkpoint))))


def light_recognizer(checkpoint: Optional[str] = None, backbone: Optional[dict] = None,
                     head: Optional[dict] = None):
    """mmaction2 ``Recognizer3D``: TINY ``UniFormerLight3D`` + 10-class ``LightVideoHead``.

    ``checkpoint``: a ``Pretrained`` file for both backbone and head; ``backbone`` / ``head``:
    more arguments of each.
    """
    return build('mmaction', dict(
        type='mmaction.Recognizer3D',
        backbone=dict(type='uniformer_mm.UniFormerLight3D', arch=TINY,
                      init_cfg=pretrained(checkpoint), **(backbone or {})),
        cls_head=dict(type='uniformer_mm.LightVideoHead', num_classes=10, in_channels=128,
                      init_cfg=pretrained(checkpoint), **(head or {})),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor', format_shape='NCTHW')))


# ---------------------------------------------------------------------------------------------
# Golden reproduction through the public loading path
# ---------------------------------------------------------------------------------------------
def test_golden_light_tiny_backbone(tmp_path):
    path, g = release_file(tmp_path, 'light_tiny')  # {'model': sd}, as ImageNet releases
    model = build('uniformer_mm', dict(type='UniFormerLight', arch=TINY,
                                       init_cfg=pretrained(path)))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        ((pooled, cls_token), ) = model(g['input'])
    assert cls_token.shape == (2, 128)
    head = light_head_state_dict(g['checkpoint']['model'])
    assert_close_to_scale(F.linear(pooled, head['fc.weight'], head['fc.bias']), g['outputs'][0])


def test_golden_light_tiny_classifier(tmp_path):
    pytest.importorskip('mmpretrain')
    path, g = release_file(tmp_path, 'light_tiny')
    model = light_classifier(path)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        logits = model(g['input'], mode='tensor')
        preds = model(g['input'], mode='predict')
    assert_close_to_scale(logits, g['outputs'][0])
    assert torch.allclose(preds[0].pred_score, g['outputs'][0][0].softmax(-1), atol=1e-5)
    # The class-token parts were loaded from the official head_cls / norm_cls too.
    sd = g['checkpoint']['model']
    assert torch.equal(model.head.fc_token.weight, sd['head_cls.weight'])
    assert torch.equal(model.head.norm_token.bias, sd['norm_cls.bias'])


def test_official_light_state_dict_maps_to_full_models():
    pytest.importorskip('mmpretrain')
    g = golden('light_tiny')
    model = light_classifier()
    # strict: every key of the full model is covered and nothing is left over
    model.load_state_dict(convert_official_to_mm(g['checkpoint']['model'], 'cls'), strict=True)
    model.eval()
    with torch.no_grad():
        assert_close_to_scale(model(g['input'], mode='tensor'), g['outputs'][0])


def test_golden_dense_light_tiny(tmp_path):
    path, g = release_file(tmp_path, 'dense_light_tiny')  # {'state_dict'}, 'backbone.' keys
    model = UniFormerLight(TINY, **DENSE, init_cfg=pretrained(path))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        outs = model(g['input'])
    assert len(outs) == 4
    for out, ref in zip(outs, g['outputs']):
        assert_close_to_scale(out, ref)
    # out_indices selects maps (and only builds their norms); the values are unchanged.
    sub = UniFormerLight(TINY, final_norm=False, out_indices=(1, 3), init_cfg=pretrained(path))
    sub.init_weights()
    sub.eval()
    assert not hasattr(sub, 'norm1') and hasattr(sub, 'norm2')
    with torch.no_grad():
        outs = sub(g['input'])
    assert len(outs) == 2
    assert_close_to_scale(outs[0], g['outputs'][1])
    assert_close_to_scale(outs[1], g['outputs'][3])


@pytest.mark.parametrize('raw', [False, True], ids=['model_state', 'raw_state_dict'])
def test_golden_video_light_tiny_backbone(tmp_path, raw):
    # The official light video loader took raw state_dicts; SlowFast files wrap 'model_state'.
    path, g = release_file(tmp_path, 'video_light_tiny', raw=raw)
    model = UniFormerLight3D(TINY, init_cfg=pretrained(path))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        ((pooled, cls_token), ) = model(g['input'])
    assert cls_token.shape == (1, 128)
    head = light_head_state_dict(g['checkpoint']['model_state'], 'video')
    assert_close_to_scale(F.linear(pooled, head['fc_cls.weight'], head['fc_cls.bias']),
                          g['outputs'][0])


def test_golden_video_light_tiny_recognizer(tmp_path):
    pytest.importorskip('mmaction')
    from mmaction.structures import ActionDataSample
    path, g = release_file(tmp_path, 'video_light_tiny')
    model = light_recognizer(path, head=dict(average_clips='score'))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        # N, num_clips, C, T, H, W
        (pred, ) = model(g['input'][:, None], [ActionDataSample()], mode='predict')
    assert_close_to_scale(pred.pred_score[None], g['outputs'][0])
    # and the whole-model mapping of the official file is complete
    model.load_state_dict(convert_official_to_mm(g['checkpoint']['model_state'], 'video'),
                          strict=True)


# ---------------------------------------------------------------------------------------------
# Keys, shapes and parameter counts of the released architectures
# ---------------------------------------------------------------------------------------------
def read_keys(name: str) -> Tuple[int, Dict[str, List[int]]]:
    with open(osp.join(DATA, 'keys', f'{name}.txt')) as f:
        lines = f.read().splitlines()
    total = int(re.search(r'; (\d+) parameters', lines[0]).group(1))
    keys = {}
    for line in lines[1:]:
        key, shape = line.split('\t')
        keys[key] = [int(s) for s in re.findall(r'\d+', shape)]
    return total, keys


def head_keys(dim: int, num_classes: int) -> Dict[str, List[int]]:
    """The official classifier keys, as the heads hold them (LayerNorm + two Linear)."""
    return {'norm_cls.weight': [dim], 'norm_cls.bias': [dim],
            'head.weight': [num_classes, dim], 'head.bias': [num_classes],
            'head_cls.weight': [num_classes, dim], 'head_cls.bias': [num_classes]}


@pytest.mark.parametrize('arch,kind,keys_file,num_classes', [
    ('xxs', 'cls', 'cls_uniformer_xxs', 1000),
    ('xs', 'cls', 'cls_uniformer_xs', 1000),
    ('xxs', 'dense', 'dense_uniformer_light_xxs', None),
    ('xs', 'dense', 'dense_uniformer_light_xs', None),
    ('xxs', 'video', 'video_uniformer_light_xxs_k400', 400),
    ('xs', 'video', 'video_uniformer_light_xs_k400', 400),
])
def test_keys_and_parameter_counts(arch, kind, keys_file, num_classes):
    total, official = read_keys(keys_file)
    if kind == 'video':
        model = UniFormerLight3D(arch)
    else:
        model = UniFormerLight(arch, **(DENSE if kind == 'dense' else {}))
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    n_params = sum(p.numel() for p in model.parameters())
    if num_classes is not None:
        extra = head_keys(model.num_features, num_classes)
        ours.update(extra)
        n_params += sum(torch.Size(s).numel() for s in extra.values())
    assert ours == official  # same keys, same shapes
    assert list(ours) == list(official)  # and the official state_dict order
    assert n_params == total


def test_head_parameter_counts_match_official():
    pytest.importorskip('mmpretrain')
    head = build('mmpretrain', dict(type='uniformer_mm.LightClsHead', num_classes=1000,
                                      in_channels=448))
    _, official = read_keys('cls_uniformer_xxs')
    expected = {light: official[o] for o, light in [
        ('head.weight', 'fc.weight'), ('head.bias', 'fc.bias'),
        ('head_cls.weight', 'fc_token.weight'), ('head_cls.bias', 'fc_token.bias'),
        ('norm_cls.weight', 'norm_token.weight'), ('norm_cls.bias', 'norm_token.bias')]}
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == expected


# ---------------------------------------------------------------------------------------------
# The hourglass mechanics
# ---------------------------------------------------------------------------------------------
def make_block(prune_ratio: float, trade_off: float = .5) -> EvoSABlock:
    torch.manual_seed(0)
    blk = EvoSABlock(32, 2, prune_ratio=prune_ratio, trade_off=trade_off, mlp_ratio=2)
    return blk.eval()


def test_pruned_block_fast_updates_dropped_tokens_and_keeps_order():
    full, pruned = make_block(1.), make_block(.5)
    torch.manual_seed(1)
    x = torch.randn(2, 32, 4, 5)
    idx = torch.arange(20).expand(2, -1)
    cls_token = torch.randn(2, 1, 32)
    with torch.no_grad():
        cls_token, x, score, idx = full(cls_token, x, None, idx)
        assert score.shape == (2, 20) and score.dtype == torch.float32
        # class attention to the patches: softmax row without the class token's own entry
        assert bool((score > 0).all()) and bool((score.sum(1) < 1).all())
        x_in = x + pruned.pos_embed(x)  # what the block sees, in map order
        cls_out, x_out, score_out, idx_out = pruned(cls_token, x, score, idx)
    assert idx_out.dtype == torch.long and torch.equal(idx_out, idx)  # order restored
    delta = (x_out - x_in).flatten(2).transpose(1, 2)  # B, N, C
    for b in range(2):
        order = score[b].argsort(descending=True)
        kept, dropped = order[:10], order[10:]
        # every dropped token received the same (fast) update ...
        assert torch.allclose(delta[b, dropped], delta[b, dropped[:1]].expand(10, -1),
                              atol=1e-6)
        # ... the kept ones their own (slow) updates
        assert not torch.allclose(delta[b, kept[0]], delta[b, kept[1]], atol=1e-4)
        # EMA only on the kept tokens' scores
        assert torch.equal(score_out[b, dropped], score[b, dropped])
        assert not torch.allclose(score_out[b, kept], score[b, kept])


def test_pool_score_keeps_the_sum():
    score = torch.rand(3, 6 * 4)
    pooled = pool_score(score, (6, 4))
    assert pooled.shape == (3, 6)
    assert torch.allclose(pooled.sum(1), score.sum(1))
    video = pool_score(torch.rand(2, 4 * 6 * 4), (4, 6, 4))  # time is not pooled
    assert video.shape == (2, 4 * 3 * 2)


def test_token_indices_stay_integer_through_the_model(monkeypatch):
    seen = []
    original = EvoSABlock.forward

    def spy(self, cls_token, x, score, token_indices):
        out = original(self, cls_token, x, score, token_indices)
        seen.append((token_indices.dtype, out[3].dtype, out[2].dtype))
        return out

    monkeypatch.setattr(EvoSABlock, 'forward', spy)
    model = UniFormerLight(TINY).eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        model(torch.randn(1, 3, 64, 64))
    assert len(seen) == 5
    assert all(i == torch.long and o == torch.long for i, o, _ in seen)
    assert all(s == torch.float32 for _, _, s in seen)  # the running score stays fp32


# ---------------------------------------------------------------------------------------------
# No shared state: threads and several models
# ---------------------------------------------------------------------------------------------
def run_concurrently(jobs, repeats: int = 4) -> List[List[torch.Tensor]]:
    results: List[List[torch.Tensor]] = [[] for _ in jobs]
    errors: List[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def work(i, fn):
        try:
            barrier.wait()
            for _ in range(repeats):
                results[i].append(fn())
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, fn)) for i, fn in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_one_model_in_two_threads():
    torch.manual_seed(0)
    model = UniFormerLight(TINY).eval()
    # different sizes too: a leaked score/index of the other thread would not even fit
    xa, xb = torch.randn(2, 3, 64, 64), torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        ref_a, ref_b = model(xa)[0][0], model(xb)[0][0]

    def job(x):
        def fn():
            with torch.no_grad():
                return model(x)[0][0]
        return fn

    res_a, res_b = run_concurrently([job(xa), job(xb)])
    assert all(torch.equal(r, ref_a) for r in res_a)
    assert all(torch.equal(r, ref_b) for r in res_b)


def test_two_models_in_one_process():
    torch.manual_seed(0)
    image = UniFormerLight(TINY).eval()
    video = UniFormerLight3D(dict(TINY, prune_ratios=[[1, .25, .75], [.5, 1.]],
                                  trade_offs=[[1, .3, .6], [.2, .9]])).eval()
    xi, xv = torch.randn(2, 3, 64, 64), torch.randn(1, 3, 4, 64, 64)
    with torch.no_grad():
        ref_i, ref_v = image(xi)[0][0], video(xv)[0][0]
        # interleaved calls in one thread
        assert torch.equal(video(xv)[0][0], ref_v) and torch.equal(image(xi)[0][0], ref_i)

    def run_image():
        with torch.no_grad():
            return image(xi)[0][0]

    def run_video():
        with torch.no_grad():
            return video(xv)[0][0]

    res_i, res_v = run_concurrently([run_image, run_video])
    assert all(torch.equal(r, ref_i) for r in res_i)
    assert all(torch.equal(r, ref_v) for r in res_v)


# ---------------------------------------------------------------------------------------------
# Precision
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('attn_fp32', [True, False])
def test_bf16_autocast_forward_is_finite_and_attention_precision(monkeypatch, attn_fp32):
    dtypes = []
    sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, *args, **kwargs):
        dtypes.append(q.dtype)
        return sdpa(q, k, v, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention', spy)
    torch.manual_seed(0)
    model = UniFormerLight(TINY, attn_fp32=attn_fp32).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = model(x)[0][0]
        dtypes.clear()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            pooled, cls_token = model(x)[0]
    assert torch.isfinite(pooled).all() and torch.isfinite(cls_token).all()
    assert len(dtypes) == 5  # every EvoSABlock
    # attn_fp32 really upcasts q/k/v; without it they stay in the autocast dtype
    assert set(dtypes) == ({torch.float32} if attn_fp32 else {torch.bfloat16})
    assert (pooled.float() - ref).abs().max() < 0.1 * ref.abs().max()


def test_video_bf16_autocast_forward_is_finite():
    model = UniFormerLight3D(TINY, layer_scale_init_value=0.1).eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        ((pooled, cls_token), ) = model(torch.randn(1, 3, 4, 64, 64))
    assert torch.isfinite(pooled).all() and torch.isfinite(cls_token).all()


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def test_image_training_returns_both_logits_and_backpropagates():
    pytest.importorskip('mmpretrain')
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    model = light_classifier(drop_path_rate=0.1)
    model.init_weights()
    model.train()
    x = torch.randn(2, 3, 64, 64)
    logits, token_logits = model(x, mode='tensor')
    assert logits.shape == token_logits.shape == (2, 10)
    samples = [DataSample().set_gt_label(i) for i in (1, 7)]
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_pooled', 'loss_token'}
    sum(losses.values()).backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused  # everything, cls_token and the token classifier included, is trained
    model.eval()
    with torch.no_grad():
        out = model(x, mode='tensor')
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)  # eval: pooled head only


def test_image_loss_is_the_official_half_half():
    # 0.5 / 0.5 of the cross-entropies of both classifiers (official engine_light.py)
    pytest.importorskip('mmpretrain')
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    head = build('mmpretrain', dict(type='uniformer_mm.LightClsHead', num_classes=5,
                                      in_channels=8))
    pooled, token = torch.randn(3, 8), torch.randn(3, 8)
    labels = torch.tensor([0, 4, 2])
    losses = head.loss(((pooled, token), ), [DataSample().set_gt_label(int(i)) for i in labels])
    expected = 0.5 * F.cross_entropy(head.fc(pooled), labels) + 0.5 * F.cross_entropy(
        head.fc_token(head.norm_token(token)), labels)
    assert torch.allclose(sum(losses.values()), expected)


def test_video_training_returns_both_scores_and_backpropagates():
    pytest.importorskip('mmaction')
    from mmaction.structures import ActionDataSample
    torch.manual_seed(0)
    model = light_recognizer(backbone=dict(layer_scale_init_value=0.1))
    model.init_weights()
    model.train()
    x = torch.randn(2, 1, 3, 4, 64, 64)
    feats, _ = model.extract_feat(x)
    scores, token_scores = model.cls_head(feats)
    assert scores.shape == token_scores.shape == (2, 10)
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (1, 7)]
    losses = model(x, samples, mode='loss')
    assert {'loss_cls', 'loss_token'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused
    assert model.backbone.blocks1[0].gamma_1.shape == (1, 16, 1, 1, 1)  # _ls video layer scale
    assert model.backbone.blocks3[1].gamma_1.shape == (16 * 4, )


# ---------------------------------------------------------------------------------------------
# Loading details and options
# ---------------------------------------------------------------------------------------------
def test_2d_light_weights_inflate_into_the_video_stem(tmp_path):
    path, g = release_file(tmp_path, 'light_tiny')
    model = UniFormerLight3D(TINY, init_cfg=pretrained(path))
    model.init_weights()
    sd2d = g['checkpoint']['model']
    w3d = model.patch_embed1.proj[0].weight
    assert w3d.shape == (8, 3, 3, 3, 3)
    assert torch.allclose(w3d, sd2d['patch_embed1.proj.0.weight'][:, :, None].repeat(
        1, 1, 3, 1, 1) / 3)
    assert torch.equal(model.blocks3[1].attn.qkv.weight, sd2d['blocks3.1.attn.qkv.weight'])
    assert model.patch_embed2.proj.weight.shape == (32, 16, 1, 2, 2)


def test_image_weights_into_dense_backbone_and_back(tmp_path):
    path, g = release_file(tmp_path, 'light_tiny')
    dense = UniFormerLight(TINY, **DENSE, init_cfg=pretrained(path))
    dense.init_weights()  # head, head_cls, norm_cls and the final BN are not dense weights
    assert torch.equal(dense.cls_token, g['checkpoint']['model']['cls_token'])
    assert dense.pretrained_new_keys == ('norm1.', 'norm2.', 'norm3.', 'norm4.')


def test_head_skips_classifiers_of_another_class_count(tmp_path):
    pytest.importorskip('mmpretrain')
    path, g = release_file(tmp_path, 'light_tiny')  # 10 classes
    head = build('mmpretrain', dict(type='uniformer_mm.LightClsHead', num_classes=5,
                                      in_channels=128, init_cfg=pretrained(path)))
    head.init_weights()
    sd = g['checkpoint']['model']
    assert head.fc.weight.shape == (5, 128) and head.fc_token.weight.shape == (5, 128)
    assert torch.equal(head.norm_token.weight, sd['norm_cls.weight'])  # not class-dependent


def test_frozen_stages_and_norm_eval():
    model = UniFormerLight(TINY, **DENSE, frozen_stages=2, norm_eval=True)
    model.train()
    frozen = [f'{m}{i}' for m in ('patch_embed', 'blocks', 'norm') for i in (1, 2, 3)]
    frozen.append('cls_token')  # enters in stage 3 (index 2); cls_upsample belongs to stage 4
    for name, p in model.named_parameters():
        assert p.requires_grad == (not name.startswith(tuple(frozen))), name
    assert not model.blocks3[0].training and model.blocks4[0].training
    assert model.cls_upsample.weight.requires_grad
    # norm_eval: every BatchNorm in eval mode, also those of unfrozen parts
    model2 = UniFormerLight(TINY, norm_eval=True).train()
    assert not model2.norm.training and not model2.blocks2[0].norm1.training
    assert model2.blocks2[0].conv1.training
    model.train()  # frozen stays frozen after another train()
    assert not model.blocks3.training


@pytest.mark.parametrize('arch,match', [
    ('tiny', 'unknown UniFormerLight arch'),
    (dict(TINY, prune_ratios=[[.5, .5, .5], [.5, .5]]), 'first stage-3 block'),
    (dict(TINY, prune_ratios=[[1, .5], [.5, .5]]), 'one value per stage-3'),
    (dict(TINY, head_dim=24), 'does not divide'),
    (dict(TINY, extra=1), 'unknown keys'),
])
def test_bad_archs_are_refused(arch, match):
    with pytest.raises(ValueError, match=match):
        UniFormerLight(arch)


def test_backbone_state_dict_excludes_classifier_parts():
    sd = golden('light_tiny')['checkpoint']['model']
    backbone = UniFormerLight(TINY).convert_pretrained(sd)
    assert not any(k.startswith(('head', 'norm_cls')) for k in backbone)
    assert set(light_head_state_dict(sd)) == {
        'fc.weight', 'fc.bias', 'fc_token.weight', 'fc_token.bias', 'norm_token.weight',
        'norm_token.bias'}
    full = convert_official_to_mm(sd, 'video')
    assert 'cls_head.fc_cls.weight' in full and 'cls_head.norm_token.bias' in full
    assert len(full) == len(sd)


def test_layer_depth_for_layer_wise_lr_decay():
    model = UniFormerLight(TINY)  # depths 1, 1, 3, 2 -> blocks 1..7, 9 layers
    depth = model.get_layer_depth
    assert depth('backbone.patch_embed1.proj.0.weight', 'backbone.') == (0, 9)
    assert depth('backbone.blocks1.0.attn.weight', 'backbone.') == (1, 9)
    assert depth('backbone.patch_embed3.proj.weight', 'backbone.') == (3, 9)
    assert depth('backbone.cls_token', 'backbone.') == (3, 9)  # enters with stage 3
    assert depth('backbone.blocks3.2.mlp.fc1.weight', 'backbone.') == (5, 9)
    assert depth('backbone.cls_upsample.weight', 'backbone.') == (6, 9)
    assert depth('backbone.blocks4.1.attn.qkv.weight', 'backbone.') == (7, 9)
    assert depth('backbone.norm.weight', 'backbone.') == (8, 9)
    assert depth('head.fc_token.weight', 'backbone.') == (8, 9)


def test_wrong_inputs_are_explained():
    with pytest.raises(ValueError, match='expects images'):
        UniFormerLight(TINY)(torch.randn(1, 3, 4, 64, 64))
    with pytest.raises(ValueError, match='H, W >= 32'):
        UniFormerLight(TINY)(torch.randn(1, 3, 64, 16))
    with pytest.raises(ValueError, match='expects clips'):
        UniFormerLight3D(TINY)(torch.randn(1, 3, 64, 64))


def test_video_std_patch_embeddings_keep_time():
    # Official UNIFORMER.STD: 3x2x2 kernels, temporal padding 1, no temporal stride.
    model = UniFormerLight3D(TINY, std=True).eval()
    assert model.patch_embed2.proj.weight.shape == (32, 16, 3, 2, 2)
    feats = []
    model.patch_embed4.register_forward_hook(lambda m, i, o: feats.append(o))
    with torch.no_grad():
        model(torch.randn(1, 3, 8, 64, 64))
    assert feats[0].shape == (1, 128, 4, 2, 2)  # T/2 from the stem only
