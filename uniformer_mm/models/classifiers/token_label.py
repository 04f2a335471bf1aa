"""Token-labeling training for mmpretrain: ImageClassifier + MixToken (needs mmpretrain).

Registered lazily as ``uniformer_mm.TokenLabelClassifier``.
"""
import inspect
from typing import Dict, List, Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from ..mix_token import MixToken

__all__ = ['TokenLabelClassifier']


class TokenLabelClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` with the official in-network MixToken for training.

    Why a classifier: MixToken happens inside the backbone (on the stride-4 map after
    ``patch_embed1``) and the head needs the sampled box to un-mix its token predictions and
    mix the class target. This class passes a fresh
    :class:`~uniformer_mm.models.mix_token.MixToken` to the backbone as ``stem_hook`` and
    hands its box to the head's ``loss`` (``mix_box``); backbone and head keep no state.
    Prediction and feature extraction are exactly ``ImageClassifier``'s, so evaluation works
    with either class. Use with ``backbone=dict(type='uniformer_mm.UniFormer', ...)``, no
    neck, and ``head=dict(type='uniformer_mm.TokenLabelClsHead', ...)``.

    Args:
        *args: ``ImageClassifier`` arguments (``backbone``, ``neck``, ``head``, ...).
        mix_token (bool): Apply MixToken in training (official: on). Defaults to True.
        mix_beta (float): ``lam ~ Beta(mix_beta, mix_beta)``. Defaults to 1.0 (official).
        **kwargs: More ``ImageClassifier`` arguments.
    """

    def __init__(self, *args, mix_token: bool = True, mix_beta: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mix_token = mix_token
        self.mix_beta = mix_beta
        if mix_token and 'stem_hook' not in inspect.signature(self.backbone.forward).parameters:
            raise TypeError(f'mix_token=True needs a backbone whose forward accepts stem_hook '
                            f'(uniformer_mm.UniFormer); got {type(self.backbone).__name__}')

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]
             ) -> Dict[str, torch.Tensor]:
        """Training losses with MixToken (when ``mix_token``) and the token-labeling head."""
        mixer: Optional[MixToken] = MixToken(self.mix_beta) if self.mix_token else None
        feats = self.backbone(inputs, stem_hook=mixer) if mixer else self.backbone(inputs)
        if self.with_neck:
            feats = self.neck(feats)
        return self.head.loss(feats, data_samples,
                              mix_box=None if mixer is None else mixer.box)
