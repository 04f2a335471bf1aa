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
  Official UniFormer release files read by these loaders (``load_from``, a toolbox model's
  ``Pretrained`` init, ``ImageClassificationInferencer(..., pretrained=FILE)``) are converted
  on the fly or, for video files whose class order needs the config, refused with the
  converter command (:func:`uniformer_mm.checkpoint.release.convert_for_mmengine`); a
  UniFormer file of another architecture than the model's is refused before mmengine's
  non-strict load would leave those weights random
  (:func:`uniformer_mm.checkpoint.release.check_mmengine_load`).
* :func:`fix_torchvision_functional_tensor` -- pytorchvideo 0.1.5 (the newest release; what
  mmaction2's ``PytorchVideoWrapper`` RandAugment of the video recipes needs) imports
  ``torchvision.transforms.functional_tensor``, which torchvision 0.17 made private
  (``_functional_tensor``). An import hook placed *after* every other finder provides the old
  name only when the real module does not exist, as a new module whose names are those of the
  private one: torchvision itself is neither imported early nor modified.
* :func:`fix_pipeline_errors_name_the_file` -- a transform failing on a zero-byte image or a
  damaged video raises an error from OpenCV / decord that does not name the file; mmengine's
  ``Compose`` re-raises it as :class:`~uniformer_mm.data_errors.DataSampleError` naming
  the sample's files.
"""
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import pickle
import sys
import types
import zipfile
from typing import Any, Callable, List, Optional

import torch

from uniformer_mm.checkpoint.io import (UnsafeCheckpointError, explain_load_error,
                                        mmengine_checkpoint_globals)

__all__ = ['MMENGINE_CHECKPOINT_GLOBALS', 'fix_mmengine_weights_only', 'run_after_import',
           'fix_torchvision_functional_tensor', 'fix_pipeline_errors_name_the_file', 'apply_all']


#: Filled by :func:`fix_mmengine_weights_only`; see
#: :func:`uniformer_mm.checkpoint.io.mmengine_checkpoint_globals`.
MMENGINE_CHECKPOINT_GLOBALS: List[Any] = []


def _with_safe_globals(loader: Callable) -> Callable:
    """Wrap an mmengine checkpoint loader so ``torch.load`` accepts the mmengine allow-list."""
    if getattr(loader, '_uniformer_mm_safe', False):
        return loader

    @functools.wraps(loader)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        filename = args[0] if args else kwargs.get('filename', '?')
        if isinstance(filename, str) and '://' not in filename:
            # Before anything is read: a directory or FIFO named as such (not "can not be
            # found"; a FIFO would block), a missing official file with its download link
            # (mmpretrain's pretrained=True, load_from), an archive declaring far more than
            # it holds.
            from uniformer_mm.checkpoint.io import _not_a_file, check_archive
            if not os.path.isfile(filename):
                raise _not_a_file(filename)
            check_archive(filename)
        try:
            with torch.serialization.safe_globals(MMENGINE_CHECKPOINT_GLOBALS):
                ckpt = loader(*args, **kwargs)
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile,
                IndexError) as e:
            # ``--resume`` / ``load_from`` with a refused or damaged file: the same clear
            # CheckpointError as our own loader instead of torch's unpickler message. Only
            # what torch.load raises for such files; e.g. the KeyError of an unknown
            # ``torchvision://`` name passes through unchanged.
            err = explain_load_error(str(filename), e, MMENGINE_CHECKPOINT_GLOBALS)
            if err is None:
                raise
            raise err from (None if isinstance(err, UnsafeCheckpointError) else e)
        # Official release files in the layout mmengine's callers expect, or refused.
        from uniformer_mm.checkpoint.release import convert_for_mmengine
        return convert_for_mmengine(ckpt, str(filename))

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
    # Downloaded under a name unique to the whole URL (torch's own cache is keyed by the file
    # name only: http://a/model.pth and http://b/model.pth would share one file), checking the
    # sha256 prefix a name carries (``name-<hex>.pth``), and bounded like local files before
    # torch reads it from the cache.
    from uniformer_mm.checkpoint.io import check_archive, download_checkpoint
    cached = download_checkpoint(url, model_dir)
    check_archive(cached)
    return torch.hub.load_state_dict_from_url(url, model_dir=os.path.dirname(cached),
                                              map_location=map_location, progress=progress,
                                              check_hash=False,
                                              file_name=os.path.basename(cached),
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
    # The Runner imported the function into its own namespace.
    from mmengine.runner import runner
    for module in (ckpt, runner):
        module._load_checkpoint_to_model = _arch_checked(module._load_checkpoint_to_model)


def _arch_checked(load: Callable) -> Callable:
    """Wrap mmengine's ``_load_checkpoint_to_model`` so that a UniFormer checkpoint of another
    architecture than the model's is refused before the non-strict load (which would leave
    the mismatched weights random): see
    :func:`uniformer_mm.checkpoint.release.check_mmengine_load`."""
    if getattr(load, '_uniformer_mm_safe', False):
        return load

    @functools.wraps(load)
    def wrapped(model: Any, checkpoint: Any, *args: Any, **kwargs: Any) -> Any:
        from uniformer_mm.checkpoint.release import check_mmengine_load
        check_mmengine_load(model, checkpoint)
        return load(model, checkpoint, *args, **kwargs)

    wrapped._uniformer_mm_safe = True  # type: ignore[attr-defined]
    return wrapped


class _OneModuleFinder(importlib.abc.MetaPathFinder):
    """An import hook concerned with the one module :attr:`name`."""

    name: str

    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        """:meth:`_spec` for :attr:`name`; None (not this hook's business) for others."""
        return self._spec(fullname, path, target) if fullname == self.name else None

    def _spec(self, fullname: str, path: Any, target: Any
              ) -> Optional[importlib.machinery.ModuleSpec]:
        raise NotImplementedError


class _ModuleAlias(_OneModuleFinder, importlib.abc.Loader):
    """Import hook serving module ``name`` as a copy of the names of module ``target``.

    It sits at the end of :data:`sys.meta_path`, so it is asked only when no other finder
    knows ``name``: an installed real module always wins.
    """

    def __init__(self, name: str, target: str) -> None:
        self.name = name
        self.target = target

    def _spec(self, fullname: str, path: Any, target: Any
              ) -> Optional[importlib.machinery.ModuleSpec]:
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        """Default module creation."""
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        """Fill the new module with the public and private names of :attr:`target`."""
        real = importlib.import_module(self.target)
        module.__dict__.update({k: v for k, v in vars(real).items()
                                if not (k.startswith('__') and k.endswith('__'))})


class _RunAfterImport(_OneModuleFinder):
    """Import hook calling the :attr:`callbacks` once module ``name`` has been executed.

    It sits first in :data:`sys.meta_path` but finds nothing itself: it asks the other
    finders for the real spec and wraps only its loader's ``exec_module``. There is one hook
    per module name, found again by its :attr:`after_import_of` attribute (not by class: a
    re-imported package has a new class) so that hooks never ask each other in circles.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.after_import_of = name
        self.callbacks: List[Callable[[types.ModuleType], None]] = []

    def _spec(self, fullname: str, path: Any, target: Any
              ) -> Optional[importlib.machinery.ModuleSpec]:
        # The real spec of the module, its loader wrapped.
        for finder in sys.meta_path:
            if hasattr(finder, 'after_import_of') or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _CallbackLoader(spec.loader, self._run)
                return spec
        return None

    def _run(self, module: types.ModuleType) -> None:
        for callback in list(self.callbacks):
            callback(module)


class _CallbackLoader(importlib.abc.Loader):
    """A module loader that calls ``callback(module)`` after the real loader executed it."""

    def __init__(self, loader: Any, callback: Callable[[types.ModuleType], None]) -> None:
        self._loader = loader
        self._callback = callback

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... of the real one
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        """The real loader's module creation."""
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        """Execute the module, then run the callback."""
        self._loader.exec_module(module)
        self._callback(module)


def run_after_import(name: str, callback: Callable[[types.ModuleType], None]) -> None:
    """Call ``callback(module)`` when module ``name`` is imported, or now if it already is.

    Used for integration that needs a heavy toolbox module without importing it early
    (``import uniformer_mm`` imports no toolbox). Idempotent per ``(name, callback)``, where
    callbacks are the same when their module and qualified name are.
    """
    if name in sys.modules:
        callback(sys.modules[name])
        return
    hook = next((f for f in sys.meta_path if getattr(f, 'after_import_of', None) == name), None)
    if hook is None:
        hook = _RunAfterImport(name)
        sys.meta_path.insert(0, hook)
    # The same function again (also from a re-imported package) replaces the old one.
    key = (getattr(callback, '__module__', None), getattr(callback, '__qualname__', None))
    hook.callbacks[:] = [c for c in hook.callbacks  # type: ignore[attr-defined]
                         if (getattr(c, '__module__', None),
                             getattr(c, '__qualname__', None)) != key] + [callback]


def fix_torchvision_functional_tensor() -> None:
    """Serve ``torchvision.transforms.functional_tensor`` (removed in torchvision 0.17) from
    ``torchvision.transforms._functional_tensor`` for pytorchvideo 0.1.5. Idempotent."""
    name = 'torchvision.transforms.functional_tensor'
    if not any(isinstance(f, _ModuleAlias) and f.name == name for f in sys.meta_path):
        sys.meta_path.append(_ModuleAlias(name, 'torchvision.transforms._functional_tensor'))


def fix_pipeline_errors_name_the_file() -> None:
    """Make mmengine's data pipelines (``mmengine.dataset.Compose``, used by every toolbox's
    data sets) name the sample's files when a transform fails; see
    :mod:`uniformer_mm.data_errors`. Idempotent."""
    from mmengine.dataset import Compose

    from uniformer_mm.data_errors import name_failing_samples
    name_failing_samples(Compose)


def apply_all() -> None:
    """Apply every runtime fix (called when :mod:`uniformer_mm` is imported)."""
    fix_mmengine_weights_only()
    fix_torchvision_functional_tensor()
    fix_pipeline_errors_name_the_file()
