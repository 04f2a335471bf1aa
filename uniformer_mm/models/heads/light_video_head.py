"""The two classifiers of the light (hourglass) video UniFormer as an mmaction2 head.

Registered lazily as ``uniformer_mm.LightVideoHead`` (needs mmaction2); use it as ``cls_head``
of mmaction2's ``Recognizer3D`` with ``uniformer_mm.UniFormerLight3D``.
"""
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmaction.models.heads.base import BaseHead

from uniformer_mm.checkpoint import keys
from .light_common import LightHeadMixin, split_light_feats

__all__ = ['LightVideoHead']


class LightVideoHead(LightHeadMixin, BaseHead):
    """Pooled-feature and class-token classifiers of the official ``Uniformer_light*``.

    * ``fc_cls`` (official ``head``; mmaction2's name of the main classifier) classifies the
      pooled features and alone gives the predictions, as in the official evaluation.
    * ``norm_token`` (official ``norm_cls``, LayerNorm eps 1e-5) + ``fc_token`` (official
      ``head_cls``) classify the class token, in training only.

    In training :meth:`forward` returns both scores and :meth:`loss` is
    ``pooled_loss_weight * L(fc_cls) + token_loss_weight * L(fc_token)`` (official 0.5 / 0.5,
    ``tools/train_net_cls.py``), reported as ``loss_cls`` and ``loss_token``.

    Official keys map as ``head.* -> cls_head.fc_cls.*``, ``head_cls.* ->
    cls_head.fc_token.*``, ``norm_cls.* -> cls_head.norm_token.*``.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Width of the last stage (448 for XXS, 512 for XS).
        loss_cls (dict): mmaction2 loss config.
        pooled_loss_weight (float): Weight of the pooled classifier's loss (official 0.5).
        token_loss_weight (float): Weight of the class-token classifier's loss (official 0.5).
        init_cfg (dict | list[dict], optional): mmengine init; defaults to the official
            truncated normal (std 0.02). A ``Pretrained`` entry (``checkpoint``, optional
            ``prefix``) loads the classifiers of an official or uniformer_mm file; they are
            skipped with a warning if its class count differs (ImageNet weights, another
            dataset), as the official loader deletes them.
        **kwargs: ``multi_class``, ``label_smooth_eps``, ``topk``, ``average_clips`` of
            mmaction2's ``BaseHead``.
    """

    head_parts = keys.head_parts('video', 'head_cls', 'norm_cls')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 pooled_loss_weight: float = 0.5,
                 token_loss_weight: float = 0.5,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(num_classes, in_channels, loss_cls, init_cfg=init_cfg, **kwargs)
        self.pooled_loss_weight = pooled_loss_weight
        self.token_loss_weight = token_loss_weight
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.norm_token = nn.LayerNorm(in_channels)
        self.fc_token = nn.Linear(in_channels, num_classes)

    def forward_both(self, x: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        """Scores of both classifiers: ``(fc_cls(pooled), fc_token(LN(cls_token)))``."""
        pooled, token = split_light_feats(x)
        return self.fc_cls(pooled), self.fc_token(self.norm_token(token))

    def forward(self, x: Any, **kwargs: Any) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Training: ``(pooled_scores, token_scores)``; evaluation: ``pooled_scores``.

        Args:
            x: The ``((pooled, cls_token), )`` output of ``UniFormerLight3D``.
            **kwargs: Ignored (``num_segs`` from the recognizer).
        """
        if self.training:
            return self.forward_both(x)
        return self.fc_cls(split_light_feats(x)[0])

    def loss(self, feats: Any, data_samples: list, **kwargs: Any) -> Dict[str, torch.Tensor]:
        """``loss_cls`` (pooled, with the accuracies) and ``loss_token``, weighted 0.5 / 0.5."""
        scores, token_scores = self.forward_both(feats)
        losses: Dict[str, torch.Tensor] = {}
        for name, weight, s in (('cls', self.pooled_loss_weight, scores),
                                ('token', self.token_loss_weight, token_scores)):
            for key, value in self.loss_by_feat(s, data_samples).items():
                if 'loss' in key:
                    # 'loss_cls' of the token classifier becomes 'loss_token'.
                    key = key if name == 'cls' else key.replace('loss_cls', 'loss_token')
                    losses[key] = weight * value
                elif name == 'cls':  # accuracies of the pooled classifier only
                    losses[key] = value
        return losses

    def predict(self, feats: Any, data_samples: list, **kwargs: Any) -> list:
        """Predictions from the pooled classifier only (official evaluation)."""
        return self.predict_by_feat(self.fc_cls(split_light_feats(feats)[0]), data_samples)
