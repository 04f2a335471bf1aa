"""The classifier of the official video UniFormer as an mmaction2 1.x head (needs mmaction2).

Registered lazily as ``uniformer_mm.UniFormerClsHead``; use it as ``cls_head`` of mmaction2's
``Recognizer3D`` with :class:`~uniformer_mm.models.UniFormer3D`.
"""
import copy
from typing import Any, List, Tuple, Union

import torch
import torch.nn as nn
from mmaction.models.heads.base import BaseHead

from uniformer_mm.checkpoint import keys
from ..pretrained import PretrainedHeadMixin

__all__ = ['UniFormerClsHead']


class UniFormerClsHead(PretrainedHeadMixin, BaseHead):
    """Average pooling over time and space, optional dropout, and a linear classifier.

    This is the official video model's ``flatten(2).mean(-1) -> head`` with the classifier
    named ``fc_cls`` as in mmaction2's heads, so a whole official file maps with
    ``head.* -> cls_head.fc_cls.*``. Through ``init_cfg=dict(type='Pretrained',
    checkpoint=PATH)`` it loads the classifier of an official video file (``head.*``), of an
    mmaction2 recognizer file (``cls_head.fc_cls.*``) or of a head state dict (``fc_cls.*``);
    a classifier with another number of classes (Kinetics weights fine-tuned on
    Something-Something, an ImageNet file) is skipped with a warning, as the official code
    drops it, and ``fc_cls`` keeps its initialisation.

    Note:
        The rows of an official classifier follow the official category lists, which differ
        from mmaction2's label maps for Kinetics and Something-Something. Add
        ``dst_labels='mmaction2_k400'`` (the config's ``label_order``; optionally
        ``src_labels``) to the ``Pretrained`` entry to reorder them by class name;
        ``tools/test.py`` and the converter do it from the config (docs/labels.md).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the backbone's last stage (512 for UniFormer S/B).
        loss_cls (dict): mmaction2 loss config. Defaults to ``CrossEntropyLoss``.
        dropout_ratio (float): Dropout before ``fc_cls``. The official model has none
            (``UNIFORMER.DROPOUT_RATE = 0``; ``MODEL.DROPOUT_RATE`` is unused). Defaults to 0.
        init_std (float): Std of the truncated-normal init of ``fc_cls`` (official 0.02).
        init_cfg (dict | list[dict], optional): mmengine init; a ``Pretrained`` entry (with
            optional ``prefix``) loads the classifier as described above.
        **kwargs: ``multi_class``, ``label_smooth_eps``, ``topk``, ``average_clips`` (use
            ``'prob'`` for the official multi-view test protocols) of mmaction2's
            ``BaseHead``.
    """

    head_parts = keys.head_parts('video')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.,
                 init_std: float = 0.02,
                 init_cfg: Union[dict, List[dict], None] = None,
                 **kwargs: Any) -> None:
        super().__init__(num_classes, in_channels, loss_cls, init_cfg=copy.deepcopy(init_cfg),
                         **kwargs)
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    @property
    def default_init_cfg(self) -> List[dict]:  # type: ignore[override]
        """Truncated-normal ``fc_cls`` with ``init_std`` (the official init)."""
        return [dict(type='TruncNormal', layer='Linear', std=self.init_std, bias=0.)]

    def forward(self, x: Union[torch.Tensor, Tuple[torch.Tensor, ...]],
                **kwargs: Any) -> torch.Tensor:
        """Class scores of backbone features.

        Args:
            x (Tensor | tuple[Tensor]): ``N, C, T, H, W`` features (the last one of a tuple),
                or already pooled ``N, C``.
            **kwargs: Ignored (``num_segs`` from the recognizer).

        Returns:
            Tensor: ``N, num_classes`` scores.
        """
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() > 2:
            x = x.flatten(2).mean(-1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)
