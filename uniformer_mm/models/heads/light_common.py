"""Toolbox-free pieces shared by the light (hourglass) heads of mmpretrain and mmaction2."""
from typing import Any, Sequence, Tuple, Union

import torch

from uniformer_mm.checkpoint.light import load_light_head
from ..pretrained import PretrainedInitMixin

__all__ = ['LightHeadMixin', 'split_light_feats']

Tensor = torch.Tensor


def split_light_feats(feats: Union[Tensor, Sequence[Any]]) -> Tuple[Tensor, Tensor]:
    """The ``(pooled, cls_token)`` pair inside a light backbone's output.

    Accepts what :class:`~uniformer_mm.models.backbones.UniFormerLight` returns in
    classification mode, ``((pooled, cls_token),)`` (mmpretrain's tuple of stage outputs,
    the last one used), and what ``UniFormerLight3D`` returns, ``(pooled, cls_token)``.

    Returns:
        tuple[Tensor, Tensor]: ``B, C`` pooled features and ``B, C`` class tokens.
    """
    if isinstance(feats, (tuple, list)) and feats and isinstance(feats[-1], (tuple, list)):
        feats = feats[-1]
    if not (isinstance(feats, (tuple, list)) and len(feats) == 2
            and all(isinstance(f, Tensor) for f in feats)):
        raise TypeError('a light head needs the (pooled, cls_token) pair of UniFormerLight '
                        "(mode='cls') / UniFormerLight3D; got "
                        f'{type(feats).__name__}. Dense-mode backbones and necks that pool '
                        'feature maps do not provide the class token.')
    pooled, token = feats
    if token.dim() == 3:  # B, 1, C
        token = token.squeeze(1)
    return pooled, token


class LightHeadMixin(PretrainedInitMixin):
    """``init_weights`` with an official-file ``Pretrained`` entry, for both light heads.

    mmengine's own ``Pretrained`` initializer neither unwraps ``'model'``/``'model_state'``
    nor renames ``head.*``/``head_cls.*``/``norm_cls.*``, so the entry is taken out of
    ``init_cfg`` and handled by :func:`~uniformer_mm.checkpoint.light.load_light_head` after
    the other initialisers ran (official init by default: truncated normal 0.02 for the
    classifiers, LayerNorm 1/0).
    """

    #: ``'cls'`` or ``'video'``: which layout :func:`load_light_head` maps to.
    light_task = 'cls'
    default_init_cfg = [dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)]

    def load_pretrained_cfg(self, cfg: dict) -> None:
        """Load both classifiers (and ``norm_token``) of an official or converted file."""
        load_light_head(self, cfg['checkpoint'], task=self.light_task,  # type: ignore[arg-type]
                        prefix=cfg.get('prefix'))

