"""UniFormer for video (the official SlowFast ``Uniformer``), as an mmaction2 1.x backbone.

Built from the same blocks as the 2D backbone (:mod:`uniformer_mm.models.blocks`, ``ndim=3``):
a 3x4x4 stem with stride (2, 4, 4), 1x2x2 patch embeds, convolution blocks with 3x3x3 position
and 5x5x5 aggregation kernels in stages 1-2, attention blocks over all T*H*W tokens in stages
3-4, and the official final BatchNorm3d. Module names equal the official ones, so official
video checkpoints load after unwrapping, and ImageNet checkpoints load by inflation
(:mod:`uniformer_mm.checkpoint.inflate`).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import ModuleList

from uniformer_mm.archs import VIDEO_ARCHS
from uniformer_mm.registry import MODELS
from ..blocks import AttentionBlock, ConvBlock, PatchEmbed
from .base import BaseUniFormer

__all__ = ['UniFormer3D']

ATTN_TYPES = ('global', 'split')


@MODELS.register_module()
class UniFormer3D(BaseUniFormer):
    """UniFormer video backbone (Li et al., ICLR 2022, "UniFormer: Unified Transformer for
    Efficient Spatiotemporal Representation Learning").

    Stage ``i`` is ``patch_embed{i+1}`` followed by ``blocks{i+1}``: convolution blocks (local
    MHRA) in stages 0-1, attention blocks (global MHRA) in stages 2-3. Only the stem halves
    time: a ``N, C, T, H, W`` clip gives ``T/2 x H/4 x W/4`` after stage 0, then halves H, W
    per stage (16x224² -> 8x7² at stage 3).

    The arguments every UniFormer backbone shares are described in
    :class:`~uniformer_mm.models.backbones.base.BaseUniFormer`.

    Args:
        arch (str | dict): ``'small'`` / ``'s'`` (depths 3-4-8-3) or ``'base'`` / ``'b'``
            (5-8-20-7), both with embed dims 64-128-320-512 and head_dim 64; or a dict with
            ``depths`` (4 ints), ``embed_dims`` (4 ints), ``head_dim`` and optionally
            ``mlp_ratio`` (default 4). Defaults to ``'small'``.
        in_channels (int): Input channels. Defaults to 3.
        qkv_bias (bool): Bias in the ``qkv`` projections. Defaults to True (official).
        qk_scale (float, optional): Overrides the attention scale ``head_dim ** -0.5``.
        drop_rate (float): Dropout after the stem, in MLPs and after attention projections
            (official ``DROPOUT_RATE``, 0 in every recipe). Defaults to 0.
        attn_drop_rate (float): Dropout on attention probabilities. Defaults to 0.
        drop_path_rate (float): Stochastic depth, rising linearly over all blocks from 0
            (official recipes: 0.1 for S and 0.3 for B on Kinetics, 0.2-0.6 on SSv1/v2).
            Defaults to 0.
        attn_type (str): ``'global'``: one joint attention over all T*H*W tokens (every
            released model); ``'split'``: attention over time at each position, then over space
            in each frame (official ``SPLIT``; adds ``t_norm``/``t_attn`` to stage-2/3 blocks,
            which an ImageNet or joint checkpoint does not have and which then start at the
            official TimeSformer-style init). Defaults to ``'global'``.
        std (bool): "Spatio-temporal downsampling" patch embeds of the official ``STD``
            option: 3x2x2 kernels with temporal padding 1 and temporal stride 1 for stages 1-3
            (they mix time but keep its length). Defaults to False (1x2x2).
        layer_scale_init_value (float, optional): Learnable per-channel residual scales in
            every block, starting at this value (the official ``_ls`` video models use 0.1).
            No released dense video model uses them. Defaults to None.
        norm_eps (float): Epsilon of the attention blocks' LayerNorms: 1e-6 as the official
            models (mmaction2's own port uses 1e-5). Defaults to 1e-6.
        out_indices (int | Sequence[int]): Stages whose outputs are returned, as a tuple in
            this order. Defaults to ``(3, )`` (the last stage).
        final_norm (bool): Apply the official BatchNorm3d ``norm`` to the last stage's output
            (the others are returned as computed; there is no dense video variant).
            Defaults to True.
        frozen_stages (int): -1 freezes nothing; ``k`` (0-3) the stem and stages 0..k
            (``patch_embed1..k+1`` and ``blocks1..k+1``); 3 also ``norm``. Frozen parts stay in
            eval mode. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode while training (frozen running
            statistics; useful for small per-GPU batches). Defaults to False (official).
        with_cp (bool | int | Sequence[int]): Gradient checkpointing (recompute blocks in
            backward to save memory): ``True`` every block, an int ``n`` the first ``n`` of
            every stage, 4 ints one count per stage (official ``CHECKPOINT_NUM``, e.g.
            ``(0, 0, 4, 0)``). Defaults to False.
        pretrained2d (bool, optional): Whether the ``Pretrained`` checkpoint is an ImageNet
            (2D) one. None (default) detects it: every 2D kernel whose 3D counterpart has one
            more axis is inflated. False refuses inflation (the file must be a video
            checkpoint); True requires at least one 2D kernel.
        inflate_mode (str): ``'average'`` (official: repeat along time, divide by its length)
            or ``'center'`` (I3D / mmaction2: the kernel in the middle time slice). Defaults
            to ``'average'``.
        init_cfg (dict | list[dict], optional): mmengine initialization; the official init
            (Linear ``trunc_normal(std=.02)``, LayerNorm 1/0, PyTorch defaults for conv and BN)
            is applied at construction. ``dict(type='Pretrained', checkpoint=PATH,
            prefix=None)`` loads ``PATH`` through
            :func:`uniformer_mm.checkpoint.load_pretrained` (any official ImageNet, video or
            mmaction2 file; ``backbone.`` stripped, classifier keys left to the head).

    Example:
        >>> import torch
        >>> from uniformer_mm.models import UniFormer3D
        >>> model = UniFormer3D(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 32, 64, 128],
        ...                               head_dim=16))
        >>> model.eval()(torch.rand(1, 3, 8, 64, 64))[0].shape
        torch.Size([1, 128, 4, 2, 2])
    """
    arch_zoo = VIDEO_ARCHS
    arch_defaults = dict(mlp_ratio=4.)
    ndim = 3
    dense_norms = False
    #: Stride of the stem along time; the only temporal downsampling of the model.
    temporal_stride = 2

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 in_channels: int = 3,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 attn_type: str = 'global',
                 std: bool = False,
                 layer_scale_init_value: Optional[float] = None,
                 norm_eps: float = 1e-6,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 final_norm: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: Union[bool, int, Sequence[int]] = False,
                 pretrained2d: Optional[bool] = None,
                 inflate_mode: str = 'average',
                 init_cfg: Union[dict, List[dict], None] = None) -> None:
        super().__init__(arch, in_channels=in_channels, out_indices=out_indices,
                         final_norm=final_norm, drop_path_rate=drop_path_rate,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         init_cfg=init_cfg)
        if attn_type not in ATTN_TYPES:
            raise ValueError(f'attn_type must be one of {ATTN_TYPES} for {type(self).__name__}, '
                             f'got {attn_type!r}')
        self.attn_type = attn_type
        self.std = std
        self.pretrained2d = pretrained2d
        self.inflate_mode = self._check_inflate_mode(inflate_mode)
        mlp_ratios = self.arch_settings['mlp_ratio']

        # Registration order = official state_dict order: patch_embed1-4, blocks1-4, norm.
        dims = self.embed_dims
        # channels_last: the maps stay in channels-last memory between patch embeds, where
        # oneDNN's depthwise/pointwise 3D convs are several times faster than on NCDHW and
        # the token flatten of attention blocks is a view; outputs are made contiguous.
        self.patch_embed1 = PatchEmbed(
            in_channels, dims[0], kernel_size=(3, 4, 4), stride=(2, 4, 4), padding=(1, 0, 0),
            ndim=3, channels_last=True)
        # std: temporal kernel 3 but stride 1 (official conv_3xnxn_std), so T is kept.
        kernel, padding = ((3, 2, 2), (1, 0, 0)) if std else ((1, 2, 2), 0)
        for i in range(1, self.num_stages):
            self.add_module(
                f'patch_embed{i + 1}',
                PatchEmbed(dims[i - 1], dims[i], kernel_size=kernel, stride=(1, 2, 2),
                           padding=padding, ndim=3, channels_last=True))
        self.pos_drop = nn.Dropout(drop_rate)

        dpr = self.drop_path_rates
        block_id = 0
        for i, (depth, dim) in enumerate(zip(self.depths, dims)):
            blocks = []
            for _ in range(depth):
                common = dict(mlp_ratio=mlp_ratios[i], drop=drop_rate, drop_path=dpr[block_id],
                              ndim=3, layer_scale_init_value=layer_scale_init_value)
                if i < 2:
                    blocks.append(ConvBlock(dim, **common))
                else:
                    blocks.append(AttentionBlock(
                        dim, dim // self.head_dim, qkv_bias=qkv_bias, qk_scale=qk_scale,
                        attn_drop=attn_drop_rate, norm_eps=norm_eps,
                        split=attn_type == 'split', **common))
                block_id += 1
            # mmengine's ModuleList so that init_weights() reaches the blocks' own init.
            self.add_module(f'blocks{i + 1}', ModuleList(blocks))
        if self.final_norm:
            self.norm = nn.BatchNorm3d(dims[-1])
        self._finish_init()

    # ----------------------------------------------------------------------------- weights
    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Key prefixes no official ImageNet/video file has (logged as expected by
        ``load_pretrained``): the temporal branch of split attention."""
        if self.attn_type != 'split':
            return ()
        return tuple(f'blocks{s + 1}.{j}.t_' for s in (2, 3) for j in range(self.depths[s]))

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Fit an unwrapped checkpoint to this backbone (hook of ``load_pretrained``).

        Drops what this backbone has no place for (see
        :meth:`BaseUniFormer.convert_pretrained`: the classifiers are loaded by the head) and
        inflates 2D kernels (``inflate_mode``), obeying ``pretrained2d``.

        Raises:
            InflationError: A tensor fits neither directly nor by inflation, or
                ``pretrained2d`` contradicts the file.
        """
        return self._inflate_pretrained(super().convert_pretrained(state_dict),
                                        self.pretrained2d, self.inflate_mode)

    # ----------------------------------------------------------------------------- forward
    def _check_input(self, x: torch.Tensor) -> None:
        super()._check_input(x)
        if x.shape[2] < self.temporal_stride:
            raise ValueError(
                f'the clip has {x.shape[2]} frame(s), fewer than the temporal stride '
                f'{self.temporal_stride} of the stem (patch_embed1 halves time); sample at '
                'least 2 frames (SampleFrames clip_len) or use the 2D UniFormer for images')
