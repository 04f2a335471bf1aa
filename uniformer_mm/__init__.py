"""uniformer_mm: UniFormer for every OpenMMLab 2.0 toolbox.

Importing the package applies the runtime fixes of :mod:`uniformer_mm.compat` and creates the
``uniformer_mm`` registry nodes; it imports no toolbox (models are imported on first use by
mmengine's registry, toolbox-specific ones only when built).
"""
from . import compat  # noqa: F401  (runtime fixes for the tested stack)
from . import registry  # noqa: F401
from .version import __version__

compat.apply_all()

__all__ = ['__version__']
