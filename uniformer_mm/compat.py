"""Runtime fixes for the tested stack (torch 2.14 + mmengine 0.10.7), applied on import.

Each fix is one function, idempotent, and has a test in ``tests/test_compat.py`` that fails
without it. Install-time fixes (mmcv's C++ standard, mmpose without chumpy, mmaction2's missing
``localizers/drn`` package) live in ``tools/env/install.sh`` and are documented in the README.

Fixes:

* :func:`fix_mmengine_weights_only` -- mmengine 0.10.7 calls ``torch.load(filename)`` without
  ``weights_only``; since torch 2.6 that defaults to ``True`` and refuses the message-hub
  ``HistoryBuffer`` and the numpy arrays inside every Runner checkpoint, so ``--resume`` breaks.
  Instead of turning the safety off (``weights_only=False``, mmengine PR #1670), mmengine's
  local-file loader runs under :func:`torch.serialization.safe_globals` with exactly the
  globals that mmengine's own checkpoints contain (:data:`MMENGINE_CHECKPOINT_GLOBALS`).
  Anything else pickled in a file is still refused, with the same
  :class:`~uniformer_mm.checkpoint.CheckpointError` messages as our own loader. mmengine's
  ``http(s)://`` loader calls torch's ``load_url``, whose ``weights_only`` defaults to
  ``False``; it is replaced by one that passes ``weights_only=True``.
* :func:`fix_torchvision_functional_tensor` -- pytorchvideo 0.1.5 (the newest release; what
  mmaction2's ``PytorchVideoWrapper`` RandAugment of the video recipes needs) imports
  ``torchvision.transforms.functional_tensor``, which torchvision 0.17 made private
  (``_functional_tensor``). An import hook placed *after* every other finder provides the old
  name only when the real module does not exist, as a new module whose names are those of the
  private one: torchvision itself is neither imported early nor modified.
"""
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import pickle
import sys
import types
import zipfile
from typing import Any, Callable, List, Optional

import torch

from uniformer_mm.checkpoint.io import (UnsafeCheckpointError, explain_load_error,
                                        mmengine_checkpoint_globals)

__all__ = ['MMENGINE_CHECKPOINT_GLOBALS', 'fix_mmengine_weights_only', 'fix_torchvision_functional_tensor', 'apply_all']


#: Filled by :func:`fix_mmengine_weights_only`; see
#: :func:`uniformer_mm.checkpoint.io.mmengine_checkpoint_globals`.
MMENGINE_CHECKPOINT_GLOBALS: List[Any] = []


def _with_safe_globals(loader: Callable) -> Callable:
    """Wrap an mmengine checkpoint loader so ``torch.load`` accepts the mmengine allow-list."""
    if getattr(loader, '_uniformer_mm_safe', False):
        return loader

    @functools.wraps(loader)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            with torch.serialization.safe_globals(MMENGINE_CHECKPOINT_GLOBALS):
                return loader(*args, **kwargs)
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
            # ``--resume`` / ``load_from`` with a refused or damaged file: the same clear
            # CheckpointError as our own loader instead of torch's unpickler message. Only
            # what torch.load raises for such files; e.g. the KeyError of an unknown
            # ``torchvision://`` name passes through unchanged.
            filename = args[0] if args else kwargs.get('filename', '?')
            err = explain_load_error(str(filename), e, MMENGINE_CHECKPOINT_GLOBALS)
            if err is None:
                raise
            raise err from (None if isinstance(err, UnsafeCheckpointError) else e)

    wrapped._uniformer_mm_safe = True  # type: ignore[attr-defined]
    return wrapped


def _load_url_weights_only(url: str, model_dir: Optional[str] = None, map_location: Any = None,
                           progress: bool = True, check_hash: bool = False,
                           file_name: Optional[str] = None, weights_only: bool = True) -> Any:
    """``torch.hub.load_state_dict_from_url`` with ``weights_only=True``, for mmengine.

    mmengine's ``http(s)://`` loader (``load_from``, ``Pretrained`` init of toolbox modules,
    ``torchvision://`` and ``open-mmlab://`` names) calls torch's ``load_url``, whose
    ``weights_only`` still defaults to ``False``: a downloaded file could run code on load.
    """
    if not weights_only:
        raise ValueError('uniformer_mm never loads checkpoints with weights_only=False')
    return torch.hub.load_state_dict_from_url(url, model_dir=model_dir,
                                              map_location=map_location, progress=progress,
                                              check_hash=check_hash, file_name=file_name,
                                              weights_only=True)


def fix_mmengine_weights_only() -> None:
    """Let mmengine's local checkpoint loader read Runner checkpoints under ``weights_only``.

    The scoped :func:`torch.serialization.safe_globals` keeps torch's default
    ``weights_only=True`` everywhere: only the listed classes are added, and only while
    mmengine reads a checkpoint.
    """
    if not hasattr(torch.serialization, 'safe_globals'):  # torch < 2.5 never needed it
        return
    from mmengine.runner import checkpoint as ckpt
    if not MMENGINE_CHECKPOINT_GLOBALS:
        MMENGINE_CHECKPOINT_GLOBALS.extend(mmengine_checkpoint_globals())
    # CheckpointLoader keeps its own references to the scheme functions, so re-register them.
    schemes = ckpt.CheckpointLoader._schemes
    for prefix, loader in list(schemes.items()):
        if getattr(loader, '__module__', '') == ckpt.__name__:
            schemes[prefix] = _with_safe_globals(loader)
    ckpt.load_from_local = _with_safe_globals(ckpt.load_from_local)
    # load_from_http looks ``load_url`` up in its module at call time.
    ckpt.load_url = _load_url_weights_only


class _ModuleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook serving module ``name`` as a copy of the names of module ``target``.

    It sits at the end of :data:`sys.meta_path`, so it is asked only when no other finder
    knows ``name``: an installed real module always wins.
    """

    def __init__(self, name: str, target: str) -> None:
        self.name = name
        self.target = target

    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        """A spec for :attr:`name` only."""
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        """Default module creation."""
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        """Fill the new module with the public and private names of :attr:`target`."""
        real = importlib.import_module(self.target)
        module.__dict__.update({k: v for k, v in vars(real).items()
                                if not (k.startswith('__') and k.endswith('__'))})


def fix_torchvision_functional_tensor() -> None:
    """Serve ``torchvision.transforms.functional_tensor`` (removed in torchvision 0.17) from
    ``torchvision.transforms._functional_tensor`` for pytorchvideo 0.1.5. Idempotent."""
    name = 'torchvision.transforms.functional_tensor'
    if not any(isinstance(f, _ModuleAlias) and f.name == name for f in sys.meta_path):
        sys.meta_path.append(_ModuleAlias(name, 'torchvision.transforms._functional_tensor'))


def apply_all() -> None:
    """Apply every runtime fix (called when :mod:`uniformer_mm` is imported)."""
    fix_mmengine_weights_only()
    fix_torchvision_functional_tensor()
