"""The environment and the registry wiring: toolboxes import, scoped types resolve.

Each check runs in a fresh interpreter, so nothing imported by other tests (or by pytest
plugins) can make it pass by accident: "no custom_imports, no PYTHONPATH" is tested as users
meet it.
"""
import subprocess
import sys
import textwrap

import pytest

TOOLBOX_MODELS = ['mmpretrain.models', 'mmdet.models', 'mmseg.models', 'mmpose.models',
                  'mmaction.models']
# default scope -> the registry module whose MODELS a config of that toolbox builds from
SCOPES = {'mmpretrain': 'mmpretrain', 'mmdet': 'mmdet', 'mmseg': 'mmseg', 'mmpose': 'mmpose',
          'mmaction': 'mmaction'}


def run_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (same venv) and return the completed process."""
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


def check(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f'stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}'
    return proc.stdout


@pytest.mark.parametrize('module', TOOLBOX_MODELS)
def test_toolbox_models_import(module):
    # mmaction.models needs the drn package the PyPI wheel lacks (restored by the installer);
    # mmseg.models needs ftfy/regex; mmpose.models needs xtcocotools; all need mmcv's ops.
    check(run_python(f'import {module}'))


def test_mmcv_ops_compiled():
    out = check(run_python("""
        import torch
        from mmcv.ops import nms, roi_align
        boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
        scores = torch.tensor([0.9, 0.8, 0.7])
        dets, keep = nms(boxes, scores, 0.5)
        print(keep.tolist())
    """))
    assert out.strip() == '[0, 2]'


def test_import_uniformer_mm_imports_no_toolbox():
    out = check(run_python("""
        import sys
        import uniformer_mm
        print(sorted(m for m in ('mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction')
                     if m in sys.modules))
    """))
    assert out.strip() == '[]'


@pytest.mark.parametrize('scope', sorted(SCOPES))
def test_scoped_type_resolves_from_toolbox_scope(scope):
    """A toolbox config names ``uniformer_mm.UniFormer`` with no custom_imports."""
    out = check(run_python(f"""
        import sys
        from mmengine.registry import init_default_scope
        from {SCOPES[scope]}.registry import MODELS
        init_default_scope({scope!r})
        MODELS.import_from_location()  # what the toolbox imports by itself
        toolboxes = ('mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction')
        before = {{m for m in toolboxes if m in sys.modules}}
        assert 'uniformer_mm' not in sys.modules, 'the test must start without uniformer_mm'
        backbone = MODELS.build(dict(type='uniformer_mm.UniFormer', arch='small'))
        print(type(backbone).__module__, type(backbone).__name__)
        print(sorted({{m for m in toolboxes if m in sys.modules}} - before))
    """))
    lines = out.strip().splitlines()
    assert lines[-2] == 'uniformer_mm.models.backbones.uniformer UniFormer'
    # building our backbone must not drag other toolboxes in (mmaction2 itself imports
    # mmdet/mmpretrain when it loads its models; that is not ours to count)
    assert lines[-1] == '[]'


def test_collect_env_prints_the_stack():
    import pathlib
    tool = pathlib.Path(__file__).parents[1] / 'tools' / 'misc' / 'collect_env.py'
    proc = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True,
                          timeout=300)
    out = check(proc)
    for key in ('PyTorch', 'MMCV', 'MMCV ops: compiled', 'MMDetection', 'MMSegmentation',
                'MMPose', 'MMAction2', 'MMPretrain', 'uniformer_mm', 'CUDA available'):
        assert key in out, out
    assert 'not available (' not in out, out  # a package failed to import
