"""The token-labeling classifier of UniFormer as an mmpretrain 1.x head (needs mmpretrain).

Registered lazily as ``uniformer_mm.TokenLabelClsHead``. Official source:
``image_classification/token_labeling/tlt/models/uniformer.py`` (``head`` + ``aux_head``) and
``tlt/loss/cross_entropy.py`` (``TokenLabelCrossEntropy``).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from uniformer_mm.checkpoint import keys

from ..mix_token import Box, unmix_tokens
from ..pretrained import PretrainedHeadMixin

__all__ = ['TokenLabelClsHead']


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``sum(-target * log_softmax(logits))`` (official SoftTargetCE)."""
    return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()


class TokenLabelClsHead(PretrainedHeadMixin, ClsHead):
    """Class head ``fc`` on the mean token plus an auxiliary per-token head ``aux_fc``.

    Takes the backbone's last map (``B x C x H x W``, after the final BatchNorm; use no neck).

    * Prediction (official evaluation rule): ``fc(mean tokens) + aux_weight * max over tokens
      of aux_fc(tokens)`` with ``aux_weight = 0.5``.
    * Training (official ``TokenLabelCrossEntropy``): ``cls_weight * CE(fc(mean), class
      target) + dense_weight * CE(aux_fc(token), token target)`` with soft targets. The class
      target is ``gt_score`` if the data sample has one (batch augments), else the smoothed
      one-hot ``gt_label``. Token targets come from an optional per-sample field
      ``token_label``: a ``(h, w)`` long tensor of class indices or a ``(num_classes, h, w)``
      float tensor of scores (the dense labels of token labeling), resized to the token grid
      if needed; samples without it use their class target for every token (official
      fallback). With MixToken (``mix_box`` from
      :class:`~uniformer_mm.models.classifiers.TokenLabelClassifier`), the auxiliary map is
      flipped back inside the box and the class target is mixed with ``lam = 1 - box area /
      tokens``, as official.

    Official weights: ``head.*`` maps to ``fc.*`` and ``aux_head.*`` to ``aux_fc.*``; with
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` the head loads them straight from an
    official token-labeling file (or from a converted file with ``head.fc.*`` /
    ``head.aux_fc.*``; :class:`~uniformer_mm.models.pretrained.PretrainedHeadMixin`).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the backbone's last stage.
        aux_weight (float): Weight of the token max in prediction. Defaults to 0.5.
        cls_weight (float): Weight of the class loss. Defaults to 1.0.
        dense_weight (float): Weight of the token loss. Defaults to 1.0.
        label_smooth_val (float): Label smoothing of one-hot class / index targets (the
            official runs use 0.1). Defaults to 0.1.
        topk (int | tuple): Top-k accuracy when ``cal_acc``. Defaults to ``(1, )``.
        cal_acc (bool): Log training accuracy. Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to the official truncated normal
            (std 0.02, bias 0) of the Linear layers.
    """

    head_parts = keys.head_parts('cls', 'aux_head')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 aux_weight: float = 0.5,
                 cls_weight: float = 1.0,
                 dense_weight: float = 1.0,
                 label_smooth_val: float = 0.1,
                 topk: Union[int, Tuple[int, ...]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.)) -> None:
        super().__init__(topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be > 0, got {num_classes}')
        if not 0 <= label_smooth_val < 1:
            raise ValueError(f'label_smooth_val must be in [0, 1), got {label_smooth_val}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.aux_weight = aux_weight
        self.cls_weight = cls_weight
        self.dense_weight = dense_weight
        self.label_smooth_val = label_smooth_val
        self.fc = nn.Linear(in_channels, num_classes)
        self.aux_fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The last backbone map, ``B x C x H x W``."""
        x = feats[-1]
        if x.dim() != 4:
            raise ValueError('TokenLabelClsHead needs the backbone map B x C x H x W; remove the '
                             f'pooling neck (got a tensor of shape {tuple(x.shape)})')
        return x

    def forward_train(self, feats: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Class logits ``B x K`` and token logits ``B x H x W x K``."""
        x = self.pre_logits(feats)
        tokens = x.flatten(2).transpose(1, 2)
        cls_score = self.fc(tokens.mean(dim=1))
        aux = self.aux_fc(tokens).reshape(x.shape[0], x.shape[2], x.shape[3], -1)
        return cls_score, aux

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Evaluation logits: ``fc(mean) + aux_weight * max_tokens(aux_fc)``."""
        cls_score, aux = self.forward_train(feats)
        return cls_score + self.aux_weight * aux.flatten(1, 2).max(dim=1)[0]

    # ------------------------------------------------------------------ targets and loss
    def _class_target(self, data_samples: Sequence[DataSample], device: torch.device
                      ) -> torch.Tensor:
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score for s in data_samples]).to(device).float()
        labels = torch.cat([s.gt_label for s in data_samples]).to(device)
        return self._smooth_one_hot(labels)

    def _smooth_one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        eps = self.label_smooth_val
        one_hot = F.one_hot(labels.long(), self.num_classes).float()
        return one_hot * (1 - eps) + eps / self.num_classes

    def _token_target(self, sample: DataSample, fallback: torch.Tensor,
                      size: Tuple[int, int]) -> torch.Tensor:
        """``H x W x K`` soft token target of one sample."""
        label = sample.get('token_label', None)
        if label is None:
            return fallback.expand(size[0], size[1], -1)
        label = torch.as_tensor(label, device=fallback.device)
        if label.dim() == 2 and not label.is_floating_point():
            scores = self._smooth_one_hot(label).permute(2, 0, 1)  # K, h, w
        elif label.dim() == 3 and label.shape[0] == self.num_classes:
            scores = label.float()
        else:
            raise ValueError(
                'token_label must be a (h, w) tensor of class indices or a (num_classes, h, w) '
                f'tensor of scores with num_classes={self.num_classes}; got shape '
                f'{tuple(label.shape)} and dtype {label.dtype}')
        if tuple(scores.shape[1:]) != tuple(size):
            if scores.shape[1] >= size[0] and scores.shape[2] >= size[1]:
                scores = F.adaptive_avg_pool2d(scores[None], size)[0]
            else:
                scores = F.interpolate(scores[None], size=size, mode='nearest')[0]
        return scores.permute(1, 2, 0)

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[DataSample],
             mix_box: Optional[Box] = None, **kwargs) -> Dict[str, torch.Tensor]:
        """Token-labeling loss.

        Args:
            feats (tuple[Tensor]): Backbone outputs; the last is used.
            data_samples (list[DataSample]): With ``gt_label`` (or ``gt_score``) and optionally
                ``token_label``.
            mix_box (tuple, optional): MixToken box ``(x1, y1, x2, y2)`` on the token grid.

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_aux`` (and ``accuracy_top-k``).
        """
        cls_score, aux = self.forward_train(feats)
        B, H, W, K = aux.shape
        aux = unmix_tokens(aux, mix_box)
        target = self._class_target(data_samples, cls_score.device)
        dense = torch.stack([self._token_target(s, t, (H, W))
                             for s, t in zip(data_samples, target)])
        if mix_box is not None:
            x1, y1, x2, y2 = mix_box
            lam = 1. - (x2 - x1) * (y2 - y1) / float(H * W)
            if lam < 1:
                target = lam * target + (1. - lam) * target.flip(0)
        losses = dict(
            loss_cls=self.cls_weight * soft_cross_entropy(cls_score, target),
            loss_aux=self.dense_weight * soft_cross_entropy(aux.reshape(-1, K),
                                                            dense.reshape(-1, K)))
        if self.cal_acc:
            labels = torch.cat([s.gt_label for s in data_samples]).to(cls_score.device)
            acc = Accuracy.calculate(cls_score, labels, topk=self.topk)
            losses.update({f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses
