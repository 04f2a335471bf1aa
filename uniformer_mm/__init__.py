"""uniformer_mm: UniFormer for every OpenMMLab 2.0 toolbox.

Importing the package applies the runtime fixes of :mod:`uniformer_mm.compat` and creates the
``uniformer_mm`` registry nodes; it imports no toolbox (models are imported on first use by
mmengine's registry, toolbox-specific ones only when built). When mmpretrain's model names
are first used, our classification model names join them
(:func:`uniformer_mm.apis.model_zoo.register_mmpretrain_models`).
"""
from . import compat  # noqa: F401  (runtime fixes for the tested stack)
from . import registry  # noqa: F401
from .version import __version__

compat.apply_all()

from .apis import model_zoo  # noqa: E402  (imported once the runtime fixes are in place)

# mmpretrain.get_model('uniformer_s_in1k'), and our names in every toolbox's inferencer,
# once those toolbox modules are imported (model_zoo itself imports no toolbox).
compat.run_after_import('mmpretrain.apis.model', model_zoo.register_mmpretrain_models)
compat.run_after_import('mmengine.infer.infer', model_zoo.register_inferencer_names)

__all__ = ['__version__']
