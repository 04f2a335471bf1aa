"""Key mapping between official light ("hourglass") UniFormer files and uniformer_mm models.

Official light classification and video state_dicts hold the backbone keys plus three
classifier parts at the top level: ``head.*`` (classifier of the pooled features),
``head_cls.*`` (classifier of the class token) and ``norm_cls.*`` (the LayerNorm applied to the
class token before ``head_cls``, in training only). The uniformer_mm backbones
(:class:`~uniformer_mm.models.backbones.UniFormerLight`, ``UniFormerLight3D``) keep the
official names; the three classifier parts live in our heads. The pooled classifier takes the
name each toolbox uses for its main classifier (``fc`` in mmpretrain, ``fc_cls`` in mmaction2,
which is also what :func:`~uniformer_mm.checkpoint.convert_official_to_mm` maps ``head.*``
to); the class-token parts are ``fc_token`` and ``norm_token`` in both, so that ``fc_cls``
never means two things:

==================  ===============================  ===============================
official            mmpretrain ``ImageClassifier``   mmaction2 ``Recognizer3D``
                    + ``uniformer_mm.LightClsHead``  + ``uniformer_mm.LightVideoHead``
==================  ===============================  ===============================
``<backbone key>``  ``backbone.<key>``               ``backbone.<key>``
``head.*``          ``head.fc.*``                    ``cls_head.fc_cls.*``
``head_cls.*``      ``head.fc_token.*``              ``cls_head.fc_token.*``
``norm_cls.*``      ``head.norm_token.*``            ``cls_head.norm_token.*``
==================  ===============================  ===============================
"""
import logging
from typing import Any, Dict, List, Mapping, Optional

import torch

from .convert import HEAD_PREFIX, LIGHT_TOKEN_PARTS, POOLED_NAME, convert_official_to_mm

__all__ = [
    'LIGHT_HEAD_PREFIX', 'LIGHT_POOLED_NAME', 'LIGHT_TOKEN_PARTS', 'is_light_head_key',
    'light_backbone_state_dict', 'light_head_state_dict', 'convert_official_light',
    'inflate_light_state_dict', 'load_light_head'
]

Tensor = torch.Tensor

# The names live in uniformer_mm.checkpoint.convert (one table for every converter); the
# LIGHT_* names stay importable from here.
#: Task -> the model attribute holding the head (mmpretrain ``head``, mmaction2 ``cls_head``).
LIGHT_HEAD_PREFIX: Dict[str, str] = HEAD_PREFIX
#: Task -> name of the pooled-feature classifier inside our head (official ``head``).
LIGHT_POOLED_NAME: Dict[str, str] = POOLED_NAME

_POOLED_NAMES = tuple(POOLED_NAME.values())
_HEAD_PARTS = _POOLED_NAMES + tuple(LIGHT_TOKEN_PARTS.values())
# Top-level names that are never backbone weights: official classifier parts and the heads
# of full uniformer_mm models.
_NON_BACKBONE = {'head', *LIGHT_TOKEN_PARTS, *HEAD_PREFIX.values(), 'data_preprocessor'}


def is_light_head_key(key: str) -> bool:
    """Whether ``key`` (official or uniformer_mm, without ``backbone.``) is a classifier key."""
    return key.split('.', 1)[0] in _NON_BACKBONE


def light_backbone_state_dict(state_dict: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """The backbone part of a light state_dict.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped official keys, or a full uniformer_mm
            model's keys with ``backbone.`` already stripped.

    Returns:
        dict: ``state_dict`` without the classifier keys (``head``, ``head_cls``,
        ``norm_cls``, ``cls_head``).
    """
    return {k: v for k, v in state_dict.items() if not is_light_head_key(k)}


def light_head_state_dict(state_dict: Mapping[str, Tensor],
                          task: str = 'cls') -> Dict[str, Tensor]:
    """The classifier part of a light state_dict, named as inside our light head of ``task``.

    Understands three layouts:

    * official: ``head.weight``, ``head_cls.weight``, ``norm_cls.weight`` ...;
    * full uniformer_mm models: ``head.fc.weight`` / ``cls_head.fc_cls.weight``,
      ``<head>.fc_token.*``, ``<head>.norm_token.*``;
    * head-local (a prefix already removed): ``fc.*`` / ``fc_cls.*``, ``fc_token.*``,
      ``norm_token.*``.

    The pooled classifier is renamed to the name of ``task``'s head, so an image head can
    also start a video head and vice versa.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped keys.
        task (str): ``'cls'`` (:class:`~uniformer_mm.models.heads.LightClsHead`) or
            ``'video'`` (:class:`~uniformer_mm.models.heads.LightVideoHead`).

    Returns:
        dict: Keys ``<pooled>.*``, ``fc_token.*``, ``norm_token.*`` (those present).
    """
    if task not in LIGHT_POOLED_NAME:
        raise KeyError(f'task must be one of {sorted(LIGHT_POOLED_NAME)}, got {task!r}')
    pooled = LIGHT_POOLED_NAME[task]
    official = {'head': pooled, **LIGHT_TOKEN_PARTS}

    def local(name: str) -> str:
        part, _, param = name.partition('.')
        return f'{pooled if part in _POOLED_NAMES else part}.{param}'

    out: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        top, _, rest = key.partition('.')
        if top in official and rest in ('weight', 'bias'):
            out[f'{official[top]}.{rest}'] = value  # official classifier parts
        elif top in HEAD_PREFIX.values() and rest.split('.', 1)[0] in _HEAD_PARTS:
            out[local(rest)] = value  # full uniformer_mm model
        elif top in _HEAD_PARTS:
            out[local(key)] = value  # head-local
    return out


def convert_official_light(state_dict: Mapping[str, Tensor],
                           task: str = 'cls') -> Dict[str, Tensor]:
    """Map an official light classification/video state_dict to a full uniformer_mm model.

    The light-specific part is only the choice of tasks: the renaming is
    :func:`~uniformer_mm.checkpoint.convert_official_to_mm`'s (see the table above).

    Args:
        state_dict (Mapping[str, Tensor]): Official keys (unwrapped from ``'model'`` or
            ``'model_state'``, see :func:`~uniformer_mm.checkpoint.unwrap_state_dict`).
        task (str): ``'cls'``: mmpretrain ``ImageClassifier`` + ``LightClsHead``;
            ``'video'``: mmaction2 ``Recognizer3D`` + ``LightVideoHead``.

    Returns:
        dict: Loadable with ``model.load_state_dict(..., strict=True)``. The video backbone
        keys are not inflated: this maps files of the model's own dimensionality.
    """
    if task not in LIGHT_HEAD_PREFIX:
        raise KeyError(f'task must be one of {sorted(LIGHT_HEAD_PREFIX)}, got {task!r}')
    return convert_official_to_mm(state_dict, task)


def inflate_light_state_dict(state_dict: Mapping[str, Tensor],
                             target: Mapping[str, Tensor],
                             mode: str = 'average') -> Dict[str, Tensor]:
    """Inflate the 2D kernels of a light image state_dict for a 3D light video backbone.

    Every kernel whose counterpart in ``target`` has one more (time) axis is inflated by
    :func:`~uniformer_mm.checkpoint.inflate.inflate_state_dict` (official ``'average'``
    rule: repeat along time and divide by its length: the conv stem 3x3 -> 3x3x3 / 3, the
    2x2 patch embeddings -> 1x2x2, the depthwise 3x3 / 5x5 -> 3x3x3 / 3, 5x5x5 / 5). Tensors
    of the right shape (video files) pass through unchanged.

    Args:
        state_dict (Mapping[str, Tensor]): The backbone keys to load.
        target (Mapping[str, Tensor]): The 3D backbone's own ``state_dict()`` (for shapes).
        mode (str): ``'average'`` (official) or ``'center'``.

    Returns:
        dict: The state_dict with inflated kernels.
    """
    from .inflate import inflate_state_dict
    return inflate_state_dict(state_dict, target, mode=mode)


def load_light_head(head: 'torch.nn.Module',
                    filename: str,
                    task: str = 'cls',
                    prefix: Optional[str] = None,
                    logger: Any = 'current') -> List[str]:
    """Load the classifier parts of a light checkpoint into one of our light heads.

    Used by ``init_weights()`` of :class:`~uniformer_mm.models.heads.LightClsHead` and
    :class:`~uniformer_mm.models.heads.LightVideoHead` when ``init_cfg=dict(type='Pretrained',
    checkpoint=...)``. Reads official files as released (``{'model': ...}``,
    ``{'model_state': ...}`` or raw) and uniformer_mm files (see
    :func:`light_head_state_dict`). As the official video loader, the two classifiers are
    skipped (with a warning) when the file has another number of classes, e.g. ImageNet or
    Kinetics weights fine-tuned on another label set; ``norm_token`` is loaded regardless.

    Args:
        head (nn.Module): The head, with ``<pooled>``, ``fc_token`` and ``norm_token``.
        filename (str): Local path or URL.
        task (str): ``'cls'`` or ``'video'`` (decides the pooled classifier's name).
        prefix (str, optional): Only consider keys under this prefix (removed first), e.g.
            ``'head.'`` / ``'cls_head.'`` of a whole-model file.
        logger (str | logging.Logger): mmengine ``print_log`` logger.

    Returns:
        list[str]: The head keys that were loaded.

    Raises:
        CheckpointError: No key under ``prefix``.
        ShapeMismatchError: A tensor whose input width differs (another architecture).
    """
    from mmengine.logging import print_log

    from .loading import ShapeMismatchError, read_state_dict

    found = light_head_state_dict(read_state_dict(filename, prefix), task)
    own = head.state_dict()
    pooled = LIGHT_POOLED_NAME[task]

    def fits(key: str, value: Tensor) -> bool:
        # Classifiers may differ in their class count (rows) only; norm_token must match.
        ref = own[key]
        if key.split('.')[0] in (pooled, 'fc_token'):
            return value.dim() == ref.dim() and value.shape[1:] == ref.shape[1:]
        return value.shape == ref.shape

    wrong = [f'{k}: checkpoint {tuple(v.shape)} vs head {tuple(own[k].shape)}'
             for k, v in found.items() if k in own and not fits(k, v)]
    if wrong:
        raise ShapeMismatchError(
            f'the classifier of {filename!r} does not fit {type(head).__name__} '
            f'(in_channels={own[f"{pooled}.weight"].shape[-1]}): ' + '; '.join(wrong)
            + '. The file belongs to another architecture.')
    classifiers = [k for k in found if k.split('.')[0] in (pooled, 'fc_token')]
    other_classes = [k for k in classifiers if k in own and found[k].shape != own[k].shape]
    if other_classes:
        num = found[other_classes[0]].shape[0]
        print_log(f'Not loading the classifiers of {filename}: {num} classes, the head has '
                  f'{own[f"{pooled}.weight"].shape[0]}; {pooled} and fc_token keep their '
                  'initialisation (as the official loader, which deletes them).',
                  logger=logger, level=logging.WARNING)
        for k in classifiers:
            del found[k]
    selected = {k: v for k, v in found.items() if k in own}
    head.load_state_dict(selected, strict=False)
    missing = [k for k in own if k not in selected]
    if selected:
        print_log(f'Loaded {sorted(selected)} of {type(head).__name__} from {filename}',
                  logger=logger, level=logging.INFO)
    if missing and not other_classes:
        print_log(f'MISSING {missing} of {type(head).__name__}: not in {filename}; they keep '
                  'their initialisation.', logger=logger, level=logging.WARNING)
    return sorted(selected)
