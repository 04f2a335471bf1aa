"""The one interface of the UniFormer backbones, and the package's layering.

* Every backbone accepts the same common arguments (mmpretrain's names) and returns a tuple
  with one output per ``out_indices`` entry; ``frozen_stages`` means the same everywhere.
* Every module of the package imports on its own, first, in a fresh package state (no import
  cycle), and no module of ``models/`` or ``checkpoint/`` grows beyond ~500 lines.
"""
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_archs import LIGHT_TINY, TINY

from uniformer_mm.models.backbones import (BaseUniFormer, UniFormer, UniFormer3D,
                                           UniFormerLight, UniFormerLight3D)

ROOT = Path(__file__).parents[1]
COMMON = ('arch', 'in_channels', 'out_indices', 'final_norm', 'drop_path_rate',
          'frozen_stages', 'norm_eval', 'with_cp', 'init_cfg')
# (class, tiny arch, input) -- the 3D families take clips.
BACKBONES = [
    (UniFormer, TINY, (1, 3, 64, 64)),
    (UniFormer3D, TINY, (1, 3, 4, 64, 64)),
    (UniFormerLight, LIGHT_TINY, (1, 3, 64, 64)),
    (UniFormerLight3D, LIGHT_TINY, (1, 3, 4, 64, 64)),
]
IDS = [b[0].__name__ for b in BACKBONES]


@pytest.mark.parametrize('cls,arch,shape', BACKBONES, ids=IDS)
def test_common_arguments_and_tuple_output(cls, arch, shape):
    assert issubclass(cls, BaseUniFormer)
    params = inspect.signature(cls.__init__).parameters
    # UniFormerLight3D forwards the rest to UniFormerLight through **kwargs.
    own = params if cls is not UniFormerLight3D else inspect.signature(
        UniFormerLight.__init__).parameters
    assert set(COMMON) <= set(params) | set(own), cls
    model = cls(arch=dict(arch), in_channels=3, out_indices=(3, ), final_norm=True,
                drop_path_rate=0.1, frozen_stages=-1, norm_eval=False, with_cp=False,
                init_cfg=None).eval()
    with torch.no_grad():
        outs = model(torch.rand(shape))
    assert isinstance(outs, tuple) and len(outs) == 1
    # The same arguments are checked the same way in every family.
    for bad, match in [(dict(out_indices=(4, )), 'out_indices'),
                       (dict(frozen_stages=4), r'frozen_stages must be an int in \[-1, 3\]'),
                       (dict(with_cp=(1, 2)), 'with_cp must be'),
                       (dict(arch='nope'), f'unknown {cls.__name__} arch')]:
        with pytest.raises(ValueError, match=match):
            cls(**{'arch': dict(arch), **bad})


@pytest.mark.parametrize('cls,arch,shape', BACKBONES, ids=IDS)
def test_frozen_stages_has_one_meaning(cls, arch, shape):
    # mmpretrain's Swin convention: k freezes the stem and stages 0..k.
    model = cls(arch=dict(arch), frozen_stages=1).train()
    for name, p in model.named_parameters():
        top = name.split('.')[0]
        stage = int(top[-1]) if top[-1].isdigit() else None
        frozen = stage is not None and stage <= 2  # patch_embed1-2, blocks1-2, norm1-2
        assert p.requires_grad is not frozen, name
    assert not model.blocks2.training and model.blocks3.training


@pytest.mark.parametrize('cls,arch,shape', BACKBONES, ids=IDS)
def test_stage_outputs_in_requested_order(cls, arch, shape):
    if cls is UniFormerLight3D:
        pytest.skip('video classification only: the output is the (pooled, cls_token) pair')
    kwargs = dict(out_indices=(2, 0))
    if cls is not UniFormer3D:
        kwargs['final_norm'] = False  # dense: a LayerNorm per output
    model = cls(arch=dict(arch), **kwargs).eval()
    with torch.no_grad():
        outs = model(torch.rand(shape))
    assert isinstance(outs, tuple)
    assert [o.shape[1] for o in outs] == [arch['embed_dims'][2], arch['embed_dims'][0]]


def _package_modules():
    pkg = ROOT / 'uniformer_mm'
    return sorted('.'.join(p.relative_to(ROOT).with_suffix('').parts).replace('.__init__', '')
                  for p in pkg.rglob('*.py'))


def test_every_module_imports_first_without_a_cycle():
    """Import each module with no uniformer_mm module loaded before it (one interpreter,
    the package state reset in between): a cycle shows as an ImportError of a partially
    initialised module."""
    script = (
        'import importlib, sys\n'
        'import mmengine.registry\n'
        'failed = []\n'
        f'for name in {_package_modules()!r}:\n'
        '    for key in [k for k in sys.modules if k.split(".")[0] == "uniformer_mm"]:\n'
        '        del sys.modules[key]\n'
        '    for reg in vars(mmengine.registry).values():  # our registry nodes, too\n'
        '        if isinstance(reg, mmengine.registry.Registry):\n'
        '            reg._children.pop("uniformer_mm", None)\n'
        '    try:\n'
        '        importlib.import_module(name)\n'
        '    except ImportError as e:\n'
        '        failed.append(f"{name}: {e}")\n'
        'print("\\n".join(failed))\n'
        'sys.exit(1 if failed else 0)\n')
    res = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize('folder', ['models', 'checkpoint'])
def test_modules_stay_small(folder):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / 'uniformer_mm' / folder).rglob('*.py')
            if (n := len(p.read_text().splitlines())) > 520}
    assert not long, long
