"""Renaming official UniFormer state_dicts to the layouts of the OpenMMLab models.

The backbone keys never change (our modules keep the official names); only the wrapper, the
``backbone.`` prefix and the classifier heads differ per task:

==========  ==================================================================================
task        mapping
==========  ==================================================================================
``cls``     ``k -> backbone.k``; the classifier parts as in :mod:`~uniformer_mm.checkpoint.keys`
            (``head.* -> head.fc.*``, ``aux_head.* -> head.aux_fc.*``, ...).
``dense``   ``k -> backbone.k``; the classification ``norm.*`` (BN), ``head.*``,
            ``aux_head.*``, ``head_cls.*`` and ``norm_cls.*`` are dropped (aliases ``det``,
            ``seg``, ``pose``).
``video``   ``k -> backbone.k``; ``head.* -> cls_head.fc_cls.*`` (mmaction2 heads), the light
            parts as in :mod:`~uniformer_mm.checkpoint.keys`.
==========  ==================================================================================

Files that already use the ``backbone.`` layout (mmcv / mmengine releases, converted files)
are returned unchanged. More tasks can be added with :func:`register_converter`.
"""
from collections import OrderedDict
from typing import Any, Callable, Dict, Mapping, Optional, Union

import torch

from .keys import TOKEN_PARTS, classifier_names

__all__ = ['CONVERTERS', 'register_converter', 'convert_official_to_mm', 'is_mm_layout',
           'make_mm_checkpoint']

StateDict = Mapping[str, torch.Tensor]

#: ``task -> function(official state_dict) -> mm state_dict``.
CONVERTERS: Dict[str, Callable[[StateDict], 'OrderedDict[str, torch.Tensor]']] = {}


def register_converter(*tasks: str) -> Callable:
    """Decorator registering a converter for one or more task names (later ones override)."""
    def wrap(fn: Callable) -> Callable:
        for task in tasks:
            CONVERTERS[task] = fn
        return fn
    return wrap


def is_mm_layout(state_dict: StateDict) -> bool:
    """Whether the keys are already in the OpenMMLab layout (a ``backbone.`` prefix)."""
    return any(k.startswith('backbone.') for k in state_dict)


def _rename(state_dict: StateDict, heads: Mapping[str, str], drop: tuple = ()
            ) -> 'OrderedDict[str, torch.Tensor]':
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for k, v in state_dict.items():
        top = k.split('.', 1)[0]
        if top in drop:
            continue
        if top in heads:
            out[heads[top] + k[len(top):]] = v
        else:
            out['backbone.' + k] = v
    return out


@register_converter('cls', 'tl')
def _convert_cls(state_dict: StateDict) -> 'OrderedDict[str, torch.Tensor]':
    # aux_head is kept (as head.aux_fc) even for a LinearClsHead target: a token-labeling file
    # evaluated without its auxiliary term is then reported as 'unexpected keys', not hidden.
    # head_cls / norm_cls: the class-token classifier of the light models (LightClsHead).
    return _rename(state_dict, classifier_names('cls'))


@register_converter('dense', 'det', 'seg', 'pose')
def _convert_dense(state_dict: StateDict) -> 'OrderedDict[str, torch.Tensor]':
    # Exactly the top-level 'norm' (the classification BN); the dense norm1..norm4 are others.
    return _rename(state_dict, {}, drop=('norm', 'head', *TOKEN_PARTS))


@register_converter('video')
def _convert_video(state_dict: StateDict) -> 'OrderedDict[str, torch.Tensor]':
    return _rename(state_dict, classifier_names('video'))


def convert_official_to_mm(state_dict: StateDict, task: str) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an (unwrapped) official state_dict for the OpenMMLab model of ``task``.

    Args:
        state_dict (Mapping): Official keys (``patch_embed1.*``, ``blocks1.*``, ``head.*`` ...),
            e.g. from :func:`~uniformer_mm.checkpoint.unwrap_state_dict`.
        task (str): One of :data:`CONVERTERS` (``'cls'``, ``'tl'``, ``'dense'``, ``'det'``,
            ``'seg'``, ``'pose'``, ``'video'``, and whatever other modules registered).

    Returns:
        OrderedDict: The renamed state_dict; unchanged if it already has ``backbone.`` keys.
    """
    if task not in CONVERTERS:
        raise KeyError(f'unknown task {task!r} for convert_official_to_mm; known: '
                       f'{sorted(CONVERTERS)}')
    if is_mm_layout(state_dict):
        return OrderedDict(state_dict)
    return CONVERTERS[task](state_dict)


def make_mm_checkpoint(state_dict: StateDict, task: str,
                       arch: Optional[Union[str, Mapping[str, Any]]] = None) -> Dict[str, Any]:
    """A converted checkpoint to save: ``{'state_dict': ..., 'meta': {'arch': arch}}``.

    Recording the architecture matters because head_dim changes no weight shape (see
    :data:`~uniformer_mm.archs.HEAD_DIM_TRAP`): :func:`load_pretrained` refuses to
    load a file whose ``meta['arch']`` head_dim contradicts the model.

    Args:
        state_dict (Mapping): Official (unwrapped) or already converted weights.
        task (str): See :func:`convert_official_to_mm`.
        arch (str | dict, optional): An ``arch_zoo`` name (``'tl_small'``) or the settings
            (``backbone.arch_settings``: depths, embed_dims, head_dim, ...).

    Returns:
        dict: Plain containers and tensors only, loadable with ``weights_only=True``.
    """
    meta: Dict[str, Any] = {'converted_for': task}
    if arch is not None:
        meta['arch'] = arch if isinstance(arch, str) else {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(arch).items()}
    return {'state_dict': convert_official_to_mm(state_dict, task), 'meta': meta}
