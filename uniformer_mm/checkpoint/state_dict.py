"""Unwrapping official checkpoint layouts and describing what a state_dict contains."""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple

import torch

from uniformer_mm.archs import KNOWN_ARCHS

__all__ = ['WRAPPER_KEYS', 'unwrap_state_dict', 'strip_prefix', 'StateDictInfo',
           'describe_state_dict']

#: Keys under which releases store the weights, in the order they are tried:
#: mmcv/mmengine and timm token-labeling files (``state_dict``), DeiT ImageNet files
#: (``model``), SlowFast video files (``model_state``).
WRAPPER_KEYS: Tuple[str, ...] = ('state_dict', 'model', 'model_state')


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def unwrap_state_dict(ckpt: Mapping[str, Any],
                      key: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Return the flat ``name -> tensor`` dict inside a checkpoint, without ``module.`` prefixes.

    Args:
        ckpt (Mapping): A loaded checkpoint: ``{'state_dict': sd, ...}`` (mmcv / mmengine /
            timm token labeling), ``{'model': sd, ...}`` (DeiT ImageNet), ``{'model_state': sd,
            ...}`` (SlowFast video) or a raw state_dict.
        key (str, optional): Take this entry instead of searching :data:`WRAPPER_KEYS`, e.g.
            ``'state_dict_ema'`` or ``'model_ema'`` for the EMA weights.

    Returns:
        OrderedDict: The state_dict, key order preserved, with a leading ``module.``
        (DataParallel / DDP) removed from every key that has one.

    Raises:
        KeyError: ``key`` is given but absent, or no wrapper key holds a state_dict and the
            checkpoint is not a state_dict itself.
    """
    if key is not None:
        if key not in ckpt:
            raise KeyError(f'checkpoint has no {key!r} entry; its top-level keys are '
                           f'{sorted(map(str, ckpt))}')
        sd = ckpt[key]
    else:
        sd = next((ckpt[k] for k in WRAPPER_KEYS if isinstance(ckpt.get(k), Mapping)), None)
        if sd is None:
            if not _is_tensor_dict(ckpt):
                raise KeyError(
                    'cannot find the weights in this checkpoint: no '
                    f'{" / ".join(map(repr, WRAPPER_KEYS))} entry and it is not a state_dict '
                    f'itself; its top-level keys are {sorted(map(str, ckpt))[:20]}')
            sd = ckpt
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for k, v in sd.items():
        out[k[len('module.'):] if k.startswith('module.') else k] = v
    return out


def strip_prefix(state_dict: Mapping[str, torch.Tensor],
                 prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    """Keep the entries whose key starts with ``prefix`` and remove it (``'backbone.'``).

    Args:
        state_dict (Mapping): The state_dict.
        prefix (str): The prefix; a missing trailing dot is added.

    Returns:
        OrderedDict: The selected entries, renamed. Empty if no key has the prefix.
    """
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))


@dataclass
class StateDictInfo:
    """What :func:`describe_state_dict` infers from a state_dict's keys and shapes.

    Attributes:
        ndim (int, optional): 2 (image) or 3 (video) convolutions; ``None`` if no stem found.
        depths (tuple): Blocks per stage (``blocks1..4``).
        embed_dims (tuple): Channels per stage.
        mlp_ratios (tuple): MLP hidden/in ratio per stage.
        conv_stem (bool): ``patch_embed1`` is the two-conv stem (S-plus, light models).
        conv_downsample (bool): ``patch_embed2..4`` are 3x3 conv + BN (cls S-plus).
        layer_scale (str, optional): ``None``, ``'attention'`` (stages 3-4) or ``'all'``.
        light (bool): The hourglass model (``cls_token`` / ``cls_upsample``).
        final_norm (bool): The classification BatchNorm ``norm``.
        out_norms (tuple): Indices of the dense output LayerNorms ``norm1..norm4`` present.
        num_classes (int, optional): Rows of ``head.weight``.
        aux_head (bool): The token-labeling ``aux_head``.
        head_dim (int, optional): Only known from checkpoint metadata (``meta['arch']``).
        matches (list): Official model names with these depths/dims/stem/layer scale.
        prefixes (list): Top-level module names of keys that are not backbone keys.
    """
    ndim: Optional[int] = None
    depths: Tuple[int, ...] = ()
    embed_dims: Tuple[int, ...] = ()
    mlp_ratios: Tuple[float, ...] = ()
    conv_stem: bool = False
    conv_downsample: bool = False
    layer_scale: Optional[str] = None
    light: bool = False
    final_norm: bool = False
    out_norms: Tuple[int, ...] = ()
    num_classes: Optional[int] = None
    aux_head: bool = False
    head_dim: Optional[int] = None
    matches: List[str] = field(default_factory=list)
    prefixes: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.depths:
            return ('not a UniFormer state_dict (no blocks1..4 keys'
                    + (f'; top-level names {self.prefixes}' if self.prefixes else '') + ')')
        kind = {2: '2D', 3: '3D'}.get(self.ndim, '?D')
        parts = [f'{kind} UniFormer{" light (hourglass)" if self.light else ""}',
                 f'depths={self.depths}', f'embed_dims={self.embed_dims}']
        ratios = set(self.mlp_ratios)
        parts.append(f'mlp_ratio={self.mlp_ratios[0] if len(ratios) == 1 else self.mlp_ratios}')
        parts.append('conv stem' + (' + conv downsampling' if self.conv_downsample else '')
                     if self.conv_stem else 'patch-embed stem')
        parts.append({None: 'no layer scale', 'attention': 'layer scale in stage-3/4 blocks',
                      'all': 'layer scale in every block'}.get(self.layer_scale,
                                                                str(self.layer_scale)))
        tops = []
        if self.final_norm:
            tops.append('final BN norm')
        if self.num_classes is not None:
            tops.append(f'head ({self.num_classes} classes)')
        if self.aux_head:
            tops.append('aux_head (token labeling)')
        if self.out_norms:
            tops.append(f'output norms {["norm%d" % (i + 1) for i in self.out_norms]}')
        if tops:
            parts.append(' + '.join(tops))
        parts.append(f'head_dim={self.head_dim} (from metadata)' if self.head_dim else
                     'head_dim not recorded (weights cannot tell it)')
        text = ', '.join(parts)
        if self.matches:
            text += f'; looks like official {" / ".join(self.matches)}'
        return text


def _first(sd: Mapping[str, torch.Tensor], *keys: str) -> Optional[torch.Tensor]:
    return next((sd[k] for k in keys if k in sd), None)


def describe_state_dict(state_dict: Mapping[str, torch.Tensor],
                        meta: Optional[Mapping[str, Any]] = None) -> StateDictInfo:
    """Infer the UniFormer architecture of a state_dict from its keys and shapes.

    Works on un-prefixed backbone keys (strip ``backbone.`` first); keys under other top-level
    names (``neck``, ``decode_head``, ...) are listed in ``prefixes``. The per-head width cannot
    be inferred (see :data:`~uniformer_mm.archs.HEAD_DIM_TRAP`); it is taken from
    ``meta['arch']['head_dim']`` when a converted file records it.

    Args:
        state_dict (Mapping): The weights.
        meta (Mapping, optional): The checkpoint's ``meta`` entry, if any.

    Returns:
        StateDictInfo: Its ``str()`` is a one-line summary for error messages.
    """
    info = StateDictInfo()
    depths, dims, ratios = [], [], []
    for s in range(1, 5):
        idx = {int(m.group(1)) for k in state_dict
               for m in [re.match(rf'blocks{s}\.(\d+)\.', k)] if m}
        depths.append(max(idx) + 1 if idx else 0)
        dpe = state_dict.get(f'blocks{s}.0.pos_embed.weight')
        stem = _first(state_dict, f'patch_embed{s}.proj.weight', f'patch_embed{s}.proj.3.weight',
                      f'patch_embed{s}.proj.0.weight')
        c = dpe.shape[0] if dpe is not None else (stem.shape[0] if stem is not None else 0)
        dims.append(int(c))
        fc1 = state_dict.get(f'blocks{s}.0.mlp.fc1.weight')
        ratios.append(round(fc1.shape[0] / c, 4) if fc1 is not None and c else 0.)
    info.prefixes = sorted({k.split('.')[0] for k in state_dict} - {
        'patch_embed1', 'patch_embed2', 'patch_embed3', 'patch_embed4', 'blocks1', 'blocks2',
        'blocks3', 'blocks4', 'norm', 'norm1', 'norm2', 'norm3', 'norm4', 'head', 'aux_head',
        'cls_token', 'cls_upsample', 'norm_cls', 'head_cls'})
    if not any(depths):
        return info
    info.depths, info.embed_dims, info.mlp_ratios = tuple(depths), tuple(dims), tuple(ratios)
    first = _first(state_dict, 'patch_embed1.proj.weight', 'patch_embed1.proj.0.weight',
                   'blocks1.0.pos_embed.weight')
    info.ndim = first.dim() - 2 if first is not None else None
    info.conv_stem = 'patch_embed1.proj.0.weight' in state_dict
    info.conv_downsample = 'patch_embed2.proj.0.weight' in state_dict
    conv_ls = any(re.match(r'blocks[12]\.\d+\.gamma_1$', k) for k in state_dict)
    attn_ls = any(re.match(r'blocks[34]\.\d+\.gamma_1$', k) for k in state_dict)
    info.layer_scale = 'all' if conv_ls else ('attention' if attn_ls else None)
    info.light = 'cls_token' in state_dict or 'cls_upsample.weight' in state_dict
    info.final_norm = 'norm.weight' in state_dict
    info.out_norms = tuple(i for i in range(4) if f'norm{i + 1}.weight' in state_dict)
    head = state_dict.get('head.weight')
    info.num_classes = int(head.shape[0]) if head is not None else None
    info.aux_head = 'aux_head.weight' in state_dict
    arch = (meta or {}).get('arch') if isinstance(meta, Mapping) else None
    if isinstance(arch, Mapping) and arch.get('head_dim'):
        info.head_dim = int(arch['head_dim'])
    family = ('video' if info.ndim == 3 else 'image') + ('_light' if info.light else '')
    for a in KNOWN_ARCHS:
        if (a.family == family and a.depths == info.depths and a.embed_dims == info.embed_dims
                and a.conv_stem == info.conv_stem and a.layer_scale == info.layer_scale
                and (info.head_dim is None or a.head_dim == info.head_dim)
                # ImageNet files have a plain head, token-labeling ones an aux_head too;
                # backbone-only (dense) files can come from either.
                and (info.num_classes is None or family != 'image'
                     or a.name.startswith('tl_') == info.aux_head)):
            info.matches.append(f'{a.name} (head_dim {a.head_dim})' if family == 'image' else
                                f'{family} {a.name}')
    return info
