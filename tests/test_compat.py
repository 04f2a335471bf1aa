"""Runtime fixes of :mod:`uniformer_mm.compat` and the lazy-registry error path."""
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel

import uniformer_mm  # noqa: F401  (applies the fixes)
from uniformer_mm import compat
from uniformer_mm.registry import MissingToolboxError, Registry, register_lazy


class ToyModel(BaseModel):
    """The smallest mmengine model: ``forward(inputs, data_samples, mode)``."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out - torch.stack(data_samples)).pow(2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    """Eight fixed (input, target) pairs."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(8, 2, generator=g)
        self.y = torch.randn(8, 1, generator=g)

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.y[i])


def make_runner(work_dir, max_epochs, resume=False):
    from mmengine.runner import Runner
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler',
                                                                 shuffle=True),
                              batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=2),
                         dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=4)],
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmengine',
        experiment_name=f'toy_{max_epochs}_{resume}',
    )


def test_runner_checkpoint_resumes_under_default_weights_only(tmp_path):
    runner = make_runner(tmp_path, max_epochs=2)
    runner.train()
    ckpt = tmp_path / 'epoch_2.pth'
    assert ckpt.exists()

    # The file really needs the fix: torch's default loader refuses it on its own ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)
    # ... and it loads with exactly the mmengine allow-list.
    with torch.serialization.safe_globals(compat.MMENGINE_CHECKPOINT_GLOBALS):
        saved = torch.load(ckpt)
    assert 'log_scalars' in saved['message_hub']

    resumed = make_runner(tmp_path, max_epochs=4, resume=True)
    resumed.load_or_resume()
    assert resumed.epoch == 2 and resumed.iter == 4
    # optimizer state (AdamW moments) and scheduler state came back
    state = resumed.optim_wrapper.optimizer.state_dict()
    assert len(state['state']) == 2 and 'exp_avg' in state['state'][0]
    torch.testing.assert_close(state['state'][0]['exp_avg'],
                               saved['optimizer']['state'][0]['exp_avg'])
    assert [s.last_step for s in resumed.param_schedulers] == [
        s['last_step'] for s in saved['param_schedulers']]
    # message hub: the logged loss history is restored
    hub = resumed.message_hub
    assert 'train/loss' in hub.log_scalars
    assert hub.log_scalars['train/loss'].data[0].size > 0
    resumed.train()  # and training continues to the end
    assert resumed.epoch == 4


class Arbitrary:
    """Stands for any object a checkpoint could pickle (here: a class from a test module)."""

    def __reduce__(self):
        # Executed only if an unpickler trusts the file: it would create the marker file.
        return (open, (os.environ['UNIFORMER_MM_MARKER'], 'w'))


def test_checkpoint_with_arbitrary_pickled_object_is_refused(tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'executed'
    monkeypatch.setenv('UNIFORMER_MM_MARKER', str(marker))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {'x': Arbitrary()}}, path)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists(), 'the pickled call must never run'


def test_allow_list_is_exactly_mmengine_and_numpy():
    from mmengine.logging.history_buffer import HistoryBuffer
    names = set()
    for g in compat.MMENGINE_CHECKPOINT_GLOBALS:
        names.add(g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}')
    others = {n for n in names if not n.startswith('numpy')}
    assert others == {f'{HistoryBuffer.__module__}.HistoryBuffer', 'builtins.getattr'}, others
    # `getattr` is our restricted stand-in, never the builtin
    assert getattr not in compat.MMENGINE_CHECKPOINT_GLOBALS
    assert all(g[0] is not getattr for g in compat.MMENGINE_CHECKPOINT_GLOBALS
               if isinstance(g, tuple))


def test_restricted_getattr_refuses_other_attributes(tmp_path):
    """A crafted file may not use the allowed `getattr` to reach anything else."""
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint

    class Reach:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'reach.pth'
    torch.save({'meta': Reach()}, path)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')


def test_fix_is_idempotent():
    from mmengine.runner import checkpoint as ckpt
    before = dict(ckpt.CheckpointLoader._schemes)
    compat.apply_all()
    assert dict(ckpt.CheckpointLoader._schemes) == before


def test_lazy_type_names_missing_toolbox():
    reg = Registry('model', scope='uniformer_mm_test_lazy')
    register_lazy(reg, 'NeedsToolbox', 'not_a_toolbox_xyz.models:Thing', 'not_a_toolbox_xyz')
    with pytest.raises(MissingToolboxError, match=r'NeedsToolbox.*not_a_toolbox_xyz.*pip install'):
        reg.build(dict(type='NeedsToolbox'))


# ---------------------------------------------------------------------------------------------
# pytorchvideo 0.1.5 on torchvision >= 0.17
# ---------------------------------------------------------------------------------------------
_FT = 'torchvision.transforms.functional_tensor'


def _forget(*prefixes: str) -> dict:
    """Remove modules from ``sys.modules`` (returned, to be put back)."""
    import sys
    gone = {k: v for k, v in sys.modules.items() if k.startswith(prefixes)}
    for k in gone:
        del sys.modules[k]
    return gone


def test_pytorchvideo_imports_only_with_the_torchvision_alias(monkeypatch):
    """Without the hook, pytorchvideo's transforms do not import on this torchvision; with it
    they do, and the alias carries the private module's functions."""
    import sys
    import importlib.util
    if importlib.util.find_spec('torchvision.transforms._functional_tensor') is None:
        pytest.skip('this torchvision still has the public functional_tensor')  # pragma: no cover
    saved = _forget('pytorchvideo', _FT)
    try:
        monkeypatch.setattr(sys, 'meta_path',
                            [f for f in sys.meta_path if not isinstance(f, compat._ModuleAlias)])
        with pytest.raises(ModuleNotFoundError, match='functional_tensor'):
            import pytorchvideo.transforms  # noqa: F401
        _forget('pytorchvideo', _FT)
        monkeypatch.undo()
        import pytorchvideo.transforms  # noqa: F401,F811
        import torchvision.transforms._functional_tensor as private
        alias = sys.modules[_FT]
        assert alias is not private and alias.affine is private.affine
        assert private.__name__ == 'torchvision.transforms._functional_tensor'  # untouched
    finally:
        _forget('pytorchvideo', _FT)
        sys.modules.update(saved)


def test_module_alias_never_shadows_a_real_module():
    import json
    import sys
    hook = compat._ModuleAlias('json', 'pickle')
    sys.meta_path.append(hook)
    saved = _forget('json')
    try:
        import json as again
        assert hasattr(again, 'dumps') and not hasattr(again, 'Unpickler')
    finally:
        sys.meta_path.remove(hook)
        sys.modules.update(saved)
    assert json.dumps([1]) == '[1]'


def test_video_randaugment_runs_on_a_clip():
    """mmaction2's PytorchVideoWrapper(RandAugment) -- the video recipes' augmentation -- runs
    and changes the frames consistently (one op set for the whole clip)."""
    import numpy as np
    from mmaction.datasets.transforms import PytorchVideoWrapper
    torch.manual_seed(0)
    wrapper = PytorchVideoWrapper(op='RandAugment', magnitude=7, num_layers=4)
    frame = np.random.RandomState(0).randint(0, 256, (32, 40, 3), dtype=np.uint8)
    imgs = [frame.copy() for _ in range(4)]
    out = None
    for _ in range(5):  # RandAugment applies each op with probability 0.5
        out = wrapper.transform(dict(imgs=[x.copy() for x in imgs]))['imgs']
        if any((o != frame).any() for o in out):
            break
    assert len(out) == 4 and out[0].shape == frame.shape and out[0].dtype == np.uint8
    assert any((o != frame).any() for o in out), 'RandAugment never changed the clip'
    # identical input frames stay identical: the same augmentation for every frame
    assert all(np.array_equal(out[0], o) for o in out[1:])


def test_run_after_import_once_per_callback(tmp_path, monkeypatch):
    """One hook per module; the same callback registered again (as a re-imported package
    does, with a new function object) runs once, and hooks never ask each other in circles
    (that recursed when the package was imported twice)."""
    import importlib
    import sys

    from uniformer_mm.compat import run_after_import
    (tmp_path / 'umm_after_import_probe.py').write_text('VALUE = 1\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []

    def make():
        def callback(module):
            calls.append(module.VALUE)
        return callback

    try:
        run_after_import('umm_after_import_probe', make())
        run_after_import('umm_after_import_probe', make())
        hooks = [f for f in sys.meta_path
                 if getattr(f, 'after_import_of', None) == 'umm_after_import_probe']
        assert len(hooks) == 1
        importlib.import_module('umm_after_import_probe')
        assert calls == [1]
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path
                            if getattr(f, 'after_import_of', None) != 'umm_after_import_probe']
        sys.modules.pop('umm_after_import_probe', None)
