"""Toolbox-free pieces shared by the light (hourglass) heads of mmpretrain and mmaction2."""
from typing import Any, Sequence, Tuple

import torch

from ..pretrained import PretrainedHeadMixin

__all__ = ['LightHeadMixin', 'split_light_feats']

Tensor = torch.Tensor


def split_light_feats(feats: Sequence[Any]) -> Tuple[Tensor, Tensor]:
    """The ``(pooled, cls_token)`` pair of a light backbone's output.

    The backbones (:class:`~uniformer_mm.models.backbones.UniFormerLight` with
    ``final_norm=True`` and ``UniFormerLight3D``) return a tuple of stage outputs like every
    UniFormer; the last one is the pair ``(pooled, cls_token)``.

    Returns:
        tuple[Tensor, Tensor]: ``B, C`` pooled features and ``B, C`` class tokens.
    """
    last = feats[-1] if isinstance(feats, (tuple, list)) and feats else None
    if not (isinstance(last, (tuple, list)) and len(last) == 2
            and all(isinstance(f, Tensor) for f in last)):
        raise TypeError('a light head needs the output of UniFormerLight (final_norm=True) / '
                        'UniFormerLight3D: a tuple of stage outputs whose last one is the pair '
                        f'(pooled, cls_token); got {type(feats).__name__}. Dense backbones and '
                        'necks that pool feature maps do not provide the class token.')
    pooled, token = last
    if token.dim() == 3:  # B, 1, C
        token = token.squeeze(1)
    return pooled, token


class LightHeadMixin(PretrainedHeadMixin):
    """Loading and default init of both light heads.

    The official init by default (truncated normal 0.02 for the classifiers, LayerNorm 1/0);
    a ``Pretrained`` entry loads the three official parts ``head`` / ``head_cls`` /
    ``norm_cls`` (or their uniformer_mm names) through the head loading protocol
    (:class:`~uniformer_mm.models.pretrained.PretrainedHeadMixin`).
    """

    default_init_cfg = [dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)]
