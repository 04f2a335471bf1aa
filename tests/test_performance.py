"""Performance paths: ``torch.compile(fullgraph=True)``, channels-last and bf16 autocast for
every backbone, and the measurements of the benchmark (:mod:`tools.analysis.benchmark`).

Nothing here asserts a speed: timings on a shared 2-core machine are noise at test sizes, and
``python -m tools.analysis.benchmark`` measures and prints them. What is asserted is
deterministic: graph capture (one graph, ``fullgraph=True``), equal outputs, memory accounting
(allocation sizes do not depend on load) and copy counts.
"""
import copy
import json
from typing import Any, Callable, Dict, List, Tuple

import pytest
import torch
import torch.nn as nn

from uniformer_mm.models import UniFormer, UniFormer3D, UniFormerLight, UniFormerLight3D
from uniformer_mm.models.hourglass import EvoSABlock
from tiny_archs import DENSE_TINY, TINY
from tools.analysis import benchmark as bm

# Four stage-3 blocks: the hybrid model then has window blocks and one global block.
TINY2D = DENSE_TINY
LIGHT = dict(depths=[1, 1, 3, 2], embed_dims=[16, 32, 64, 128], head_dim=16)
VIDEO = TINY
DENSE = dict(out_indices=(0, 1, 2, 3), final_norm=False)
# 112 x 96 gives a 7 x 6 stage-3 map: window 4 pads it to 8 x 8 (2 x 2 windows), so padding
# and the window permutations are exercised.
IMG, CLIP = (1, 3, 112, 96), (1, 3, 4, 64, 64)

BACKBONES: Dict[str, Tuple[Callable[[], nn.Module], Tuple[int, ...]]] = {
    '2d_cls': (lambda: UniFormer(arch=TINY2D), (2, 3, 64, 64)),
    '2d_cls_convstem_ls': (lambda: UniFormer(arch=dict(TINY2D, conv_stem=True,
                                                       layer_scale='all')), (2, 3, 64, 64)),
    '2d_global': (lambda: UniFormer(arch=TINY2D, **DENSE), IMG),
    '2d_window': (lambda: UniFormer(arch=TINY2D, attn_type='window', window_size=4, **DENSE),
                  IMG),
    '2d_hybrid': (lambda: UniFormer(arch=TINY2D, attn_type='hybrid', window_size=4, **DENSE),
                  IMG),
    '3d_joint': (lambda: UniFormer3D(arch=VIDEO), CLIP),
    '3d_split_ls': (lambda: UniFormer3D(arch=VIDEO, attn_type='split',
                                        layer_scale_init_value=0.1, out_indices=(2, 3)), CLIP),
    'light_cls': (lambda: UniFormerLight(arch=LIGHT), (2, 3, 64, 64)),
    'light_dense': (lambda: UniFormerLight(arch=LIGHT, **DENSE), (2, 3, 64, 96)),
    'light_3d': (lambda: UniFormerLight3D(arch=LIGHT), (2, 3, 4, 64, 64)),
}


def build(name: str) -> Tuple[nn.Module, torch.Tensor]:
    """Backbone ``name`` in eval mode with random BatchNorm statistics and selective
    attention (the official init attends uniformly, and the light models' token ranking would
    be all ties, i.e. not exercised), and an input."""
    factory, shape = BACKBONES[name]
    torch.manual_seed(0)
    model = bm.spread_attention_(bm.randomize_batchnorm_(factory().eval()))
    return model, torch.randn(shape, generator=torch.Generator().manual_seed(1))


def flat(out: Any) -> List[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else [t for o in out for t in flat(o)]


def assert_same(out: Any, ref: Any, rel: float) -> None:
    a, b = flat(out), flat(ref)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        err = (x.float() - y.float()).abs().max().item()
        assert err <= rel * y.float().abs().max().item(), (err, y.abs().max().item())


pytestmark = pytest.mark.usefixtures('one_intraop_thread')  # tests/conftest.py


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    # Each test compiles its own models; stale guards from other tests must not count against
    # the recompile limit (which would silently fall back to eager).
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


# ---------------------------------------------------------------------------------------------
# torch.compile(fullgraph=True), channels-last, bf16 autocast: every backbone
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_fullgraph_compile_matches_eager(name):
    """One graph for the whole forward (fullgraph=True raises on any break), through
    AOTAutograd (functionalisation and decompositions, the path inductor takes)."""
    from torch._dynamo.testing import CompileCounterWithBackend
    model, x = build(name)
    counter = CompileCounterWithBackend('aot_eager')
    compiled = torch.compile(model, fullgraph=True, backend=counter)
    with torch.no_grad():
        ref = model(x)
        out = compiled(x)
        out2 = compiled(x)  # no recompilation for the same input
    assert counter.frame_count == 1
    assert_same(out, ref, 1e-5)
    assert_same(out2, ref, 1e-5)


@pytest.mark.parametrize('name', ['2d_hybrid', 'light_3d'])
def test_fullgraph_compile_under_bf16_autocast(name):
    from torch._dynamo.testing import CompileCounter
    model, x = build(name)
    counter = CompileCounter()
    compiled = torch.compile(model, fullgraph=True, backend=counter)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        ref = model(x)
        out = compiled(x)
    assert counter.frame_count == 1
    assert_same(out, ref, 1e-6)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_channels_last_input_and_weights_give_the_same_outputs(name):
    model, x = build(name)
    fmt = torch.channels_last if x.dim() == 4 else torch.channels_last_3d
    cl = bm.to_channels_last_(copy.deepcopy(model))
    assert any(p.dim() >= 4 and not p.is_contiguous() for p in cl.parameters())
    with torch.no_grad():
        ref, out = model(x), cl(x.contiguous(memory_format=fmt))
    assert_same(out, ref, 1e-5)
    if isinstance(model, (UniFormer, UniFormer3D)):
        # Documented: feature maps come back contiguous (channels-first) in either case.
        assert all(t.is_contiguous() for t in flat(out))


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_bf16_autocast_is_close_to_fp32(name):
    model, x = build(name)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(x)
    assert all(torch.isfinite(t).all() for t in flat(out))
    # bf16 keeps 8 significant bits: ~0.4% per rounding, a few percent after a network.
    assert_same(out, ref, 5e-2)


@pytest.mark.parametrize('name', ['light_cls', 'light_3d'])
def test_light_running_score_stays_fp32_under_autocast(name):
    """The score the tokens are sorted by is accumulated over blocks: it must not be bf16."""
    model, x = build(name)
    scores = []
    hooks = [m.register_forward_hook(lambda m, i, o: scores.append(o[2]))
             for m in model.modules() if isinstance(m, EvoSABlock)]
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        model(x)
    for h in hooks:
        h.remove()
    assert scores and {s.dtype for s in scores} == {torch.float32}
    # The ranking is exercised: distinct scores, not the ties of a uniform attention.
    assert all(s.unique().numel() > s.shape[1] // 2 for s in scores)


# ---------------------------------------------------------------------------------------------
# The benchmark's references and measurements
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ['2d_global', '2d_hybrid', '3d_joint'])
def test_explicit_softmax_reference_matches_fused_attention(name):
    model, x = build(name)
    ref_model = copy.deepcopy(model)
    n = bm.use_explicit_softmax_attention(ref_model)
    blocks = sum(d for d in (TINY2D if name.startswith('2d') else VIDEO)['depths'][2:])
    assert n == blocks
    assert 'attend' not in vars(next(m for m in model.modules()
                                     if type(m).__name__ == 'MultiheadAttention'))
    with torch.no_grad():
        assert_same(ref_model(x), model(x), 1e-5)


def test_official_layout_reference_keeps_values_and_channels_first_maps():
    """The official-equivalent model of the speed target: the official code's memory layout
    (contiguous channels-first maps after each patch embedding), same outputs as ours."""
    model, x = build('2d_global')
    ref_model = copy.deepcopy(model)
    assert bm.use_official_layout(ref_model) == 4
    layouts = {}

    def record(name):
        return lambda m, a, out: layouts.__setitem__(name, out.is_contiguous())
    model.patch_embed2.register_forward_hook(record('ours'))
    ref_model.patch_embed2.register_forward_hook(record('official'))
    with torch.no_grad():
        assert_same(ref_model(x), model(x), 1e-5)
    assert layouts == dict(ours=False, official=True)  # ours stays channels-last


def test_op_families_of_a_profile():
    """What-bounds-it shares: depthwise convolutions told from the others by their weight,
    GEMMs and fused attention recognised, the shares adding up to 1."""
    assert bm.op_family('aten::mkldnn_convolution', [[1, 64, 8, 8], [64, 1, 5, 5], [64]]) == \
        'depthwise conv'
    assert bm.op_family('mkldnn::_convolution_pointwise_',
                        [[1, 64, 8, 8], [1, 64, 8, 8], [64, 1, 3, 3, 3], [64]]) == \
        'depthwise conv'
    assert bm.op_family('aten::mkldnn_convolution', [[1, 64, 8, 8], [64, 64, 1, 1]]) == \
        'other conv'
    assert bm.op_family('mkl::_mkl_linear') == bm.op_family('aten::addmm') == 'linear GEMM'
    assert bm.op_family('aten::_scaled_dot_product_flash_attention_for_cpu') == 'attention'
    model, x = build('2d_global')
    with torch.no_grad():
        fam = bm.family_breakdown(bm.profile_ops(lambda: model(x), shapes=True))
    shares = {k: v['share'] for k, v in fam['families'].items()}
    assert set(shares) == set(bm.OP_FAMILIES) and sum(shares.values()) == pytest.approx(1, 1e-3)
    for name in ('linear GEMM', 'attention', 'depthwise conv', 'other conv'):
        assert shares[name] > 0, shares
    assert 0 < fam['extern_share'] < 1


def test_torch_peak_memory_is_exact():
    n = 2 * 2**20  # 8 MiB of float32

    def fn():
        a = torch.ones(n)
        b = torch.ones(n)  # both alive: 16 MiB
        del a
        c = torch.ones(n // 2)  # 12 MiB now, below the peak
        return b.sum() + c.sum()

    peak = bm.torch_peak_memory(fn)
    assert 16 * 2**20 <= peak <= 16 * 2**20 + 4096
    # The allocator's running total is process-wide: memory allocated in an earlier profiled
    # region and freed outside one stays in it. The peak must not include it.
    with bm.cpu_profiler(profile_memory=True):
        kept = torch.ones(4 * n)
    del kept
    assert bm.torch_peak_memory(fn) == peak


def test_fused_attention_halves_peak_memory_of_explicit_softmax():
    """The memory target, at a size where the stage-3 attention matrix dominates (32 x 32
    tokens, 4 heads: 16 MiB per N x N tensor). Memory is deterministic, unlike time."""
    model = UniFormer(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 32, 64, 128],
                                head_dim=16), **DENSE).eval()
    ref_model = copy.deepcopy(model)
    bm.use_explicit_softmax_attention(ref_model)
    x = torch.randn(1, 3, 512, 512)
    fused = bm.torch_peak_memory(lambda: model(x))
    explicit = bm.torch_peak_memory(lambda: ref_model(x))
    # Two N x N tensors are alive at once (logits and scaled logits, then scaled logits and
    # probabilities): 32 MiB.
    assert explicit >= 32 * 2**20
    assert fused <= 0.5 * explicit, (fused, explicit)


def test_flop_count_includes_fused_attention():
    """mmengine has no handle for scaled_dot_product_attention; ours counts exactly the two
    products the explicit formulation's matmuls count."""
    model, x = build('2d_global')
    ref_model = copy.deepcopy(model)
    bm.use_explicit_softmax_attention(ref_model)
    fused, skipped = bm.count_flops(model, x)
    explicit, _ = bm.count_flops(ref_model, x)
    assert fused == explicit
    assert not any('scaled_dot_product' in s for s in skipped)
    # And the attention share is not negligible at this size (so the test can fail).
    without = copy.deepcopy(model)
    for m in without.modules():
        if type(m).__name__ == 'MultiheadAttention':
            m.attend = lambda q, k, v, _m=m: _m.proj(
                v.transpose(1, 2).reshape(v.shape[0], v.shape[2], -1))
    assert bm.count_flops(without, x)[0] < fused


@pytest.mark.parametrize('attn_type, per_block', [('window', 3), ('hybrid', 3)])
def test_window_attention_makes_no_avoidable_copies(attn_type, per_block):
    """With a padded map, a window block needs three layout copies: pad, partition into
    windows, reverse. Counted with the profiler against the global model (same weights)."""
    glob, x = build('2d_global')
    win = UniFormer(arch=TINY2D, attn_type=attn_type, window_size=4, **DENSE).eval()
    win.load_state_dict(glob.state_dict())
    with torch.no_grad():
        n_glob = bm.copy_stats(bm.profile_ops(lambda: glob(x)))['layout_copies']
        n_win = bm.copy_stats(bm.profile_ops(lambda: win(x)))['layout_copies']
    blocks = 4 if attn_type == 'window' else 3
    assert n_win - n_glob <= per_block * blocks


def test_paired_ratio_uses_rounds():
    # B is 2x slower in every round though the load doubles halfway: the paired ratio is 2.
    assert bm.paired_ratio([1, 1, 2, 2], [2, 2, 4, 4]) == 2


def _deploy_case(key: str, ours: bool, times: List[float], compile_: str = None) -> dict:
    variant = dict(dtype='fp32', channels_last=False, compile=compile_, runtime='torch')
    return dict(name=f'{key} {compile_}', label=key, key=key, ours=ours, variant=variant,
                times_s=times, gflops=2.0, throughput=8 / sorted(times)[1], batch=8,
                first_call_s=1.0, check=dict(max_rel_diff=1e-6))


def test_deploy_ratio_target_reports_the_gemm_ceiling():
    """The ratio target of a deploy group, and its ceiling: the GEMM rate measured in the
    group over the compared model's FLOP rate (2 FLOPs per counted multiply-add)."""
    official = _deploy_case('uniformer_s_official', False, [2.0, 2.0, 2.0])
    group = dict(name='deploy_s', cases=[
        _deploy_case('uniformer_s', True, [1.6, 1.6, 1.6]), official,
        _deploy_case('uniformer_s', True, [1.0, 1.25, 1.0], 'inductor')])
    report = dict(groups=[group])
    (ratio, ) = [t for t in bm.evaluate_targets(report) if '>=' in t['name']]
    assert ratio['value'] == 2.0 and ratio['met'] and ratio['ceiling'] is None
    # A probe at 40 GFLOP/s in every round (10 GFLOP per call).
    group['gemm'] = dict(shape=[1568, 320, 1280], gflop_per_call=10.0, gflops=40.0,
                         times_s=[0.25, 0.25, 0.25])
    (ratio, ) = [t for t in bm.evaluate_targets(report) if '>=' in t['name']]
    rate = 2 * official['gflops'] * official['throughput']  # 16 GFLOP/s
    assert ratio['ceiling'] == pytest.approx(40.0 / rate, abs=1e-3)
    assert f'computes {rate:.0f} GFLOP/s' in ratio['measured']
    assert 'at most 2.50x faster' in ratio['measured']
    # Measured in the rounds: per round, the probe's rate (10 GFLOP per call: 20, 40, 40
    # GFLOP/s) over the model's (2 x 2 GFLOP x 8 per pass: 10, 10, 13.3 GFLOP/s); the median
    # of the round ratios 2, 4 and 3.
    group['gemm'] = dict(shape=[1568, 320, 1280], gflop_per_call=10.0, gflops=25.0,
                         times_s=[0.5, 0.25, 0.25])
    official['times_s'] = [3.2, 3.2, 2.4]
    (ratio, ) = [t for t in bm.evaluate_targets(report) if '>=' in t['name']]
    assert ratio['ceiling'] == pytest.approx(3.0)


def test_gemm_probe_gives_a_rate():
    probe = bm.GemmProbe((64, 32, 48))
    (times, ) = bm.time_interleaved({'gemm': probe}, warmup=1, repeats=3).values()
    assert probe.flops == 2 * 64 * 32 * 48 * probe.products
    assert 0 < probe.rate(min(times)) < 1e5


def test_run_group_report_markdown_and_chart(tmp_path):
    """The runner end to end on tiny cases (timings are not checked, only their presence)."""
    kw = dict(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 32, 64, 128], head_dim=16),
              **DENSE)
    fused = bm.ModelSpec('global', 'tiny', 'uniformer_mm.UniFormer', kw, ours=True)
    explicit = bm.ModelSpec('global_explicit', 'tiny explicit', 'uniformer_mm.UniFormer', kw,
                            ours=True, weights_from='global', attention='explicit')
    missing = bm.ModelSpec('x', 'absent', 'no_such_toolbox.Net')
    cases = [bm.Case(fused, (3, 384, 384)), bm.Case(explicit, (3, 384, 384)),
             bm.Case(fused, (3, 384, 384), 1, bm.Variant('bf16')),
             bm.Case(fused, (3, 384, 384), 1, bm.Variant('bf16', compile='eager')),
             bm.Case(missing, (3, 384, 384))]
    group = bm.Group('dense', 'tiny dense', cases, 'global', warmup=0, repeats=2,
                     profile=('global', ), gemm_probe=(64, 32, 48))
    report = dict(machine=bm.machine_info(), command='test', load_start=[0, 0, 0], groups=[
        bm.run_group(group, verbose=False)])
    g = report['groups'][0]
    assert g['skipped'] and 'no_such_toolbox' in g['skipped'][0]
    assert g['gemm']['shape'] == [64, 32, 48] and g['gemm']['gflops'] > 0
    assert len(g['gemm']['times_s']) == 2  # timed in the rounds, not a case of the report
    assert all(c['name'] != '__gemm_probe__' for c in g['cases'])
    by = {c['name']: c for c in g['cases']}
    base = by['tiny @384x384 fp32']
    assert base['rel_throughput'] == 1 and base['rel_memory'] == 1
    assert len(base['times_s']) == 2 and base['gflops'] > 0 and 'profile' in base
    assert base['profile']['families']['total_ms'] > 0
    assert by['tiny explicit @384x384 fp32']['check']['max_rel_diff'] < 1e-5
    assert by['tiny @384x384 bf16']['check']['max_rel_diff'] < 5e-2
    # A compiled case is checked against eager in its own dtype, and also against fp32.
    compiled = by['tiny @384x384 bf16 +eager']['check']
    assert compiled['reference'] == 'global bf16 eager' and compiled['max_rel_diff'] < 1e-6
    assert compiled['max_rel_diff_fp32'] == pytest.approx(
        compiled['eager_bf16_max_rel_diff_fp32'], rel=1e-3)
    assert bm.compiled_ok(by['tiny @384x384 bf16 +eager'])
    assert by['tiny explicit @384x384 fp32']['torch_peak_mb'] > base['torch_peak_mb']
    report['targets'] = bm.evaluate_targets(report)
    report['light_claim'] = bm.light_claim(report)
    (target, ) = report['targets']
    assert target['met'] == (target['value'] <= 0.5)
    json.dumps(report)  # serialisable
    md = bm.render_markdown(report, 'chart.png')
    assert '| **tiny** | 1x3x384x384 | fp32 |' in md and '![throughput](chart.png)' in md
    bm.write_chart(report, str(tmp_path / 'chart.png'))
    assert (tmp_path / 'chart.png').stat().st_size > 1000


def test_rss_subprocess_measures_a_forward_pass():
    spec = bm.ModelSpec('global', 'tiny', 'uniformer_mm.UniFormer',
                        dict(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 32, 64, 128],
                                       head_dim=16), **DENSE), attention='explicit')
    res = bm.rss_peak_in_subprocess(bm.Case(spec, (3, 512, 512)), timeout=300)
    assert 'error' not in res, res
    # The explicit attention alone holds >= 32 MiB at once (see the test above).
    assert res['rss_peak_mb'] >= 30 and res['rss_base_mb'] > 0
    # SDPA never materialises the attention matrix: the same pass grows far less.
    sdpa = bm.rss_peak_in_subprocess(bm.Case(bm.ModelSpec(
        'global', 'tiny', 'uniformer_mm.UniFormer', spec.kwargs, attention='sdpa'),
        (3, 512, 512)), timeout=300)
    assert 'error' not in sdpa and sdpa['rss_peak_mb'] < res['rss_peak_mb'] / 2, (sdpa, res)


def test_cli_builds_groups_and_renders(tmp_path):
    from tools.analysis.benchmark import cli as tool

    args = tool.parse_args(['--model', 'uniformer_mm.UniFormer3D', '--arch', 'small',
                            '--input', '3x16x224x224', '--compare', '--repeats', '2'])
    (group, ) = tool.build_groups(args)
    keys = [c.spec.key for c in group.cases]
    assert keys[:2] == ['model', 'mmaction_uniformer'] and 'mvit_s' in keys
    assert group.cases[1].spec.weights_from == 'model' and group.repeats == 2

    cfg = tmp_path / 'cfg.py'
    cfg.write_text("default_scope = 'mmdet'\nmodel = dict(type='MaskRCNN', backbone=dict("
                   "type='uniformer_mm.UniFormer', arch='small', final_norm=False, "
                   "out_indices=(0, 1, 2, 3), attn_type='hybrid', init_cfg=dict("
                   "type='Pretrained', checkpoint='absent.pth')))\n")
    (group, ) = tool.build_groups(tool.parse_args(['--config', str(cfg), '--compare',
                                                   '--input', '3x800x1333']))
    main = group.cases[0].spec
    assert main.type == 'uniformer_mm.UniFormer' and 'init_cfg' not in main.kwargs
    assert main.kwargs['attn_type'] == 'hybrid'
    assert {c.spec.key for c in group.cases[1:]} == {'swin_t', 'convnext_t'}

    names = {g.name for g in tool.build_groups(tool.parse_args([]))}
    assert {'video', 'image', 'dense', 'light224', 'light_matched'} <= names
    with pytest.raises(SystemExit):
        tool.build_groups(tool.parse_args(['--groups', 'nope']))
