"""The two classifiers of the light (hourglass) image UniFormer as an mmpretrain head.

Registered lazily as ``uniformer_mm.LightClsHead`` (needs mmpretrain); use it as ``head`` of
mmpretrain's ``ImageClassifier`` with ``uniformer_mm.UniFormerLight`` (``final_norm=True``).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from uniformer_mm.checkpoint import keys
from .light_common import LightHeadMixin, split_light_feats

__all__ = ['LightClsHead']


class LightClsHead(LightHeadMixin, ClsHead):
    """Pooled-feature and class-token classifiers of the official ``UniFormer_Light``.

    * ``fc`` (official ``head``) classifies the globally pooled features; it alone gives the
      predictions (official evaluation returns ``head(GAP(x))`` only).
    * ``norm_token`` (official ``norm_cls``, LayerNorm eps 1e-5) + ``fc_token`` (official
      ``head_cls``) classify the class token. They are used in training only, as officially
      (``norm_cls`` is applied only when training, and so is ``head_cls``).

    In training :meth:`forward` returns both logits, and :meth:`loss` is
    ``pooled_loss_weight * L(fc) + token_loss_weight * L(fc_token)`` (official 0.5 / 0.5,
    ``engine_light.py``), reported as ``loss_pooled`` and ``loss_token``.

    Official keys map as ``head.* -> head.fc.*``, ``head_cls.* -> head.fc_token.*``,
    ``norm_cls.* -> head.norm_token.*`` (see :mod:`uniformer_mm.checkpoint.keys`).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Width of the last stage (448 for XXS, 512 for XS).
        loss (dict): mmpretrain loss config (also used for mixup/cutmix soft targets).
        pooled_loss_weight (float): Weight of the pooled classifier's loss (official 0.5).
        token_loss_weight (float): Weight of the class-token classifier's loss (official 0.5).
        topk (int | Sequence[int]): Top-k accuracies with ``cal_acc``.
        cal_acc (bool): Log the training accuracy of the pooled classifier.
        init_cfg (dict | list[dict], optional): mmengine init; defaults to the official
            truncated normal (std 0.02) for the classifiers. A ``Pretrained`` entry
            (``checkpoint``, optional ``prefix``) loads the classifiers of an official or
            uniformer_mm file (skipped with a warning if its class count differs).
    """

    head_parts = keys.head_parts('cls', 'head_cls', 'norm_cls')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 pooled_loss_weight: float = 0.5,
                 token_loss_weight: float = 0.5,
                 topk: Union[int, Tuple[int, ...]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.pooled_loss_weight = pooled_loss_weight
        self.token_loss_weight = token_loss_weight
        self.fc = nn.Linear(in_channels, num_classes)
        self.norm_token = nn.LayerNorm(in_channels)
        self.fc_token = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Sequence[Any]) -> torch.Tensor:
        """The pooled features (what ``fc`` classifies)."""
        return split_light_feats(feats)[0]

    def forward_both(self, feats: Sequence[Any]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Logits of both classifiers, whatever the mode: ``(fc(pooled), fc_token(LN(cls)))``."""
        pooled, token = split_light_feats(feats)
        return self.fc(pooled), self.fc_token(self.norm_token(token))

    def forward(self, feats: Sequence[Any]) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Training: ``(pooled_logits, token_logits)``; evaluation: ``pooled_logits``."""
        if self.training:
            return self.forward_both(feats)
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Sequence[Any], data_samples: List[DataSample],
             **kwargs: Any) -> Dict[str, torch.Tensor]:
        """``loss_pooled`` and ``loss_token`` (their sum is the official loss)."""
        logits, token_logits = self.forward_both(feats)
        if 'gt_score' in data_samples[0]:
            target = torch.stack([i.gt_score for i in data_samples])  # mixup / cutmix
        else:
            target = torch.cat([i.gt_label for i in data_samples])
        n = logits.size(0)
        losses = {
            'loss_pooled': self.pooled_loss_weight * self.loss_module(
                logits, target, avg_factor=n, **kwargs),
            'loss_token': self.token_loss_weight * self.loss_module(
                token_logits, target, avg_factor=n, **kwargs),
        }
        if self.cal_acc:
            if target.ndim != 1:
                raise ValueError('cal_acc needs hard labels; disable it with mixup/cutmix')
            acc = Accuracy.calculate(logits, target, topk=self.topk)
            losses.update({f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses

    def predict(self, feats: Sequence[Any],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """Predictions from the pooled classifier only (official evaluation)."""
        return self._get_predictions(self.fc(self.pre_logits(feats)), data_samples)
