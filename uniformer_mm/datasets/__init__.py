"""Data transforms and datasets registered in uniformer_mm's registries.

Toolbox-specific transforms are registered lazily (see :mod:`uniformer_mm.registry`), so that
importing this package imports no toolbox.
"""
from ..registry import DATASETS as _DATASETS, TRANSFORMS as _TRANSFORMS
from ..registry import register_lazy as _register_lazy
from .sampling import DenseSampleFrames  # noqa: F401
from .token_label import LoadTokenLabel, TokenLabelRandomFlip, TokenLabelTarget  # noqa: F401

for _name in ('TokenLabelRandomResizedCrop', 'TokenLabelRandAugment'):
    _register_lazy(_TRANSFORMS, _name,
                   f'uniformer_mm.datasets.token_label_mmpretrain:{_name}', 'mmpretrain')

# Repeated augmentation for frame folders (mmaction2's RepeatAugDataset reads videos only).
_register_lazy(_DATASETS, 'RepeatAugRawframeDataset',
               'uniformer_mm.datasets.repeat_aug:RepeatAugRawframeDataset', 'mmaction')
# Random erasing per frame, as timm's RandomErasing on the official (T, C, H, W) clips.
_register_lazy(_TRANSFORMS, 'FrameRandomErasing',
               'uniformer_mm.datasets.video_erasing:FrameRandomErasing', 'mmaction')
