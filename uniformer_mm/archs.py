"""Every official UniFormer architecture, as data: the one table the backbones and the
checkpoint tools read (no torch, no toolbox imports, so any layer may import it).

Each backbone class takes its ``arch_zoo`` from :data:`ARCH_ZOO` (``UniFormer`` the
``'image'`` family, ``UniFormer3D`` ``'video'``, ``UniFormerLight`` ``'image_light'``,
``UniFormerLight3D`` ``'video_light'``), and :func:`~uniformer_mm.checkpoint.describe_state_dict`
matches a checkpoint against :data:`KNOWN_ARCHS`, derived from the same tables, to say which
official model a file looks like. The family names double as the release kinds of official
classification files (see :mod:`uniformer_mm.checkpoint.release`). Sources and the official
values: ``docs/architecture.md`` ("Architectures").

Settings of one architecture:

* ``depths`` / ``embed_dims``: blocks and channels of the four stages;
* ``head_dim``: channels per attention head in stages 3-4 (changes no weight shape, see
  :data:`HEAD_DIM_TRAP`);
* ``mlp_ratio``: MLP hidden / embed channels (one value, or one per stage);
* ``conv_stem``: the two-conv stem (and, in the 2D ``UniFormer``, 3x3 conv downsampling) of
  the S-plus and light models instead of the 4x4 / 2x2 patch embeddings;
* ``layer_scale``: where layer-scale gammas sit: ``None``, ``'attention'`` (stage-3/4 blocks,
  ImageNet ``base_ls``) or ``'all'`` (every block, ``large_ls``);
* light models only: ``prune_ratios`` and ``trade_offs`` of the stage-3 and stage-4 blocks.
"""
from typing import Dict, List, NamedTuple, Optional, Tuple

__all__ = ['IMAGE_ARCHS', 'VIDEO_ARCHS', 'LIGHT_ARCHS', 'ARCH_ZOO', 'KnownArch', 'KNOWN_ARCHS',
           'HEAD_DIM_TRAP']

_S = dict(depths=(3, 4, 8, 3), embed_dims=(64, 128, 320, 512))
_SP = dict(depths=(3, 5, 9, 3), embed_dims=(64, 128, 320, 512))
_B = dict(depths=(5, 8, 20, 7), embed_dims=(64, 128, 320, 512))
_L = dict(depths=(5, 10, 24, 7), embed_dims=(128, 192, 448, 640))
_PLAIN = dict(mlp_ratio=4., conv_stem=False, layer_scale=None)
_PLUS = dict(mlp_ratio=4., conv_stem=True, layer_scale=None)

#: The official 2D models (ImageNet classification, token labeling, dense backbones). The
#: ``tl_*`` names are the token-labeling releases; ``tl_small`` / ``tl_base`` use head_dim 32
#: although the official token-labeling code calls them ``uniformer_small`` / ``_base``.
IMAGE_ARCHS: Dict[str, dict] = {
    'small': dict(**_S, head_dim=64, **_PLAIN),
    'small_plus': dict(**_SP, head_dim=32, **_PLUS),
    'small_plus_dim64': dict(**_SP, head_dim=64, **_PLUS),
    'base': dict(**_B, head_dim=64, **_PLAIN),
    'base_ls': dict(**_B, head_dim=64, **dict(_PLAIN, layer_scale='attention')),
    'large_ls': dict(**_L, head_dim=64, **dict(_PLAIN, layer_scale='all')),
    'tl_small': dict(**_S, head_dim=32, **_PLAIN),
    'tl_small_dim64': dict(**_S, head_dim=64, **_PLAIN),
    'tl_small_plus': dict(**_SP, head_dim=32, **_PLUS),
    'tl_small_plus_dim64': dict(**_SP, head_dim=64, **_PLUS),
    'tl_base': dict(**_B, head_dim=32, **_PLAIN),
    'tl_base_dim64': dict(**_B, head_dim=64, **_PLAIN),
    'tl_large_ls': dict(**_L, head_dim=64, **dict(_PLAIN, layer_scale='all')),
}

#: The official video models (SlowFast ``Uniformer``); ``s`` / ``b`` are short names.
VIDEO_ARCHS: Dict[str, dict] = {
    **dict.fromkeys(('small', 's'), dict(**_S, head_dim=64, **_PLAIN)),
    **dict.fromkeys(('base', 'b'), dict(**_B, head_dim=64, **_PLAIN)),
}

# Official prune_ratio == trade_off for every released light model.
_XXS_RATIOS = ((1., ) + (.5, ) * 7, (.5, ) * 2)
_XS_RATIOS = ((1., ) + (.5, ) * 8, (.5, ) * 3)

#: The efficient hourglass models (``uniformer_xxs`` / ``uniformer_xs``; the video
#: ``Uniformer_light*`` configs use the same two).
LIGHT_ARCHS: Dict[str, dict] = {
    'xxs': dict(depths=(2, 5, 8, 2), embed_dims=(56, 112, 224, 448), head_dim=28, mlp_ratio=3.,
                conv_stem=True, layer_scale=None, prune_ratios=_XXS_RATIOS,
                trade_offs=_XXS_RATIOS),
    'xs': dict(depths=(3, 5, 9, 3), embed_dims=(64, 128, 256, 512), head_dim=32, mlp_ratio=3.,
               conv_stem=True, layer_scale=None, prune_ratios=_XS_RATIOS,
               trade_offs=_XS_RATIOS),
}

#: Backbone family -> its architectures. 2D / 3D and plain / hourglass are the two axes.
ARCH_ZOO: Dict[str, Dict[str, dict]] = {
    'image': IMAGE_ARCHS,
    'image_light': LIGHT_ARCHS,
    'video': VIDEO_ARCHS,
    'video_light': LIGHT_ARCHS,
}


class KnownArch(NamedTuple):
    """One official model, as :func:`~uniformer_mm.checkpoint.describe_state_dict` matches it."""
    family: str
    name: str
    depths: Tuple[int, ...]
    embed_dims: Tuple[int, ...]
    head_dim: int
    conv_stem: bool
    layer_scale: Optional[str]


def _known_archs() -> List[KnownArch]:
    seen = set()
    out = []
    for family, zoo in ARCH_ZOO.items():
        for name, a in zoo.items():
            if (family, id(a)) in seen:  # short aliases ('s', 'b') are the same model
                continue
            seen.add((family, id(a)))
            out.append(KnownArch(family, name, tuple(a['depths']), tuple(a['embed_dims']),
                                 a['head_dim'], a['conv_stem'], a['layer_scale']))
    return out


#: Every official model of every family, derived from :data:`ARCH_ZOO`.
KNOWN_ARCHS: List[KnownArch] = _known_archs()

#: Why head_dim needs care: it changes no weight shape.
HEAD_DIM_TRAP = (
    'head_dim (the per-head width of the attention blocks) changes no weight shape, so a '
    'checkpoint cannot tell it: the token-labeling uniformer_small/base and the ImageNet '
    'uniformer_small_plus use head_dim=32, the ImageNet small/base and every *_dim64 release '
    '64. Loading with the wrong head_dim succeeds silently and gives wrong features '
    '(official issue #20); pick the arch named like the file (e.g. arch="tl_small" for '
    'uniformer_small_tl_224.pth), or use a converted file whose meta["arch"] records it.')
