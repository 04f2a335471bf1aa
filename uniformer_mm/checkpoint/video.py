"""The classifier of UniFormer video checkpoints, in every layout a video head may meet.

The official SlowFast model keeps backbone and classifier in one module: backbone keys are
un-prefixed (``patch_embed1.proj.weight``, ``blocks3.0.attn.qkv.weight``, ``norm.*``) and the
classifier is ``head.{weight,bias}``. An mmaction2 ``Recognizer3D`` holds them as
``backbone.*`` and ``cls_head.fc_cls.*`` (the layout of mmaction2's own converted UniFormer
releases too; whole files are renamed by
``uniformer_mm.checkpoint.convert_official_to_mm(state_dict, 'video')``).
:class:`~uniformer_mm.models.UniFormer3D` and ``UniFormerClsHead`` read either layout
directly through their ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
"""
from typing import Dict, Mapping, Optional

import torch

from .convert import HEAD_PREFIX, POOLED_NAME

__all__ = ['OFFICIAL_HEAD_PREFIX', 'MMACTION_HEAD_PREFIX', 'HEAD_PREFIXES', 'extract_video_head']

#: The classifier of the official video (and image) models.
OFFICIAL_HEAD_PREFIX = 'head.'
#: Where mmaction2's recognizers keep the classifier of ``I3DHead`` / ``UniFormerClsHead``.
MMACTION_HEAD_PREFIX = f"{HEAD_PREFIX['video']}.{POOLED_NAME['video']}."  # 'cls_head.fc_cls.'
#: Every classifier layout a head accepts, most specific first (the last one is a head's own
#: ``state_dict()``).
HEAD_PREFIXES = (MMACTION_HEAD_PREFIX, OFFICIAL_HEAD_PREFIX, f"{POOLED_NAME['video']}.")


def extract_video_head(state_dict: Mapping[str, torch.Tensor]
                       ) -> Optional[Dict[str, torch.Tensor]]:
    """The classifier ``{'weight', 'bias'}`` of a video state dict in any known layout.

    Looks for ``cls_head.fc_cls.*`` (mmaction2), ``head.*`` (official) and ``fc_cls.*`` (a
    head's own state dict), in that order.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped weights, with or without ``backbone.``.

    Returns:
        dict | None: ``{'weight': (num_classes, C), 'bias': (num_classes,)}``, or None if the
        checkpoint carries no classifier (an ImageNet-pretrained backbone-only file, say).
    """
    for prefix in HEAD_PREFIXES:
        if prefix + 'weight' in state_dict:
            head = {name: state_dict[prefix + name] for name in ('weight', 'bias')
                    if prefix + name in state_dict}
            return head
    return None
