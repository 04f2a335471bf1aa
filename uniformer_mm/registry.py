"""The registries of uniformer_mm: children of mmengine's root registries, scope ``uniformer_mm``.

Any OpenMMLab 2.0 toolbox resolves ``type='uniformer_mm.X'`` through them without
``custom_imports``: mmengine's :meth:`Registry.get` sees the ``uniformer_mm.`` scope, imports
this module (``import_module(f'{scope}.registry')``), finds our node under the shared root and
asks it for ``X``; our node then imports its ``locations``, which register everything.

Types that subclass a toolbox's classes (an mmpretrain head, an mmaction2 recognizer, ...) are
registered *lazily* with :func:`register_lazy`, so importing ``uniformer_mm`` (or building a
plain backbone from an mmdet config) never imports an unrelated toolbox, and a missing toolbox
is reported by name with the command that installs it.
"""
import importlib
from typing import Any, Dict, Optional

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS

__all__ = [
    'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'TRANSFORMS', 'DATASETS', 'HOOKS', 'LOOPS',
    'TOOLBOXES', 'MissingToolboxError', 'register_lazy', 'require_toolbox'
]

#: Backbones, heads, classifiers/recognizers and losses.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='uniformer_mm',
                  locations=['uniformer_mm.models'])
#: Optimizer-wrapper constructors (the layer-wise LR decay constructor).
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='uniformer_mm', locations=['uniformer_mm.engine'])
#: Data transforms (token-label loading, ...).
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='uniformer_mm',
                      locations=['uniformer_mm.datasets'])
#: Datasets.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='uniformer_mm',
                    locations=['uniformer_mm.datasets'])
#: Hooks.
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='uniformer_mm',
                 locations=['uniformer_mm.engine'])
#: Training loops (the epoch-based loop that resumes mid-epoch).
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='uniformer_mm',
                 locations=['uniformer_mm.engine'])

#: Toolbox import name -> (pip distribution, uniformer_mm extra).
TOOLBOXES: Dict[str, tuple] = {
    'mmpretrain': ('mmpretrain', 'cls'),
    'mmdet': ('mmdet', 'det'),
    'mmseg': ('mmsegmentation', 'seg'),
    'mmpose': ('mmpose', 'pose'),
    'mmaction': ('mmaction2', 'video'),
}


class MissingToolboxError(ImportError):
    """Raised when a uniformer_mm type or config needs a toolbox that is not installed."""


def require_toolbox(toolbox: str, what: str = 'this') -> None:
    """Import ``toolbox`` or raise :class:`MissingToolboxError` saying how to install it.

    Args:
        toolbox (str): The import name, one of :data:`TOOLBOXES` (``'mmdet'``, ...).
        what (str): What needs it, for the message (a type name, a config path, ...).
    """
    try:
        importlib.import_module(toolbox)
    except ImportError as e:
        dist, extra = TOOLBOXES.get(toolbox, (toolbox, None))
        hint = f"pip install {dist}" if extra is None else (
            f"pip install {dist}   (or: pip install 'uniformer_mm[{extra}]'; "
            "`make install` installs the whole tested stack)")
        raise MissingToolboxError(
            f'{what} needs the toolbox {toolbox!r}, which cannot be imported ({e}). '
            f'Install it with: {hint}') from e


def register_lazy(registry: Registry, name: str, target: str, toolbox: str) -> None:
    """Register ``name`` in ``registry`` without importing ``target`` yet.

    The registered object is a small factory: building it imports ``target`` (``'pkg.mod:Cls'``)
    and calls the class. A missing ``toolbox`` is reported as a :class:`MissingToolboxError`
    naming the type and the install command, instead of an ``ImportError`` deep inside a
    config build. :func:`resolve` returns the real class when one is needed (``issubclass``).

    Args:
        registry (Registry): The uniformer_mm registry to register into.
        name (str): The type name users write after ``uniformer_mm.``.
        target (str): ``'module.path:ClassName'`` of the real implementation.
        toolbox (str): The toolbox ``target`` depends on.
    """
    def factory(*args: Any, **kwargs: Any) -> Any:
        return resolve(factory)(*args, **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f'Lazily built ``uniformer_mm.{name}`` (``{target}``, needs {toolbox}).'
    factory._uniformer_mm_lazy = (target, toolbox)  # type: ignore[attr-defined]
    registry.register_module(name=name, module=factory)


def resolve(obj: Any) -> Any:
    """Return the real class behind a :func:`register_lazy` factory (``obj`` itself otherwise)."""
    lazy: Optional[tuple] = getattr(obj, '_uniformer_mm_lazy', None)
    if lazy is None:
        return obj
    target, toolbox = lazy
    require_toolbox(toolbox, f'uniformer_mm.{obj.__name__}')
    module, _, attr = target.partition(':')
    return getattr(importlib.import_module(module), attr)
