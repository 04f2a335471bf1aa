"""The official UniFormer architectures, as data (no torch modules, no toolbox imports).

The 2D backbone's ``arch_zoo`` is built from :data:`IMAGE_ARCHS`, and
:func:`~uniformer_mm.checkpoint.describe_state_dict` matches checkpoints against
:data:`KNOWN_ARCHS` to say which official model a file looks like. Sources:
``../shared/reference/uniformer_official.md`` §2.1, §2.2, §2.3 and §4.
"""
from typing import Dict, List, Tuple

__all__ = ['IMAGE_ARCHS', 'KNOWN_ARCHS', 'HEAD_DIM_TRAP']

_S = dict(depths=(3, 4, 8, 3), embed_dims=(64, 128, 320, 512))
_SP = dict(depths=(3, 5, 9, 3), embed_dims=(64, 128, 320, 512))
_B = dict(depths=(5, 8, 20, 7), embed_dims=(64, 128, 320, 512))
_L = dict(depths=(5, 10, 24, 7), embed_dims=(128, 192, 448, 640))

#: Settings of the official 2D (classification / token-labeling / dense) models.
#: ``layer_scale`` is ``None`` (none), ``'attention'`` (stage-3/4 blocks, cls ``base_ls``) or
#: ``'all'`` (every block, TL ``large_ls``); the init value is always 1e-6.
#: The ``tl_*`` names are the token-labeling releases whose head_dim is 32 although they are
#: called ``uniformer_small`` / ``uniformer_base`` in the official token-labeling code.
IMAGE_ARCHS: Dict[str, dict] = {
    'small': dict(**_S, head_dim=64, conv_stem=False, layer_scale=None),
    'small_plus': dict(**_SP, head_dim=32, conv_stem=True, layer_scale=None),
    'small_plus_dim64': dict(**_SP, head_dim=64, conv_stem=True, layer_scale=None),
    'base': dict(**_B, head_dim=64, conv_stem=False, layer_scale=None),
    'base_ls': dict(**_B, head_dim=64, conv_stem=False, layer_scale='attention'),
    'large_ls': dict(**_L, head_dim=64, conv_stem=False, layer_scale='all'),
    # Token-labeling releases (image_classification/token_labeling/tlt/models/uniformer.py).
    'tl_small': dict(**_S, head_dim=32, conv_stem=False, layer_scale=None),
    'tl_small_dim64': dict(**_S, head_dim=64, conv_stem=False, layer_scale=None),
    'tl_small_plus': dict(**_SP, head_dim=32, conv_stem=True, layer_scale=None),
    'tl_small_plus_dim64': dict(**_SP, head_dim=64, conv_stem=True, layer_scale=None),
    'tl_base': dict(**_B, head_dim=32, conv_stem=False, layer_scale=None),
    'tl_base_dim64': dict(**_B, head_dim=64, conv_stem=False, layer_scale=None),
    'tl_large_ls': dict(**_L, head_dim=64, conv_stem=False, layer_scale='all'),
}

#: ``(family, name, depths, embed_dims, head_dim, conv_stem, layer_scale)`` of every official
#: model, for :func:`describe_state_dict`. Families: ``image`` (2D cls/TL/dense), ``light``
#: (2D hourglass), ``video`` (3D), ``video_light``.
KNOWN_ARCHS: List[Tuple[str, str, Tuple[int, ...], Tuple[int, ...], int, bool, object]] = [
    ('image', name, a['depths'], a['embed_dims'], a['head_dim'], a['conv_stem'], a['layer_scale'])
    for name, a in IMAGE_ARCHS.items()
] + [
    ('light', 'xxs', (2, 5, 8, 2), (56, 112, 224, 448), 28, True, None),
    ('light', 'xs', (3, 5, 9, 3), (64, 128, 256, 512), 32, True, None),
    ('video', 'small', _S['depths'], _S['embed_dims'], 64, False, None),
    ('video', 'base', _B['depths'], _B['embed_dims'], 64, False, None),
    ('video_light', 'xxs', (2, 5, 8, 2), (56, 112, 224, 448), 28, True, None),
    ('video_light', 'xs', (3, 5, 9, 3), (64, 128, 256, 512), 32, True, None),
]

#: Why head_dim needs care: it changes no weight shape.
HEAD_DIM_TRAP = (
    'head_dim (the per-head width of the attention blocks) changes no weight shape, so a '
    'checkpoint cannot tell it: the token-labeling uniformer_small/base and the ImageNet '
    'uniformer_small_plus use head_dim=32, the ImageNet small/base and every *_dim64 release '
    '64. Loading with the wrong head_dim succeeds silently and gives wrong features '
    '(official issue #20); pick the arch named like the file (e.g. arch="tl_small" for '
    'uniformer_small_tl_224.pth), or use a converted file whose meta["arch"] records it.')
