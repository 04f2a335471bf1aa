"""Deployment (issue 15): ONNX and TorchScript export with parity checks, and the compiled
inference mode.

Every family is built from its golden fixture (official weights and official outputs, see
``tests/data/GOLDEN.md``) and exported once with dynamic shapes (TorchScript exporter, as
mmdeploy; the torch.export-based one for one family); onnxruntime must then reproduce the
*official* outputs on the fixture's input and PyTorch's outputs on a second input of another
batch and size, each within 1e-4 of the output scale.
"""
import copy
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest
import torch
import torch.nn as nn
from conftest import make_demo_data, max_rel_err
from tiny_archs import DENSE_TINY, LIGHT_TINY, TINY

from uniformer_mm.checkpoint import load_pretrained
from uniformer_mm.deploy import (check_onnx, compile_model, example_inputs, export_model,
                                 export_spec, export_torchscript, linear_kernel,
                                 run_onnxruntime)

REPO = Path(__file__).resolve().parents[1]
DENSE = dict(final_norm=False, out_indices=(0, 1, 2, 3))


def build(scope: str, cfg: dict) -> nn.Module:
    import importlib

    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


def pretrained(path: str) -> dict:
    return dict(type='Pretrained', checkpoint=path)


def initialised(model: nn.Module) -> nn.Module:
    """Run the model's init_cfg (its ``Pretrained`` entries load the official file)."""
    model.init_weights()
    return model.eval()


# fixture -> builder(official file path) of the model that deploys
def _image_classifier(path: str) -> nn.Module:
    model = build('mmpretrain', dict(
        type='ImageClassifier', backbone=dict(type='uniformer_mm.UniFormer', arch=TINY),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    load_pretrained(model, path)  # what tools/test.py does with an official file
    return model


def _whole_model(scope: str, model: str, backbone: str, arch: dict, head_key: str,
                 head: str, **extra) -> Callable[[str], nn.Module]:
    """Builder of a ``model`` whose backbone and head both load the official file through
    their ``init_cfg`` (10 classes, 128 channels: the fixtures' tiny architectures)."""
    def builder(path: str) -> nn.Module:
        return initialised(build(scope, dict(
            type=model, backbone=dict(type=backbone, arch=arch, init_cfg=pretrained(path)),
            **{head_key: dict(type=head, num_classes=10, in_channels=128,
                              init_cfg=pretrained(path))},
            **extra)))
    return builder


_token_labeling = _whole_model('mmpretrain', 'uniformer_mm.TokenLabelClassifier',
                               'uniformer_mm.UniFormer', dict(TINY, layer_scale='all'),
                               'head', 'uniformer_mm.TokenLabelClsHead')
_light_classifier = _whole_model('mmpretrain', 'ImageClassifier', 'uniformer_mm.UniFormerLight',
                                 LIGHT_TINY, 'head', 'uniformer_mm.LightClsHead')
_VIDEO = dict(data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
_recognizer = _whole_model('mmaction', 'Recognizer3D', 'uniformer_mm.UniFormer3D', TINY,
                           'cls_head', 'uniformer_mm.UniFormerClsHead', **_VIDEO)
_light_recognizer = _whole_model('mmaction', 'Recognizer3D', 'uniformer_mm.UniFormerLight3D',
                                 LIGHT_TINY, 'cls_head', 'uniformer_mm.LightVideoHead', **_VIDEO)


def _dense_backbone(path: str) -> nn.Module:
    # Hybrid window attention (window 4): the fixture's 100x76 input gives a 6x4 stage-3 map,
    # padded to 8x4 inside the windows.
    return initialised(build('mmdet', dict(
        type='uniformer_mm.UniFormer', arch=DENSE_TINY, attn_type='hybrid', window_size=4,
        **DENSE,
        init_cfg=dict(pretrained(path), prefix='backbone.'))))


def _dense_light_backbone(path: str) -> nn.Module:
    return initialised(build('mmdet', dict(
        type='uniformer_mm.UniFormerLight', arch=LIGHT_TINY, **DENSE,
        init_cfg=dict(pretrained(path), prefix='backbone.'))))


#: fixture -> (builder, expected family, second input size (another batch too))
FAMILIES: Dict[str, Tuple[Callable[[str], nn.Module], str, Tuple[int, ...]]] = {
    'cls_tiny': (_image_classifier, 'classifier', (96, 64)),
    'tl_tiny_ls': (_token_labeling, 'classifier', (64, 96)),
    'light_tiny': (_light_classifier, 'classifier', (96, 128)),
    'video_tiny': (_recognizer, 'recognizer', (4, 96, 64)),
    'video_light_tiny': (_light_recognizer, 'recognizer', (4, 64, 96)),
    'dense_tiny_hybrid': (_dense_backbone, 'backbone', (132, 100)),
    'dense_light_tiny': (_dense_light_backbone, 'backbone', (160, 96)),
}


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_every_family_exports_with_dynamic_shapes(golden_case, tmp_path, name):
    builder, family, second = FAMILIES[name]
    path, x, expected = golden_case(name)
    model = builder(path)
    spec = export_spec(model)
    assert spec.family == family
    # Traced at batch 2 with the fixture's size; every axis but channels stays dynamic.
    out = str(tmp_path / f'{name}.onnx')
    export_model(spec, example_inputs(spec, x.shape[2:], batch=2), out)

    # onnxruntime reproduces the official outputs (the fixture's input, batch 1 or 2) ...
    got = run_onnxruntime(out, x)
    assert len(got) == len(expected)
    for o, e in zip(got, expected):
        assert max_rel_err(o, e) < 1e-4
    # ... and PyTorch's on another batch and input size.
    (report, ) = check_onnx(spec, out, [example_inputs(spec, second, batch=3, seed=1)])
    assert report['shape'] == (3, x.shape[1]) + second
    assert report['relative'] < 1e-4, report

    import onnx
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta['family'] == family

    # The same part traced to TorchScript: the saved archive is as general.
    ts = str(tmp_path / f'{name}.pt')
    (report, ) = export_torchscript(spec, example_inputs(spec, x.shape[2:], batch=2), ts,
                                   check_inputs=[example_inputs(spec, second, batch=3, seed=1)])
    assert report['shape'] == (3, x.shape[1]) + second
    assert report['relative'] < 1e-4, report
    extra = {'uniformer_mm.json': ''}
    with torch.no_grad():
        got = list(torch.jit.load(ts, map_location='cpu', _extra_files=extra)(x))
    for o, e in zip(got, expected):
        assert max_rel_err(o, e) < 1e-4
    assert json.loads(extra['uniformer_mm.json'])['family'] == family


def test_light_token_selection_keeps_ties_in_onnxruntime(tmp_path):
    """Equal scores: the exported token order is the stable descending sort (lower index
    first), as in PyTorch, so ties select the same tokens."""
    from uniformer_mm.models.hourglass import descending_order

    class Order(nn.Module):
        def forward(self, score: torch.Tensor) -> torch.Tensor:
            return descending_order(score)

    score = torch.tensor([[.1, .3, .3, .2, .3, .1, .0, .2], [.5, .5, .5, .5, .1, .1, .9, .1]])
    expected = torch.sort(score, dim=1, descending=True, stable=True).indices
    assert torch.equal(Order()(score), expected)
    out = str(tmp_path / 'order.onnx')
    torch.onnx.export(Order(), (score, ), out, dynamo=False, input_names=['score'],
                      dynamic_axes={'score': {0: 'batch', 1: 'tokens'}})
    import onnxruntime as ort
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (got, ) = sess.run(None, {sess.get_inputs()[0].name: score.numpy()})
    assert torch.equal(torch.from_numpy(got), expected)


def test_dynamo_exporter_with_dynamic_shapes(golden_case, tmp_path):
    """``torch.onnx.export(dynamo=True)`` (torch.export) writes an equivalent dynamic graph
    (slow: one family, the global-attention classifier)."""
    path, x, (expected, ) = golden_case('cls_tiny')
    spec = export_spec(_image_classifier(path))
    out = str(tmp_path / 'dynamo.onnx')
    export_model(spec, example_inputs(spec, (64, 96)), out, dynamo=True)
    assert max_rel_err(run_onnxruntime(out, x)[0], expected) < 1e-4
    (report, ) = check_onnx(spec, out, [example_inputs(spec, (96, 64), batch=3, seed=1)])
    assert report['relative'] < 1e-4, report


def test_export_spec_parts_and_errors(golden_case):
    path, _, _ = golden_case('cls_tiny')
    model = _image_classifier(path)
    whole = export_spec(model)
    assert (whole.family, whole.output_names, whole.output_ranks) == ('classifier', ['logits'],
                                                                       [2])
    spec = export_spec(model, part='backbone')
    assert (spec.family, spec.output_names, spec.output_ranks) == ('backbone', ['stage4'], [4])
    # A detector's backbone exports as the backbone; its heads are not ours to export.
    detector = build('mmdet', dict(
        type='RPN', backbone=dict(type='uniformer_mm.UniFormer', arch=TINY, **DENSE),
        neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=16, num_outs=5),
        rpn_head=dict(type='RPNHead', in_channels=16, feat_channels=16), train_cfg=None,
        test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=10, min_bbox_size=0,
                               nms=dict(type='nms', iou_threshold=0.7)))))
    dense = export_spec(detector)
    assert dense.family == 'backbone'
    assert dense.output_names == ['stage1', 'stage2', 'stage3', 'stage4']
    with pytest.raises(ValueError, match='backbone only'):
        export_spec(detector, part='model')
    with pytest.raises(ValueError, match='part'):
        export_spec(detector, part='everything')
    with pytest.raises(ValueError, match='height and width'):
        example_inputs(spec, (16, 64))
    with pytest.raises(ValueError, match=r'\(T, H, W\)'):
        example_inputs(export_spec(_recognizer(golden_case('video_tiny')[0])), (64, 64))


# ------------------------------------------------------------------------------- the tool
def run_tool(args: List[str], env: Dict[str, str] = None, timeout: int = 600):
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def cls_config(tmp_path: Path) -> Path:
    """The demo classification config with the architecture of the cls_tiny fixture."""
    cfg = tmp_path / 'cls_golden_arch.py'
    cfg.write_text(f"_base_ = ['{REPO}/configs/demo/cls_uniformer_tiny_shapes.py']\n"
                   "model = dict(backbone=dict(arch=dict(depths=(1, 1, 2, 1), "
                   "embed_dims=(16, 32, 64, 128), head_dim=16)), head=dict(num_classes=10))\n"
                   "data_preprocessor = dict(num_classes=10)\n")
    return cfg


def export_official_cls_file(tmp_path: Path, path: str, out: Path, *args: str):
    """``tools/deployment/export.py`` on the cls_tiny official file (``path``) with
    :func:`cls_config`."""
    return run_tool(['tools/deployment/export.py', str(cls_config(tmp_path)), path, '--out',
                     str(out), *args])


def test_export_tool_on_an_official_file(golden_case, tmp_path):
    path, x, (expected, ) = golden_case('cls_tiny')
    out = tmp_path / 'model.onnx'
    r = export_official_cls_file(tmp_path, path, out, '--shape', '64', '96')
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    lines = [ln for ln in r.stdout.splitlines() if 'max |onnxruntime - PyTorch|' in ln]
    assert len(lines) == 2 and all(ln.endswith('OK') for ln in lines), r.stdout
    assert '(2, 3, 64, 96)' in lines[0] and '(3, 3, 104, 72)' in lines[1]
    # a clean console (issue 16): no third-party deprecation the user cannot act on
    assert 'pkg_resources is deprecated' not in r.stdout + r.stderr, r.stderr
    # The file holds the official model: its logits on the fixture's input.
    assert max_rel_err(run_onnxruntime(str(out), x)[0], expected) < 1e-4
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    # (the preprocessor's float32 buffer, written as JSON)
    assert json.loads(meta['mean']) == pytest.approx([123.675, 116.28, 103.53], rel=1e-6)
    assert json.loads(meta['bgr_to_rgb']) is True


def test_export_tool_fails_beyond_tolerance(golden_case, tmp_path):
    path, _, _ = golden_case('cls_tiny')
    r = export_official_cls_file(tmp_path, path, tmp_path / 'm.onnx', '--shape', '64', '64',
                                 '--static', '--tolerance', '0')
    assert r.returncode == 1 and 'EXCEEDS --tolerance' in r.stdout, r.stdout + r.stderr


def test_export_tool_torchscript(golden_case, tmp_path):
    path, x, (expected, ) = golden_case('cls_tiny')
    out = tmp_path / 'model.pt'  # the format from the suffix
    r = export_official_cls_file(tmp_path, path, out, '--shape', '64', '96')
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    lines = [ln for ln in r.stdout.splitlines() if 'max |TorchScript - PyTorch|' in ln]
    assert len(lines) == 2 and all(ln.endswith('OK') for ln in lines), r.stdout
    with torch.no_grad():
        got = torch.jit.load(str(out), map_location='cpu')(x)[0]
    assert max_rel_err(got, expected) < 1e-4
    bad = export_official_cls_file(tmp_path, path, tmp_path / 'model.bin')
    assert bad.returncode == 2 and 'cannot tell the format' in bad.stderr, bad.stderr


# ------------------------------------------------------------------------- compiled mode
def test_init_model_compile(golden_case, tmp_path):
    """``init_model(..., compile=True)`` returns the model with backbone and neck compiled in
    place (that compiled outputs match is tested below)."""
    from uniformer_mm import apis
    path, _, _ = golden_case('cls_tiny')
    model = apis.init_model(str(cls_config(tmp_path)), path, compile=True)
    assert model.backbone._compiled_call_impl is not None
    assert model.neck._compiled_call_impl is not None
    eager = apis.init_model(str(cls_config(tmp_path)), path)
    assert getattr(eager.backbone, '_compiled_call_impl', None) is None


def test_compile_model_compiles_backbone_and_neck_in_place(golden_case):
    """Which parts are compiled (lazily: nothing is compiled before the first call)."""
    model = _image_classifier(golden_case('cls_tiny')[0]).train()
    keys = list(model.state_dict())
    assert compile_model(model) is model and not model.training
    assert model.backbone._compiled_call_impl is not None
    assert model.neck._compiled_call_impl is not None
    assert getattr(model.head, '_compiled_call_impl', None) is None
    assert list(model.state_dict()) == keys  # checkpoint keys unchanged (no _orig_mod.)


def _stem_weight(backbone: nn.Module) -> nn.Parameter:
    """The first convolution weight of a backbone (folded or pre-packed when frozen)."""
    return next(p for n, p in backbone.named_parameters() if p.dim() >= 4)


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_every_family_compiles_with_frozen_weights(golden_case, name):
    """``compile_model`` on every family reproduces the official outputs (the golden
    fixture) within 1e-4 of their scale, and what runs is the frozen compiled graph: a
    backbone weight changed after the first call changes nothing, where an eager fallback or
    a graph taking the parameters as inputs (``options={'freezing': True}`` alone: dynamo
    reads the global config) would follow it. Float32 linears run oneDNN's matmul. The
    families compile one after another in this process without a dynamo reset: a second,
    different UniFormer shares the blocks' code with the first, and was retraced with
    symbolic sizes and failed before compilation became static."""
    builder, family, second = FAMILIES[name]
    path, x, expected = golden_case(name)
    model = builder(path)
    spec = export_spec(model)
    # Detection backbones see many input sizes: another one, at batch 1 (symbolic sizes broke
    # frozen convolutions there), compiles statically and agrees with eager. One family (the
    # window-padded one): every shape costs a compilation.
    other = (example_inputs(spec, second, batch=1, seed=1) if name == 'dense_tiny_hybrid'
             else None)
    with torch.no_grad():
        ref_other = spec.module(other) if other is not None else None
        compile_model(model)
        got = spec.module(x)
        assert len(got) == len(expected)
        for o, e in zip(got, expected):
            assert max_rel_err(o, e) < 1e-4
        if other is not None:
            for o, e in zip(spec.module(other), ref_other):
                assert max_rel_err(o, e) < 1e-4
        # Float32 linears run oneDNN's packed matmul (linear_kernel), not inductor's MKL one.
        with torch.profiler.profile() as prof:
            spec.module(x)
        ops = {e.key for e in prof.key_averages()}
        assert 'mkldnn::_linear_pointwise' in ops and 'mkl::_mkl_linear' not in ops
        _stem_weight(model if family == 'backbone' else model.backbone).add_(1.)
        for o, first in zip(spec.module(x), got):
            assert torch.equal(o, first)


def _linear_ops(model: nn.Module, x: torch.Tensor) -> set:
    with torch.no_grad(), torch.profiler.profile() as prof:
        model(x)
    return {e.key for e in prof.key_averages()} & {'mkldnn::_linear_pointwise',
                                                     'mkl::_mkl_linear'}


def test_linear_kernel_choice():
    """``linear='mkl'`` leaves inductor's own float32 choice (MKL), the default switches it
    to oneDNN (whose GELU post-op fusion inductor then applies); both equal eager. The patched
    hook is restored after the call, also when it raises."""
    torch.manual_seed(0)
    x = torch.randn(6, 16)
    eager = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8)).eval()
    with torch.no_grad():
        ref = eager(x)
    seen = {}
    for kind in ('mkl', 'onednn'):
        model = compile_model(copy.deepcopy(eager), linear=kind)
        with torch.no_grad():
            assert max_rel_err(model(x), ref) < 1e-5
        seen[kind] = _linear_ops(model, x)
    assert seen == {'mkl': {'mkl::_mkl_linear'}, 'onednn': {'mkldnn::_linear_pointwise'}}

    from torch._inductor.fx_passes.mkldnn_fusion import CpuMkldnnDeviceOp as op
    original = op.pack_linear
    with pytest.raises(RuntimeError, match='inside'):
        with linear_kernel('onednn'):
            assert op.pack_linear is not original
            raise RuntimeError('inside')
    assert op.pack_linear is original
    with pytest.raises(ValueError, match="linear_kernel='cublas'"):
        with linear_kernel('cublas'):
            pass
    with pytest.raises(ValueError, match="linear='blas'"):
        compile_model(eager, linear='blas')


def test_keep_freed_cpu_memory_stops_page_fault_churn():
    """Large blocks allocated and freed in a loop (as a forward pass does) fault in fresh
    pages every round under glibc's defaults (above 32 MiB a block is always mmap-ed), and
    none once freed memory is kept. Each case in a fresh process: the setting is global.
    Two warm-up rounds: with the memory kept, where glibc places the blocks of the first
    round varies, and the heap sometimes grows once more in the second (measured: 1024 to
    12288 faults there in some processes, then none in every later round)."""
    script = (
        'import resource, sys, torch\n'
        'from uniformer_mm.deploy import keep_freed_cpu_memory\n'
        'note = keep_freed_cpu_memory() if sys.argv[1] == "keep" else "-"\n'
        'assert note, "not applied"\n'
        'def rnd():\n'
        '    for mb in (1, 4, 16, 48):\n'
        '        torch.empty(mb << 18).fill_(1.)\n'
        'rnd()\n'
        'rnd()\n'
        'r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n'
        'for _ in range(3):\n'
        '    rnd()\n'
        'print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)\n')
    faults = {}
    for mode in ('default', 'keep'):
        env = {k: v for k, v in os.environ.items() if not k.startswith('MALLOC_')}
        r = subprocess.run([sys.executable, '-c', script, mode], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        faults[mode] = int(r.stdout.split()[-1])
    # 3 rounds x 48 MiB = 36864 pages of 4 KiB at least under the defaults.
    assert faults['default'] > 30000 and faults['keep'] < 100, faults


def test_keep_freed_cpu_memory_elsewhere_changes_nothing(monkeypatch):
    import platform

    from uniformer_mm.deploy import allocator
    monkeypatch.setattr(allocator, '_applied', None)
    monkeypatch.setattr(platform, 'libc_ver', lambda *a, **k: ('musl', '1.2'))
    assert allocator.keep_freed_cpu_memory() is None


def test_compile_model_refuses_frozen_symbolic_sizes():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    for dynamic in (True, None):
        with pytest.raises(ValueError, match=f'dynamic={dynamic}.*dynamic=False'):
            compile_model(model, dynamic=dynamic)
    assert getattr(model, '_compiled_call_impl', None) is None
    compile_model(model, freezing=False, dynamic=True)  # allowed: nothing frozen


def test_test_py_compile(tmp_path, golden_case):
    """``tools/test.py --compile`` (inductor, frozen weights) predicts as the eager model does:
    the official model's scores within 1e-4. The tool end to end with one family (every family
    compiles in ``test_every_family_compiles_with_frozen_weights``)."""
    data = make_demo_data(tmp_path / 'data', ('cls', ))
    cfg = cls_config(tmp_path)
    ckpt, _, _ = golden_case('cls_tiny')
    out = tmp_path / 'preds.pkl'
    r = run_tool(['tools/test.py', str(cfg), ckpt, '--work-dir', str(tmp_path / 'wd'),
                  '--out', str(out), '--compile'], env=dict(UNIFORMER_MM_DEMO_DATA=str(data)))
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    assert 'compiled' in r.stdout
    assert 'glibc malloc keeps freed memory' in r.stdout  # on CPU, by default
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer
    conf = Config.fromfile(str(cfg))
    model = build('mmpretrain', dict(conf.model, data_preprocessor=conf.data_preprocessor))
    load_pretrained(model, ckpt)
    model._config = conf
    inferencer = ImageClassificationInferencer(model=model, pretrained=False)
    for pred in preds[:4]:
        ref = inferencer(pred['img_path'])[0]
        assert max_rel_err(pred['pred_score'], torch.as_tensor(ref['pred_scores'])) < 1e-4
