"""Whole official release files -> whole OpenMMLab 2.0 model checkpoints (tools' side).

:func:`~uniformer_mm.checkpoint.convert_official_to_mm` renames the official *model* keys of
one task. A release file is more than that: a wrapper (``model`` / ``state_dict`` /
``model_state``), training state (``optimizer``, apex ``amp``, ``scaler``, ``args``), and for
the dense releases whole mmdet 2.11 / mmseg 0.13 / mmpose 0.16 models whose head names changed
in the 1.x toolboxes. This module recognises which release a file is
(:func:`detect_release`), turns it into the model layout of the matching 2.0 toolbox
(:func:`convert_release`), records the architecture in ``meta['arch']`` so that a later load
into another configuration is refused by name, and compares a file's architecture with a
built model (:func:`check_same_arch`). Used by ``tools/model_converters/uniformer_official2mm.py``
and ``tools/test.py``.

==================  ====================================  ====================================
release kind        recognised by                         converted to
==================  ====================================  ====================================
``image``           un-prefixed 2D keys + ``head.*``      mmpretrain: ``head.fc.*``
``image_tl``        ... + ``aux_head.*``                  ... + ``head.aux_fc.*``
``image_light``     ... + ``cls_token``, ``head_cls``     ``head.{fc,fc_token,norm_token}``
``video``           5-D stem kernel + ``head.*``          mmaction2: ``cls_head.fc_cls.*``
``video_light``     5-D + ``cls_token``                   ``cls_head.{fc_cls,fc_token,...}``
``backbone``        un-prefixed keys, no classifier       ``backbone.*``
``mmdet``           ``backbone.*`` + ``rpn_head``/        unchanged (mmdet 3.x kept the 2.x
                    ``roi_head``/``bbox_head``            names)
``mmseg``           ``backbone.*`` + ``decode_head``      unchanged (mmseg 1.x kept the names)
``mmpose``          ``backbone.*`` + ``keypoint_head``    mmpose 1.x ``head.*`` (HeatmapHead)
``mm``              ``backbone.*`` + 2.0 head names       unchanged (converted / trained)
==================  ====================================  ====================================
"""
import os
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from uniformer_mm.archs import HEAD_DIM_TRAP, KNOWN_ARCHS
from .convert import convert_official_to_mm
from .io import CheckpointError, load_checkpoint_file
from .labels import LABEL_ORDERS, LabelSpec, apply_label_order, read_labels
from .loading import ArchMismatchError
from .protocol import backbone_of, inner_model, protocol_of
from .release_kinds import RELEASE_KINDS, RELEASE_TOOLBOX
from .state_dict import (StateDictInfo, arch_differences, describe_state_dict, strip_prefix,
                         unwrap_state_dict)

__all__ = ['RELEASE_KINDS', 'RELEASE_TOOLBOX', 'detect_release', 'detect_release_file',
           'is_openmmlab2_checkpoint', 'convert_release',
           'convert_release_file', 'convert_release_checkpoint', 'convert_for_mmengine',
           'check_mmengine_load',
           'backbone_arch', 'model_arch', 'check_same_arch',
           'infer_head_dim']

StateDict = 'OrderedDict[str, torch.Tensor]'

#: Official ImageNet-1k classifier releases.
IMAGENET_KINDS = ('image', 'image_tl', 'image_light')
# Top-level module names of the 1.x/0.x dense models.
_DET_HEADS = ('rpn_head', 'roi_head', 'bbox_head', 'mask_head')
_SEG_HEADS = ('decode_head', 'auxiliary_head')


def _tops(state_dict: Mapping[str, Any]) -> set:
    return {k.split('.', 1)[0] for k in state_dict}


def detect_release(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Which kind of release an unwrapped state_dict is (a key of :data:`RELEASE_KINDS`).

    Args:
        state_dict (Mapping): Weights after :func:`unwrap_state_dict` (``module.`` removed).

    Raises:
        CheckpointError: The keys are not those of any UniFormer release.
    """
    tops = _tops(state_dict)
    if 'backbone' in tops:
        if 'keypoint_head' in tops:
            return 'mmpose'
        if tops & set(_DET_HEADS):
            return 'mmdet'
        if tops & set(_SEG_HEADS):
            return 'mmseg'
        return 'mm'
    info = describe_state_dict(state_dict)
    if not info.depths:
        raise CheckpointError(
            f'not a UniFormer release: {info}. Expected official keys (patch_embed1.*, '
            'blocks1.*, ...) or an OpenMMLab model with backbone.* keys')
    if info.ndim == 3:
        return 'video_light' if info.light else 'video'
    if info.light:
        return 'image_light' if 'head.weight' in state_dict else 'backbone'
    if info.aux_head:
        return 'image_tl'
    return 'image' if info.num_classes is not None else 'backbone'


def is_openmmlab2_checkpoint(ckpt: Mapping[str, Any]) -> bool:
    """Whether a loaded file was written by an mmengine Runner or by our converter.

    mmdet 2.x and 3.x (or mmseg 0.x and 1.x) model keys look alike; the file around them does
    not: mmengine Runners store ``message_hub`` and ``meta['dataset_meta']`` /
    ``meta['mmengine_version']`` where mmcv 1.x runners stored ``meta['mmcv_version']`` and
    ``meta['CLASSES']``.
    """
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), Mapping) else {}
    return ('message_hub' in ckpt or 'dataset_meta' in meta or 'mmengine_version' in meta
            or meta.get('converted_by') == 'uniformer_mm')


def detect_release_file(ckpt: Mapping[str, Any]) -> str:
    """Like :func:`detect_release` on a loaded (still wrapped) checkpoint: OpenMMLab 2.0 files
    (:func:`is_openmmlab2_checkpoint`) are ``'mm'`` whatever their keys."""
    if is_openmmlab2_checkpoint(ckpt):
        return 'mm'
    return detect_release(unwrap_state_dict(ckpt))


def _pose_head_key(key: str, num_conv_layers: int) -> str:
    """mmpose 0.x ``TopDownSimpleHead`` key (after ``keypoint_head.``) -> 1.x ``HeatmapHead``.

    0.x kept the optional extra convs and the output conv together in ``final_layer``:
    ``final_layer.{weight,bias}`` without extra convs, else ``final_layer.<i>.*`` where the
    last index is the output conv. 1.x splits them into ``conv_layers`` and ``final_layer``.
    """
    parts = key.split('.')
    if parts[0] == 'final_layer' and len(parts) == 3:
        idx = int(parts[1])
        if idx < num_conv_layers:
            return f'conv_layers.{idx}.{parts[2]}'
        return f'final_layer.{parts[2]}'
    return key


def _convert_pose(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    head = strip_prefix(state_dict, 'keypoint_head.')
    indexed = sorted({int(k.split('.')[1]) for k in head
                      if re.match(r'final_layer\.\d+\.', k)})
    # With extra convs, 0.x final_layer is Sequential(conv, BN, ReLU, ..., output conv): the
    # output conv's index equals the length of 1.x conv_layers (which holds the rest).
    num_conv_layers = indexed[-1] if indexed else 0
    out: StateDict = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith('keypoint_head.'):
            out['head.' + _pose_head_key(k[len('keypoint_head.'):], num_conv_layers)] = v
        else:
            out[k] = v
    return out


#: Official model releases -> their :func:`convert_official_to_mm` task (the light ones too:
#: the converters map their class-token classifier ``head_cls`` / ``norm_cls``).
_OFFICIAL_TASK: Dict[str, str] = {'image': 'cls', 'image_tl': 'tl', 'image_light': 'cls',
                                  'video': 'video', 'video_light': 'video'}


def convert_release(state_dict: Mapping[str, torch.Tensor], kind: Optional[str] = None
                    ) -> Tuple[StateDict, str]:
    """Convert an unwrapped release state_dict to the 2.0 model layout of its toolbox.

    Args:
        state_dict (Mapping): Weights after :func:`unwrap_state_dict`.
        kind (str, optional): A key of :data:`RELEASE_KINDS`; detected when not given.

    Returns:
        tuple: ``(state_dict, kind)``; every key is prefixed by its model part
        (``backbone.``, ``head.``, ``cls_head.``, ``neck.``, ...).
    """
    kind = kind or detect_release(state_dict)
    if kind not in RELEASE_KINDS:
        raise KeyError(f'unknown release kind {kind!r}; known: {sorted(RELEASE_KINDS)}')
    if kind in _OFFICIAL_TASK:
        return convert_official_to_mm(state_dict, _OFFICIAL_TASK[kind]), kind
    if kind == 'backbone':
        return OrderedDict(('backbone.' + k, v) for k, v in state_dict.items()), kind
    if kind == 'mmpose':
        return _convert_pose(state_dict), kind
    # mmdet 2.11 -> 3.x and mmseg 0.13 -> 1.x: the model keys of Mask/Cascade R-CNN, FPN,
    # UperHead and FPNHead kept their names; only the file around them differs.
    return OrderedDict(state_dict), kind


def infer_head_dim(info: StateDictInfo) -> Tuple[Optional[int], List[Tuple[str, int]]]:
    """head_dim of the official models whose weights look like ``info``.

    Returns:
        tuple: ``(head_dim or None if the candidates disagree or none matches,
        [(official name, head_dim), ...])``.
    """
    if info.head_dim:
        return info.head_dim, []
    family = ('video' if info.ndim == 3 else 'image') + ('_light' if info.light else '')
    cands = [(a.name, a.head_dim) for a in KNOWN_ARCHS
             if a.family == family and a.depths == info.depths
             and a.embed_dims == info.embed_dims and a.conv_stem == info.conv_stem
             and a.layer_scale == info.layer_scale
             and (info.num_classes is None or family != 'image'
                  or a.name.startswith('tl_') == info.aux_head)]
    hds = {hd for _, hd in cands}
    return (hds.pop() if len(hds) == 1 else None), cands


def backbone_arch(info: StateDictInfo, head_dim: Optional[int] = None) -> Dict[str, Any]:
    """The ``meta['arch']`` record of a backbone described by ``info`` (plain lists/ints)."""
    arch: Dict[str, Any] = dict(
        depths=list(info.depths), embed_dims=list(info.embed_dims),
        conv_stem=info.conv_stem, layer_scale=info.layer_scale)
    if set(info.mlp_ratios) != {4.0}:
        arch['mlp_ratio'] = [float(r) for r in info.mlp_ratios]
    if head_dim:
        arch['head_dim'] = int(head_dim)
    arch['ndim'] = info.ndim
    arch['light'] = info.light
    return arch


def model_arch(model: nn.Module) -> Tuple[StateDictInfo, Dict[str, Any]]:
    """Describe the UniFormer backbone of a built model: ``(info, meta['arch'] record)``."""
    backbone = backbone_of(model)
    info = describe_state_dict(backbone.state_dict())
    return info, backbone_arch(info, protocol_of(backbone).head_dim)



def check_same_arch(state_dict: Mapping[str, torch.Tensor], model: nn.Module,
                    meta: Optional[Mapping[str, Any]] = None, filename: str = 'checkpoint',
                    model_name: str = 'the model', ignore: Tuple[str, ...] = ()) -> None:
    """Refuse a checkpoint whose UniFormer backbone is another architecture than the model's.

    Compares dimensionality, depths, widths, stem, layer scale and hourglass, and the
    ``head_dim`` recorded in ``meta['arch']`` (which no weight shape shows). Stage depths
    differ without any shape mismatch, which a plain ``load_state_dict(strict=False)`` would
    only report as missing / unexpected keys; here it is an error naming both.

    Args:
        state_dict (Mapping): The file's weights in the 2.0 layout (``backbone.*``).
        model (nn.Module): The built model (wrappers are looked through).
        meta (Mapping, optional): The file's ``meta``.
        filename (str): For the message.
        model_name (str): For the message, e.g. the config path.
        ignore (tuple): Fields not to compare (``('ndim',)`` when 2D weights are inflated).

    Raises:
        ArchMismatchError: Naming the file's and the model's architecture.
    """
    backbone_sd = strip_prefix(state_dict, 'backbone.') or state_dict
    file_info = describe_state_dict(backbone_sd, meta)
    model_info, arch = model_arch(model)
    model_info.head_dim = arch.get('head_dim')
    diffs = arch_differences(file_info, model_info, ignore)
    if diffs:
        raise ArchMismatchError(
            f'{filename!r} is another UniFormer than {model_name} ({"; ".join(diffs)}).\n'
            f'  checkpoint: {file_info}\n  model:      {model_info}\n'
            'Use the config that matches the checkpoint (or the checkpoint of this config).'
            + (f' {HEAD_DIM_TRAP}' if any(d.startswith('head_dim') for d in diffs) else ''))


def convert_release_file(src: Union[str, 'os.PathLike[str]'], kind: Optional[str] = None,
                         head_dim: Optional[int] = None, ema: bool = False,
                         src_labels: Optional[LabelSpec] = None,
                         dst_labels: Optional[LabelSpec] = None) -> Dict[str, Any]:
    """Read an official (or 2.0) file and return the converted checkpoint to save.

    Args:
        src (str | PathLike): The release file (read with ``weights_only=True``).
        kind (str, optional): Force a release kind instead of detecting it.
        head_dim (int, optional): The attention head width to record; otherwise taken from
            the file's own ``meta['arch']`` or inferred when every official model with these
            weights agrees (see :data:`~uniformer_mm.archs.HEAD_DIM_TRAP`).
        ema (bool): Convert the EMA weights (``model_ema`` / ``state_dict_ema``) instead.
        src_labels, dst_labels: Class orders of the classifier rows (see
            :func:`~uniformer_mm.checkpoint.labels.reorder_classes`): the rows of official
            video files are put in ``dst_labels`` (the config's ``label_order``), from the
            official order of that dataset unless ``src_labels`` says otherwise.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {'arch', 'release_kind', 'toolbox', 'source',
        'label_order'?, 'head_dim_candidates'?}}``: tensors and plain Python values only, so
        the saved file reads with ``torch.load(weights_only=True)``. ``label_order`` is the
        class order of the classifier rows (e.g. ``'mmaction2_k400'``) where known.
    """
    return convert_release_checkpoint(load_checkpoint_file(src), os.path.basename(os.fspath(src)),
                                      kind=kind, head_dim=head_dim, ema=ema,
                                      src_labels=src_labels, dst_labels=dst_labels)


def convert_release_checkpoint(ckpt: Mapping[str, Any], source: str,
                               kind: Optional[str] = None, head_dim: Optional[int] = None,
                               ema: bool = False, src_labels: Optional[LabelSpec] = None,
                               dst_labels: Optional[LabelSpec] = None) -> Dict[str, Any]:
    """:func:`convert_release_file` on a checkpoint already read; ``source`` names it in
    messages and in ``meta['source']``."""
    src = source
    key = None
    if ema:
        key = next((k for k in ('model_ema', 'state_dict_ema') if k in ckpt), None)
        if key is None:
            raise CheckpointError(f'{src!r} has no EMA weights (model_ema / '
                                  f'state_dict_ema); its entries are {sorted(map(str, ckpt))}')
    old_meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), Mapping) else {}
    raw = unwrap_state_dict(ckpt, key)
    state_dict, kind = convert_release(raw, kind or detect_release_file(ckpt))
    # Plain tensors only: detach views / parameters, keep dtypes (BN counters are int64).
    state_dict = OrderedDict((k, v.detach().clone().contiguous() if v.is_floating_point() else
                              v.detach().clone()) for k, v in state_dict.items())
    info = describe_state_dict(strip_prefix(state_dict, 'backbone.'), old_meta)
    meta: Dict[str, Any] = {'release_kind': kind, 'toolbox': RELEASE_TOOLBOX[kind],
                            'source': os.path.basename(src),
                            'converted_by': 'uniformer_mm'}
    # Classifier rows in the class order of the destination dataset (docs/labels.md): official
    # video files are in the official order, OpenMMLab ones in their recorded order.
    official_video = kind in ('video', 'video_light')
    if official_video or src_labels is not None or dst_labels is not None:
        state_dict, order = apply_label_order(state_dict, official_video, old_meta, src_labels,
                                              dst_labels, source=meta['source'])
        if order is not None:
            meta['label_order'] = order
    elif isinstance(old_meta, Mapping) and old_meta.get('label_order'):
        meta['label_order'] = old_meta['label_order']
    if info.depths:
        found, cands = infer_head_dim(info)
        meta['arch'] = backbone_arch(info, head_dim or found)
        if not (head_dim or found) and cands:
            meta['head_dim_candidates'] = {name: hd for name, hd in cands}
        meta['arch_description'] = str(describe_state_dict(
            strip_prefix(state_dict, 'backbone.'), meta))
    if isinstance(old_meta, Mapping):
        # Keep what describes the data (class names, palette) and is plain data.
        # mmcv 1.x files name them CLASSES / PALETTE; 2.0 visualizers read dataset_meta.
        dataset_meta = dict(old_meta.get('dataset_meta') or {})
        for old, new in (('CLASSES', 'classes'), ('PALETTE', 'palette')):
            if old in old_meta and new not in dataset_meta:
                dataset_meta[new] = old_meta[old]
        if kind in IMAGENET_KINDS and 'classes' not in dataset_meta \
                and describe_state_dict(raw).num_classes == 1000:
            # Official ImageNet files carry no class names; the toolboxes' inferencers and
            # visualizers read them from here.
            dataset_meta['classes'] = read_labels('imagenet1k')
        elif official_video and meta.get('label_order') in LABEL_ORDERS \
                and 'classes' not in dataset_meta:
            dataset_meta['classes'] = read_labels(meta['label_order'])
        if dataset_meta:
            meta['dataset_meta'] = dataset_meta
    return {'state_dict': state_dict, 'meta': meta}


#: Release kinds that mmengine's own loaders cannot be given converted without the config:
#: the classifier rows of official video files are in the official class order, and the
#: order they must be put in is the config's ``label_order``.
NEEDS_CONFIG_KINDS = ('video', 'video_light')


def convert_for_mmengine(ckpt: Any, filename: str) -> Any:
    """What mmengine's checkpoint loaders return for an official UniFormer release file.

    mmengine reads checkpoints for ``load_from``, for a toolbox model's
    ``init_cfg=dict(type='Pretrained')`` and for the toolboxes' inferencers / ``get_model``
    (``mmpretrain.ImageClassificationInferencer(config, pretrained=FILE)``, ...); all of them
    expect the OpenMMLab layout. An official file would load nothing there (its keys are not
    the model's) or fail inside a hook (``KeyError: 'state_dict'`` in ``EMAHook``). So:

    * official ImageNet, token-labeling, light and dense (mmdet / mmseg / mmpose 1.x) releases
      are converted in memory, as by ``tools/test.py`` (:func:`convert_release_checkpoint`);
    * official video releases are refused (:data:`NEEDS_CONFIG_KINDS`) with the converter
      command, because reordering their classifier rows needs the config;
    * anything else (OpenMMLab 2.0 files, bare backbones, other models) is returned unchanged.

    Args:
        ckpt: What mmengine's loader read.
        filename (str): The path or URL it was read from (for messages).

    Raises:
        CheckpointError: An official video release.
    """
    if not isinstance(ckpt, Mapping) or is_openmmlab2_checkpoint(ckpt):
        return ckpt
    try:
        state_dict = unwrap_state_dict(ckpt)
        kind = detect_release(state_dict)
    except (CheckpointError, KeyError):
        return ckpt  # not a UniFormer release: mmengine's business
    if kind in ('mm', 'backbone'):
        return ckpt  # the OpenMMLab layout already, or no model around the backbone
    if kind in ('mmdet', 'mmseg', 'mmpose') and not describe_state_dict(
            strip_prefix(state_dict, 'backbone.')).depths:
        return ckpt  # a 1.x dense model of another backbone
    if kind in NEEDS_CONFIG_KINDS:
        raise CheckpointError(
            f'{filename!r} is an official {RELEASE_KINDS[kind]} release: its classifier rows '
            "are in the official class order, and putting them in your dataset's order needs "
            "the config's label_order. Convert it for your config first: python tools/"
            f'model_converters/uniformer_official2mm.py {filename} CONVERTED.pth --config '
            'CONFIG, then load CONVERTED.pth (tools/test.py and uniformer_mm.apis.init_model '
            'accept the official file directly)')
    from mmengine.logging import print_log
    print_log(f'{filename} is an official release file ({RELEASE_KINDS[kind]}); converted on '
              'the fly. To keep a converted copy: python tools/model_converters/'
              f'uniformer_official2mm.py {filename} CONVERTED.pth', logger='current')
    return convert_release_checkpoint(ckpt, os.path.basename(str(filename)), kind=kind)


def check_mmengine_load(model: nn.Module, checkpoint: Any) -> None:
    """Refuse, before mmengine loads it, a checkpoint whose UniFormer is another architecture.

    mmengine's loads (``load_from``, an inferencer's weights, ``Pretrained`` init of a
    toolbox model) are not strict: a backbone of other depths or widths only logs missing
    keys and size mismatches, and the run goes on with those weights random. For a model
    with a UniFormer backbone and a file with ``backbone.*`` weights, the architectures are
    compared first (:func:`check_same_arch`). Heads are left to mmengine: a head of another
    class count is the usual fine-tuning case, and mmengine names it.

    Args:
        model (nn.Module): The model mmengine loads into (wrappers are looked through).
        checkpoint: What mmengine's loader returned.

    Raises:
        ArchMismatchError: Naming the file's and the model's architecture.
    """
    if not isinstance(checkpoint, Mapping):
        return
    inner = inner_model(model)
    if not isinstance(getattr(inner, 'backbone', None), nn.Module):
        return
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        return
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    if not any(k.startswith('backbone.') for k in state_dict) or \
            not describe_state_dict(inner.backbone.state_dict()).depths:
        return  # nothing for the backbone, or not a UniFormer model
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else None
    source = (meta or {}).get('source') or 'the checkpoint'
    check_same_arch(state_dict, inner, meta, source, f'the {type(inner).__name__}')
