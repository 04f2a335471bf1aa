"""The 2D UniFormer backbone for classification (mmpretrain) and dense prediction (mmdet, mmseg,
mmpose), with the official state_dict layout.

One class covers the ImageNet model (official ``image_classification/models/uniformer.py``),
the token-labeling model (``token_labeling/tlt/models/uniformer.py``; its heads are
:class:`TokenLabelClsHead`) and the dense backbone
(``object_detection/mmdet/models/backbones/uniformer.py``, identical in seg and pose); see
``docs/architecture.md``.
"""
from typing import List, Optional, Sequence, Union

import torch.nn as nn

from uniformer_mm.archs import IMAGE_ARCHS
from uniformer_mm.registry import MODELS
from ..blocks import AttentionBlock, ConvBlock, ConvDownsample, ConvStem, PatchEmbed
from .base import BaseUniFormer

__all__ = ['UniFormer']

ATTN_TYPES = ('global', 'window', 'hybrid')


@MODELS.register_module()
class UniFormer(BaseUniFormer):
    """UniFormer (Li et al., TPAMI 2023), the 2D backbone, with the official parameter names.

    Stages 1-2 are convolution blocks (local MHRA, BatchNorm), stages 3-4 self-attention blocks
    (global MHRA, LayerNorm); every stage starts with a stride-2 embedding (stride 4 for the
    first), so the four outputs have strides 4, 8, 16 and 32.

    The two official top ends are selected with ``final_norm`` (see
    :class:`~uniformer_mm.models.backbones.base.BaseUniFormer` for the arguments every
    UniFormer backbone shares):

    * ``final_norm=True`` (classification, the default): the last stage ends in the official
      BatchNorm ``norm``; only ``out_indices=(3, )`` is allowed. Keys equal the official
      ImageNet / token-labeling files without ``head.*`` / ``aux_head.*`` (those belong to the
      mmpretrain head, see :func:`uniformer_mm.checkpoint.convert_official_to_mm`).
    * ``final_norm=False`` (dense prediction): every output ``i`` in ``out_indices`` passes
      through a LayerNorm ``norm{i+1}`` (eps 1e-6), as the official det/seg/pose backbones.
      Those norms exist only for the requested outputs, so no parameter goes unused.

    Official weights load through ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix=None)``: :func:`uniformer_mm.checkpoint.load_pretrained` unwraps every official file
    layout, strips ``backbone.``, drops what this configuration does not use (see
    :meth:`convert_pretrained`), refuses shape mismatches and reports missing / unexpected keys.

    Args:
        arch (str | dict): A name of :attr:`arch_zoo` or a dict with ``depths`` (4 ints),
            ``embed_dims`` (4 ints), ``head_dim`` (int) and optionally ``mlp_ratio`` (float or
            4 floats, default 4), ``conv_stem`` (bool, default False: the S-plus two-conv stem
            plus 3x3 conv downsampling) and ``layer_scale`` (None, ``'attention'``: gammas in
            the stage-3/4 blocks as ``base_ls``, or ``'all'``: every block as ``large_ls``).
            Note that ``head_dim`` changes no weight shape: the token-labeling ``small`` and
            ``base`` files need ``tl_small`` / ``tl_base`` (head_dim 32).
            Defaults to ``'small'``.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (int | Sequence[int]): Stages (0-3, negative counts from the end) whose
            outputs are returned, as a tuple in this order. Defaults to ``(3, )``.
        final_norm (bool): ``True``: the classification BatchNorm ``norm`` on the last stage;
            ``False``: a LayerNorm ``norm{i+1}`` on every output (dense). Defaults to True.
        attn_type (str): Attention of the stage-3 blocks: ``'global'``, ``'window'`` (every
            block attends inside non-overlapping zero-padded ``window_size`` windows) or
            ``'hybrid'`` (block ``i`` is global if ``(i + 1) % 4 == 0``, else window). Stage 4
            is always global. The weights are the same for all three. Defaults to 'global'.
        window_size (int): Window size for ``'window'`` / ``'hybrid'``; the official dense
            configs use 14 (= the stage-3 map of 224x224 pretraining). Defaults to 14.
        qkv_bias (bool): Bias in the ``qkv`` projections. Defaults to True.
        qk_scale (float, optional): Overrides the ``head_dim ** -0.5`` attention scale.
        drop_rate (float): Dropout after the stem and in the MLPs / attention projections.
        attn_drop_rate (float): Dropout on attention probabilities.
        drop_path_rate (float): Stochastic depth, linearly increasing over all blocks from 0.
        layer_scale_init_value (float): Initial value of the layer-scale gammas of archs with
            ``layer_scale``. Defaults to 1e-6 (official).
        frozen_stages (int): ``-1``: nothing frozen; ``k`` (0-3): the stem and stages
            ``0..k`` (``patch_embed1..k+1``, ``blocks1..k+1`` and their output norms; the final
            ``norm`` for 3). Frozen modules get ``requires_grad=False`` and stay in eval mode.
            Defaults to -1.
        norm_eval (bool): Keep every BatchNorm (conv blocks, conv stem, final norm) in eval
            mode while training, i.e. freeze its running statistics. The official dense models
            did not ("we forget to freeze BN"), so the default False reproduces them.
        with_cp (bool | int | Sequence[int]): Gradient checkpointing (recompute activations in
            backward to save memory) of the first blocks of each stage: ``True`` all blocks,
            an int ``n`` the first ``n`` of every stage, 4 ints per stage (the official
            ``checkpoint_num``). Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config; ``dict(type='Pretrained',
            checkpoint=..., prefix=...)`` loads official or converted weights.

    Example:
        >>> import torch
        >>> from uniformer_mm.models.backbones import UniFormer
        >>> cls = UniFormer(arch='small').eval()
        >>> [o.shape for o in cls(torch.rand(1, 3, 224, 224))]
        [torch.Size([1, 512, 7, 7])]
        >>> dense = UniFormer(arch='small', out_indices=(0, 1, 2, 3), final_norm=False,
        ...                   attn_type='hybrid', window_size=14)
        >>> [o.shape[1:] for o in dense(torch.rand(1, 3, 100, 76))]  # any size >= 32
        [torch.Size([64, 25, 19]), torch.Size([128, 12, 9]), torch.Size([320, 6, 4]),
         torch.Size([512, 3, 2])]
    """

    #: Official architectures (:data:`uniformer_mm.archs.IMAGE_ARCHS`); ``tl_*`` are the
    #: token-labeling releases (``tl_small`` / ``tl_base`` use head_dim 32).
    arch_zoo = IMAGE_ARCHS

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 final_norm: bool = True,
                 attn_type: str = 'global',
                 window_size: int = 14,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: Union[bool, int, Sequence[int]] = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, in_channels=in_channels, out_indices=out_indices,
                         final_norm=final_norm, drop_path_rate=drop_path_rate,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         init_cfg=init_cfg)
        depths, dims = self.depths, self.embed_dims
        mlp_ratios = self.arch_settings['mlp_ratio']
        self.conv_stem = bool(self.arch_settings['conv_stem'])
        self.layer_scale = self.arch_settings['layer_scale']
        if attn_type not in ATTN_TYPES:
            raise ValueError(f'attn_type must be one of {ATTN_TYPES}, got {attn_type!r}')
        if attn_type != 'global' and (not isinstance(window_size, int) or window_size < 1):
            raise ValueError(f'window_size must be an int >= 1 for attn_type={attn_type!r}, got '
                             f'{window_size!r} (the official dense configs use 14)')
        self.attn_type, self.window_size = attn_type, window_size

        # Stems. The official conv-stem files (S-plus) use a two-conv stem and 3x3 conv
        # downsampling; all others a 4x4 / 2x2 patch embedding with LayerNorm (eps 1e-5).
        in_dims = (self.in_channels, ) + dims[:-1]
        for i in range(self.num_stages):
            if self.conv_stem:
                embed = (ConvStem(in_dims[0], dims[0]) if i == 0 else
                         ConvDownsample(in_dims[i], dims[i]))
            else:
                embed = PatchEmbed(in_dims[i], dims[i], kernel_size=4 if i == 0 else 2,
                                   channels_last=True)
            self.add_module(f'patch_embed{i + 1}', embed)
        self.pos_drop = nn.Dropout(p=drop_rate)

        dpr = self.drop_path_rates
        ls_conv = layer_scale_init_value if self.layer_scale == 'all' else None
        ls_attn = layer_scale_init_value if self.layer_scale in ('all', 'attention') else None
        start = 0
        for i in range(self.num_stages):
            blocks = []
            for j in range(depths[i]):
                common = dict(mlp_ratio=mlp_ratios[i], drop=drop_rate, drop_path=dpr[start + j])
                if i < 2:
                    blocks.append(ConvBlock(dims[i], layer_scale_init_value=ls_conv, **common))
                else:
                    blocks.append(AttentionBlock(
                        dims[i], dims[i] // self.head_dim, qkv_bias=qkv_bias, qk_scale=qk_scale,
                        attn_drop=attn_drop_rate, window_size=self._block_window(i, j),
                        layer_scale_init_value=ls_attn, norm_eps=1e-6, **common))
            start += depths[i]
            self.add_module(f'blocks{i + 1}', nn.ModuleList(blocks))
            self._add_output_norm(i)
        if self.final_norm:
            self.norm = nn.BatchNorm2d(dims[-1])
        self._finish_init()

    def _block_window(self, stage: int, index: int) -> Optional[int]:
        """Window size of stage-3 block ``index`` (``None`` = global attention)."""
        if stage != 2 or self.attn_type == 'global':
            return None
        if self.attn_type == 'hybrid' and (index + 1) % 4 == 0:
            return None
        return self.window_size
