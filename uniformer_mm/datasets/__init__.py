"""Data transforms and datasets registered in uniformer_mm's registries.

Toolbox-specific transforms are registered lazily (see :mod:`uniformer_mm.registry`), so that
importing this package imports no toolbox.
"""
from ..registry import TRANSFORMS as _TRANSFORMS, register_lazy as _register_lazy
from .token_label import LoadTokenLabel, TokenLabelRandomFlip, TokenLabelTarget  # noqa: F401

for _name in ('TokenLabelRandomResizedCrop', 'TokenLabelRandAugment'):
    _register_lazy(_TRANSFORMS, _name,
                   f'uniformer_mm.datasets.token_label_mmpretrain:{_name}', 'mmpretrain')
