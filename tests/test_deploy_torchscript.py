"""TorchScript export (``tools/deployment/export.py --format torchscript``) and the compiled
inference mode of the API (``init_model(..., compile=True)``).

Each family is built from its golden fixture (official weights and outputs), traced once at
the fixture's size with batch 2, saved and loaded back: it must reproduce the official outputs
and PyTorch's on another batch and size, within 1e-4 of the output scale.
"""
import json

import pytest
import torch
from conftest import max_rel_err
from test_deploy import FAMILIES, cls_config, run_tool

from uniformer_mm.deploy import example_inputs, export_spec, export_torchscript


def run_torchscript(path: str, x: torch.Tensor) -> list:
    with torch.no_grad():
        return list(torch.jit.load(path, map_location='cpu')(x))


@pytest.mark.parametrize('name', sorted(FAMILIES))
def test_every_family_exports_to_torchscript(golden_case, tmp_path, name):
    builder, family, second = FAMILIES[name]
    path, x, expected = golden_case(name)
    spec = export_spec(builder(path))
    out = str(tmp_path / f'{name}.pt')
    (report, ) = export_torchscript(spec, example_inputs(spec, x.shape[2:], batch=2), out,
                                   check_inputs=[example_inputs(spec, second, batch=3, seed=1)])
    assert report['shape'] == (3, x.shape[1]) + second
    assert report['relative'] < 1e-4, report
    got = run_torchscript(out, x)
    assert len(got) == len(expected)
    for o, e in zip(got, expected):
        assert max_rel_err(o, e) < 1e-4
    extra = {'uniformer_mm.json': ''}
    torch.jit.load(out, _extra_files=extra)
    assert json.loads(extra['uniformer_mm.json'])['family'] == family


def test_export_tool_torchscript(golden_case, tmp_path):
    path, x, (expected, ) = golden_case('cls_tiny')
    out = tmp_path / 'model.pt'  # the format from the suffix
    r = run_tool(['tools/deployment/export.py', str(cls_config(tmp_path)), path, '--out',
                  str(out), '--shape', '64', '96'])
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    lines = [ln for ln in r.stdout.splitlines() if 'max |TorchScript - PyTorch|' in ln]
    assert len(lines) == 2 and all(ln.endswith('OK') for ln in lines), r.stdout
    assert max_rel_err(run_torchscript(str(out), x)[0], expected) < 1e-4
    bad = run_tool(['tools/deployment/export.py', str(cls_config(tmp_path)), path, '--out',
                    str(tmp_path / 'model.bin')])
    assert bad.returncode == 2 and 'cannot tell the format' in bad.stderr, bad.stderr


def test_init_model_compile(golden_case, tmp_path):
    """``init_model(..., compile=True)`` returns the model with backbone and neck compiled in
    place (what is compiled, and that compiled outputs match, is tested in test_deploy)."""
    from uniformer_mm import apis
    path, _, _ = golden_case('cls_tiny')
    model = apis.init_model(str(cls_config(tmp_path)), path, compile=True)
    assert model.backbone._compiled_call_impl is not None
    assert model.neck._compiled_call_impl is not None
    eager = apis.init_model(str(cls_config(tmp_path)), path)
    assert getattr(eager.backbone, '_compiled_call_impl', None) is None
