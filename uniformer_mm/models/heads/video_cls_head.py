"""The classifier of the official video UniFormer as an mmaction2 1.x head (needs mmaction2).

Registered lazily as ``uniformer_mm.UniFormerClsHead``; use it as ``cls_head`` of mmaction2's
``Recognizer3D`` with :class:`~uniformer_mm.models.UniFormer3D`.
"""
import copy
import logging
from typing import Any, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmaction.models.heads.base import BaseHead
from mmengine.logging import print_log

from uniformer_mm.checkpoint import ShapeMismatchError
from uniformer_mm.checkpoint.loading import read_state_dict
from uniformer_mm.checkpoint.video import HEAD_PREFIXES, extract_video_head
from ..pretrained import PretrainedInitMixin

__all__ = ['UniFormerClsHead']


class UniFormerClsHead(PretrainedInitMixin, BaseHead):
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
        The rows of a released classifier follow the label order of the dataset lists the
        official code was trained with. mmaction2's own converted UniFormer files had their
        rows permuted to mmaction2's Kinetics label map, which means the two orders differ:
        evaluate an official file with annotation lists in the official label order (or
        permute ``fc_cls`` rows once after loading).

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

    def load_pretrained_cfg(self, cfg: dict) -> None:
        """Load ``fc_cls`` with :meth:`load_classifier` (mmengine's loader knows neither
        ``'model_state'`` nor ``head.*``)."""
        self.load_classifier(cfg['checkpoint'], prefix=cfg.get('prefix'))

    def load_classifier(self, filename: str, prefix: Optional[str] = None) -> bool:
        """Load ``fc_cls`` from a checkpoint file (any layout of :data:`HEAD_PREFIXES`).

        Args:
            filename (str): Local path or URL of the checkpoint.
            prefix (str, optional): Only consider keys under this prefix (removed first).

        Returns:
            bool: Whether the classifier was loaded (False: absent or other class count).

        Raises:
            CheckpointError: No key under ``prefix``.
            ShapeMismatchError: The classifier's input width differs from ``in_channels``
                (the file belongs to another architecture).
        """
        head = extract_video_head(read_state_dict(filename, prefix))
        if head is None:
            print_log(f'MISSING classifier: {filename} has no {" / ".join(HEAD_PREFIXES)} '
                      'weights; fc_cls keeps its initialisation.', logger='current',
                      level=logging.WARNING)
            return False
        shape, own = tuple(head['weight'].shape), tuple(self.fc_cls.weight.shape)
        if len(shape) != 2 or shape[1] != own[1]:
            raise ShapeMismatchError(
                f'the classifier of {filename!r} has weight shape {shape}, which does not fit '
                f'in_channels={self.in_channels} of {type(self).__name__} {own}: the file '
                'belongs to another architecture')
        if shape[0] != own[0]:
            print_log(f'Not loading the classifier of {filename}: it has {shape[0]} classes, '
                      f'the head {own[0]} (fine-tuning on another label set); fc_cls keeps its '
                      'initialisation.', logger='current', level=logging.WARNING)
            return False
        self.fc_cls.load_state_dict(head, strict=True)
        print_log(f'Loaded the {shape[0]}-class classifier of {filename} into fc_cls.',
                  logger='current')
        return True

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
