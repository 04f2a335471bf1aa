"""Loading official (or converted) UniFormer weights into a module: the one path every entry
point uses (``init_cfg=dict(type='Pretrained', ...)`` of our backbones and heads, tools)."""
import logging
import os
import re
from collections import Counter, OrderedDict
from typing import Any, Iterable, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from uniformer_mm.archs import HEAD_DIM_TRAP, KNOWN_ARCHS
from .convert import convert_official_to_mm, is_mm_layout
from .io import CheckpointError, load_checkpoint_file
from .labels import LabelSpec, apply_label_order
from .protocol import PretrainedModule, backbone_of, protocol_of
from .state_dict import (StateDictInfo, arch_differences, describe_state_dict, strip_prefix,
                         unwrap_state_dict)

__all__ = ['ShapeMismatchError', 'ArchMismatchError', 'load_pretrained', 'summarize_keys',
           'select_prefix']


class ShapeMismatchError(CheckpointError):
    """Checkpoint tensors whose shapes differ from the model's: the file is another arch."""


class ArchMismatchError(CheckpointError):
    """The checkpoint's recorded ``meta['arch']`` contradicts the model (e.g. head_dim)."""


def summarize_keys(keys: Iterable[str], limit: int = 12) -> str:
    """Compact a key list for a log line: block indices become ``*`` and repeats are counted.

    ``['blocks3.0.gamma_1', 'blocks3.1.gamma_1']`` -> ``'blocks3.*.gamma_1 (x2)'``.
    """
    groups = Counter(re.sub(r'^(blocks\d)\.\d+\.', r'\1.*.', k) for k in keys)
    items = [g if n == 1 else f'{g} (x{n})' for g, n in groups.items()]
    more = f', ... and {len(items) - limit} more groups' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def _infer_task(model: nn.Module) -> str:
    """The :func:`convert_official_to_mm` task of a whole (non-backbone) model."""
    # The toolbox a model class comes from says it best (our classifiers subclass theirs).
    roots = {c.__module__.split('.')[0] for c in type(model).__mro__}
    if 'mmaction' in roots:
        return 'video'
    if 'mmpretrain' in roots:
        return 'cls'
    if roots & {'mmdet', 'mmseg', 'mmpose'}:
        return 'dense'
    if hasattr(model, 'cls_head'):
        return 'video'
    if hasattr(model, 'head') and not any(
            hasattr(model, n) for n in ('decode_head', 'rpn_head', 'roi_head', 'bbox_head')):
        return 'cls'
    return 'dense'


def _file_head_dim(meta: Optional[Mapping], backbone: PretrainedModule) -> Optional[int]:
    """head_dim recorded by a converted file: ``meta['arch']`` as a settings dict or a name."""
    arch = meta.get('arch') if isinstance(meta, Mapping) else None
    if isinstance(arch, Mapping):
        return int(arch['head_dim']) if arch.get('head_dim') else None
    if isinstance(arch, str):
        return backbone.arch_zoo.get(arch, {}).get('head_dim')
    return None


def _check_head_dim(backbone: PretrainedModule, meta: Optional[Mapping], info: StateDictInfo,
                    filename: str, logger: Any) -> None:
    """Refuse a recorded head_dim that contradicts the model; warn when the file is ambiguous."""
    model_hd = backbone.head_dim
    if not isinstance(model_hd, int):
        return
    file_hd = _file_head_dim(meta, backbone)
    if file_hd is not None:
        if file_hd != model_hd:
            raise ArchMismatchError(
                f'{filename!r} records head_dim={file_hd} in meta["arch"] but the model uses '
                f'head_dim={model_hd}. {HEAD_DIM_TRAP}')
        return
    # Only classification files name their family (head / aux_head); a backbone-only file
    # matches every head_dim and warning on each dense load would just be noise.
    if info.num_classes is None:
        return
    names = [(a.name, a.head_dim) for a in KNOWN_ARCHS
             if a.family == 'image' and a.depths == info.depths and a.embed_dims == info.embed_dims
             and a.conv_stem == info.conv_stem and a.layer_scale == info.layer_scale
             and a.name.startswith('tl_') == info.aux_head]
    if len({hd for _, hd in names}) > 1:
        # A model built by one of the candidate names was chosen knowingly: say it quietly.
        chosen = backbone.arch_name in {n for n, _ in names}
        print_log(
            f'{filename}: the weights fit several official models with different head_dim '
            f'({", ".join(f"{n}: {hd}" for n, hd in names)}); the model uses head_dim='
            f'{model_hd}. {HEAD_DIM_TRAP}', logger=logger,
            level=logging.INFO if chosen else logging.WARNING)


def _dimension_hint(file_info: StateDictInfo, model_info: StateDictInfo) -> str:
    """The fix when a 2D (image) and a 3D (video) UniFormer meet; '' otherwise."""
    if file_info.ndim == 3 and model_info.ndim == 2:
        return ('The file is a video (3D) UniFormer and the model an image (2D) one: 3D '
                'kernels cannot be turned back into 2D ones. Load it into '
                'uniformer_mm.UniFormer3D / UniFormerLight3D (an mmaction2 config), or give '
                'this model an image checkpoint.\n')
    if file_info.ndim == 2 and model_info.ndim == 3:
        return ('The file is an image (2D) UniFormer and the model a video (3D) one: load it '
                'through the 3D backbone\'s init_cfg with pretrained2d=True (the default), '
                'which inflates the 2D kernels.\n')
    return ''


def select_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str,
                  filename: str) -> 'OrderedDict[str, torch.Tensor]':
    """The keys of ``state_dict`` under ``prefix``, with the prefix removed.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped weights of ``filename``.
        prefix (str): E.g. ``'backbone.'`` or ``'cls_head.'``.
        filename (str): The file, for the error message.

    Raises:
        CheckpointError: No key starts with ``prefix`` (a typo, or a file of another kind);
            the message lists the top-level names the file does have.
    """
    selected = strip_prefix(state_dict, prefix)
    if not selected:
        raise CheckpointError(
            f'no key of {filename!r} starts with prefix {prefix!r}; its top-level names '
            f'are {sorted({k.split(".")[0] for k in state_dict})}')
    return selected


def _convert(proto: PretrainedModule, state_dict: 'OrderedDict[str, torch.Tensor]',
             filename: str) -> 'OrderedDict[str, torch.Tensor]':
    """The module's ``convert_pretrained``, its errors naming the file."""
    try:
        return OrderedDict(proto.convert_pretrained(state_dict))
    except CheckpointError as e:
        raise type(e)(f'{filename!r}: {e}') from e


#: Top-level names of backbone weights: a file's key under one of them that the backbone
#: does not have means another architecture, not an unrelated part of the file.
_BACKBONE_TOPS = re.compile(r'^(patch_embed\d|blocks\d|norm\d?|cls_token|cls_upsample)(\.|$)')


def _check_coverage(target: nn.Module, backbone: nn.Module,
                    state_dict: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor],
                    missing: Iterable[str], unexpected: Iterable[str],
                    file_info: StateDictInfo, filename: str, allow_partial: bool,
                    logger: Any) -> None:
    """Refuse a file that does not fit a UniFormer backbone (issue #22 of the official repo:
    weights that silently did not load gave 1/400 accuracy).

    Refused: nothing loads into the backbone; the file is another UniFormer architecture
    (depths, widths, stem, layer scale, hourglass); backbone parameters would keep their random
    initialisation although they are not keys that no official file has
    (``pretrained_new_keys``); backbone keys of the file have no place in the model. With
    ``allow_partial`` (a deliberate partial load) only "nothing loaded" is refused and the
    rest is reported as warnings.

    Raises:
        ArchMismatchError: Naming the file, what it looks like, the model and the fix.
    """
    pre = 'backbone.' if backbone is not target else ''
    loaded = [k for k in state_dict if k.startswith(pre) and k in own]
    own_backbone = strip_prefix(own, pre) if pre else own
    model_info = describe_state_dict(own_backbone)
    model_info.head_dim = protocol_of(backbone).head_dim
    reasons = []
    if not loaded:
        reasons.append('not one tensor of the file loads into it')
    diffs = arch_differences(file_info, model_info)
    if diffs:
        reasons.append('it is another UniFormer architecture: ' + '; '.join(diffs))
    random = [k[len(pre):] for k in missing if k.startswith(pre)]
    if random and loaded:
        reasons.append(f'{len(random)} backbone parameters would keep their random '
                       f'initialisation: {summarize_keys(random, limit=6)}')
    foreign = [k[len(pre):] for k in unexpected
               if k.startswith(pre) and _BACKBONE_TOPS.match(k[len(pre):])]
    if foreign and loaded:
        reasons.append(f'{len(foreign)} backbone tensors of the file have no place in the '
                       f'model: {summarize_keys(foreign, limit=6)}')
    if not reasons or (allow_partial and loaded):
        if reasons:
            print_log(f'{filename}: partial load into {type(backbone).__name__} '
                      f'(allow_partial=True): {"; ".join(reasons)}', logger=logger,
                      level=logging.WARNING)
        return
    hint = ''
    if file_info.nested_prefix:
        hint = (f"Its UniFormer weights are under {file_info.nested_prefix!r}: add "
                f"prefix={file_info.nested_prefix!r} to the Pretrained init_cfg.\n")
    elif not file_info.depths:
        hint = ('It is not a UniFormer checkpoint: use an official UniFormer release (see the '
                'configs\' READMEs) or a file converted by '
                'tools/model_converters/uniformer_official2mm.py.\n')
    raise ArchMismatchError(
        f'{filename!r} does not fit {type(backbone).__name__}: ' + '; '.join(reasons) + '.\n'
        f'  The file looks like: {file_info}\n'
        f'  The model is:        {model_info}\n' + hint +
        'Fix: build the backbone with the architecture of the file (arch=...), or use the '
        'checkpoint of this architecture. For a deliberate partial load (e.g. a backbone '
        'deeper than the file), add allow_partial=True to the Pretrained init_cfg: '
        "init_cfg=dict(type='Pretrained', checkpoint=..., allow_partial=True).")


def load_pretrained(module: nn.Module,
                    filename: Union[str, 'os.PathLike[str]'],
                    prefix: Optional[str] = None,
                    logger: Any = 'current',
                    map_location: Union[str, torch.device] = 'cpu',
                    task: Optional[str] = None,
                    allow_partial: bool = False,
                    src_labels: Optional[LabelSpec] = None,
                    dst_labels: Optional[LabelSpec] = None) -> None:
    """Load an official or converted UniFormer checkpoint into ``module``, loudly.

    Steps:

    1. Read the file safely (:func:`~uniformer_mm.checkpoint.load_checkpoint_file`) and unwrap
       ``{'model' | 'state_dict' | 'model_state': ...}`` and ``module.`` prefixes.
    2. Select the keys for ``module``: with ``prefix``, the keys under it (prefix removed);
       for a whole model (a module with a ``backbone`` child) official keys are renamed with
       :func:`~uniformer_mm.checkpoint.convert_official_to_mm`; for anything else
       (a backbone), its ``pretrained_prefix`` (``backbone.``) is stripped if the file has
       one (heads set ``pretrained_prefix = None`` and select their keys in the hook).
    3. Call the module's ``convert_pretrained(state_dict) -> state_dict`` (the loading
       protocol, :class:`~uniformer_mm.checkpoint.protocol.PretrainedModule`: backbones drop
       what they have no place for and the 3D ones inflate 2D kernels; heads pick their keys).
    4. Refuse shape mismatches (:class:`ShapeMismatchError`, naming the keys and describing
       both the file and the model) and a contradicting ``meta['arch']`` head_dim
       (:class:`ArchMismatchError`).
    5. For a UniFormer backbone (``pretrained_must_cover``; also the backbone of a whole
       model), refuse a file that does not fit (:class:`ArchMismatchError`): nothing loads,
       another architecture, backbone parameters left at their random initialisation, or
       backbone tensors of the file with no place in the model -- unless ``allow_partial``.
    6. Load with ``strict=False`` and log missing and unexpected keys as warnings through
       mmengine's logger. Missing keys under the module's ``pretrained_new_keys`` prefixes
       (keys no official file has, e.g. the dense output norms) and what the modules drop by
       design are logged at INFO level.

    The head_dim of the attention blocks cannot be seen in the weights; see
    :data:`~uniformer_mm.archs.HEAD_DIM_TRAP`. A converted file may record it as
    ``meta['arch'] = dict(head_dim=..., ...)`` (or an ``arch_zoo`` name), which is checked.

    Args:
        module (nn.Module): The receiving module (model wrappers are unwrapped).
        filename (str | PathLike): Local path or ``http(s)://`` URL.
        prefix (str, optional): Load only the keys under this prefix (e.g. ``'backbone.'``,
            as mmengine's ``Pretrained`` initializer).
        logger (str | logging.Logger): mmengine ``print_log`` logger. Defaults to 'current'.
        map_location (str | torch.device): Where to put the tensors. Defaults to 'cpu'.
        task (str, optional): Conversion task for whole models; inferred if not given.
        allow_partial (bool): Accept a file that covers only part of a UniFormer backbone
            (reported as warnings) instead of refusing it. Defaults to False.
        src_labels, dst_labels: Class orders of the classifier rows in the file and in the
            model's dataset (:func:`~uniformer_mm.checkpoint.labels.read_labels` specs; the
            ``init_cfg`` keys of the same names). Given either, the rows are reordered by
            class name first (:func:`~uniformer_mm.checkpoint.labels.reorder_classes`; an
            official file's source order defaults to the official order of the destination's
            dataset, an OpenMMLab file's to its ``meta['label_order']``).

    Raises:
        CheckpointError: Unreadable/unsafe file, no key under ``prefix``, shape or
            recorded-arch mismatch.
        ArchMismatchError: The file does not fit the UniFormer backbone (see step 5).
    """
    filename = os.fspath(filename)
    ckpt = load_checkpoint_file(filename, map_location=map_location)
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), Mapping) else None
    state_dict = unwrap_state_dict(ckpt)
    if src_labels is not None or dst_labels is not None:
        state_dict, _ = apply_label_order(state_dict, not is_mm_layout(state_dict), meta,
                                          src_labels, dst_labels, logger, filename)
    target = module.module if is_model_wrapper(module) else module
    proto = protocol_of(target)
    backbone = backbone_of(target)
    whole_model = backbone is not target

    if prefix:
        state_dict = select_prefix(state_dict, prefix, filename)
    elif whole_model:
        state_dict = convert_official_to_mm(state_dict, task or _infer_task(target))
    elif proto.pretrained_prefix and is_mm_layout(state_dict):
        # Heads (pretrained_prefix None) pick their own keys in convert_pretrained.
        own_prefix = proto.pretrained_prefix
        others = sorted({k.split('.')[0] for k in state_dict if not k.startswith(own_prefix)})
        state_dict = strip_prefix(state_dict, own_prefix)
        if others:
            print_log(f'{filename}: loading the {own_prefix}* weights only (skipping {others})',
                      logger=logger, level=logging.INFO)

    if whole_model:
        # The backbone part goes through the backbone's own protocol, as on the init_cfg
        # route: what it drops by design (a pose file's unused output norms, ...) is
        # reported the same way whichever route loads the file.
        part = _convert(protocol_of(backbone), strip_prefix(state_dict, 'backbone.'),
                        filename)
        state_dict = OrderedDict([*(('backbone.' + k, v) for k, v in part.items()),
                                  *((k, v) for k, v in state_dict.items()
                                    if not k.startswith('backbone.'))])
    state_dict = _convert(proto, state_dict, filename)

    own = target.state_dict()
    file_backbone = strip_prefix(state_dict, 'backbone.') if whole_model else state_dict
    file_info = describe_state_dict(file_backbone, meta)
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state_dict.items()
                  if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if mismatched:
        own_backbone = strip_prefix(own, 'backbone.') if whole_model else own
        model_info = describe_state_dict(own_backbone)
        lines = '\n'.join(f'  {k}: checkpoint {a} vs model {b}' for k, a, b in mismatched[:20])
        more = f'\n  ... and {len(mismatched) - 20} more' if len(mismatched) > 20 else ''
        raise ShapeMismatchError(
            f'{filename!r} does not fit {type(target).__name__}: {len(mismatched)} tensors '
            f'differ in shape:\n{lines}{more}\nThe file looks like: {file_info}\n'
            f'The model is:         {model_info}\n'
            + _dimension_hint(file_info, model_info) +
            'Build the model with the arch of the file (arch=... / depths / embed_dims / '
            'conv_stem / layer_scale) or use a matching checkpoint.')
    _check_head_dim(protocol_of(backbone), meta, file_info, filename, logger)

    ignore = re.compile(r'(^|\.)num_batches_tracked$')
    missing = [k for k in own if k not in state_dict and not ignore.search(k)]
    unexpected = [k for k in state_dict if k not in own]
    new_prefixes = tuple(proto.pretrained_new_keys)
    if whole_model:  # a whole model: its backbone's new keys, prefixed
        new_prefixes += tuple('backbone.' + p for p in protocol_of(backbone).pretrained_new_keys)
    expected_missing = [k for k in missing if new_prefixes and k.startswith(new_prefixes)]
    missing = [k for k in missing if k not in expected_missing]
    if protocol_of(backbone).pretrained_must_cover:
        _check_coverage(target, backbone, state_dict, own, missing, unexpected, file_info,
                        filename, allow_partial, logger)

    target.load_state_dict(state_dict, strict=False)

    loaded = len(state_dict) - len(unexpected)
    print_log(f'Loaded {loaded} tensors into {type(target).__name__} from {filename} '
              f'({file_info})', logger=logger, level=logging.INFO)
    if expected_missing:
        print_log(f'{len(expected_missing)} parameters have no pretrained value and keep their '
                  f'initialisation, as in the official code: {summarize_keys(expected_missing)}',
                  logger=logger, level=logging.INFO)
    if missing:
        print_log(f'MISSING {len(missing)} keys of {type(target).__name__} are not in '
                  f'{filename} and keep their initialisation: {summarize_keys(missing)}',
                  logger=logger, level=logging.WARNING)
    if unexpected:
        print_log(f'UNEXPECTED {len(unexpected)} keys of {filename} are not used by '
                  f'{type(target).__name__}: {summarize_keys(unexpected)}',
                  logger=logger, level=logging.WARNING)
