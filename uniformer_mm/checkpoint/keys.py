"""Where the official classifier weights go: the key tables of every head, in one place.

Official files keep backbone and classifier in one module: backbone keys are un-prefixed
(``patch_embed1.*``, ``blocks3.0.*``, ``norm.*``) and the classifier parts are top-level
names: ``head`` (classifier of the pooled features), ``aux_head`` (token labeling's
per-token classifier), ``head_cls`` / ``norm_cls`` (the light models' class-token classifier
and its LayerNorm). Our backbones keep the official names; the classifier parts live in our
heads, under the name each toolbox uses:

==================  ===============================  ===============================
official            mmpretrain ``ImageClassifier``   mmaction2 ``Recognizer3D``
==================  ===============================  ===============================
``<backbone key>``  ``backbone.<key>``               ``backbone.<key>``
``head.*``          ``head.fc.*``                    ``cls_head.fc_cls.*``
``aux_head.*``      ``head.aux_fc.*``                --
``head_cls.*``      ``head.fc_token.*``              ``cls_head.fc_token.*``
``norm_cls.*``      ``head.norm_token.*``            ``cls_head.norm_token.*``
==================  ===============================  ===============================

:func:`~uniformer_mm.checkpoint.convert_official_to_mm` renames whole files with these
tables, and every head selects its weights from any layout with :func:`select_head_keys`.
"""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

__all__ = ['CLASSIFIER_KEYS', 'HEAD_PREFIX', 'POOLED_NAME', 'TOKEN_PARTS', 'classifier_names',
           'head_parts', 'select_head_keys']

#: Task -> the model attribute holding the classifier (mmpretrain ``head``, mmaction2
#: ``cls_head``).
HEAD_PREFIX: Dict[str, str] = {'cls': 'head', 'video': 'cls_head'}
#: Task -> name, inside that head, of the classifier of the pooled features (official
#: ``head``): each toolbox's own name for its main classifier.
POOLED_NAME: Dict[str, str] = {'cls': 'fc', 'video': 'fc_cls'}
#: The other official classifier parts -> their names inside our heads (the same in both
#: toolboxes, so that ``fc_cls`` never means two things).
TOKEN_PARTS: Dict[str, str] = {'aux_head': 'aux_fc', 'head_cls': 'fc_token',
                               'norm_cls': 'norm_token'}
#: Top-level names that are never backbone weights: the official classifier parts and the
#: heads of whole mmaction2 models.
CLASSIFIER_KEYS = ('head', *TOKEN_PARTS, HEAD_PREFIX['video'])


def classifier_names(task: str) -> Dict[str, str]:
    """Official top-level classifier names -> their full names in ``task``'s model.

    Args:
        task (str): ``'cls'`` (mmpretrain) or ``'video'`` (mmaction2).

    Returns:
        dict: e.g. ``{'head': 'cls_head.fc_cls', 'head_cls': 'cls_head.fc_token', ...}``.
    """
    head = HEAD_PREFIX[task]
    names = {'head': f'{head}.{POOLED_NAME[task]}'}
    names.update({part: f'{head}.{name}' for part, name in TOKEN_PARTS.items()
                  if task == 'cls' or part != 'aux_head'})
    return names


def head_parts(task: str, *official: str) -> Dict[str, str]:
    """The parts of one of our heads: head-local module name -> official top-level name.

    Args:
        task (str): ``'cls'`` or ``'video'`` (names the pooled classifier).
        *official (str): The official parts besides ``head`` (``'aux_head'``, ``'head_cls'``,
            ``'norm_cls'``).
    """
    parts = {POOLED_NAME[task]: 'head'}
    parts.update({TOKEN_PARTS[o]: o for o in official})
    return parts


def select_head_keys(state_dict: Mapping[str, torch.Tensor],
                     parts: Mapping[str, str]) -> 'OrderedDict[str, torch.Tensor]':
    """The weights of a head's ``parts`` in a state_dict of any layout, head-local names.

    For every part the first layout that has it wins: a whole uniformer_mm model
    (``head.<part>.*`` / ``cls_head.<part>.*``; the pooled classifier also under the other
    toolbox's name, so an image head can start a video head and vice versa), an official
    file (``<official>.weight`` / ``.bias``) or a head's own state_dict (``<part>.*``).

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped weights.
        parts (Mapping[str, str]): See :func:`head_parts`.

    Returns:
        OrderedDict: ``<part>.<param>`` -> tensor for the parts found.
    """
    pooled = set(POOLED_NAME.values())
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for part, official in parts.items():
        aliases = sorted(pooled, key=lambda n: n != part) if part in pooled else [part]
        layouts = [f'{h}.{a}.' for a in aliases for h in HEAD_PREFIX.values()]
        layouts += [f'{official}.'] + [f'{a}.' for a in aliases]
        for layout in layouts:
            found = {k[len(layout):]: v for k, v in state_dict.items() if k.startswith(layout)}
            if layout == f'{official}.':  # official parts are flat: weight / bias only
                found = {k: v for k, v in found.items() if k in ('weight', 'bias')}
            if found:
                out.update((f'{part}.{k}', v) for k, v in found.items())
                break
    return out
