"""UniFormer for video (the official SlowFast ``Uniformer``), as an mmaction2 1.x backbone.

Built from the same blocks as the 2D backbone (:mod:`uniformer_mm.models.blocks`, ``ndim=3``):
a 3x4x4 stem with stride (2, 4, 4), 1x2x2 patch embeds, convolution blocks with 3x3x3 position
and 5x5x5 aggregation kernels in stages 1-2, attention blocks over all T*H*W tokens in stages
3-4, and the official final BatchNorm3d. Module names equal the official ones, so official
video checkpoints load after unwrapping, and ImageNet checkpoints load by inflation
(:mod:`uniformer_mm.checkpoint.inflate`).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList

from uniformer_mm.checkpoint.inflate import (INFLATE_MODES, InflationError,
                                             inflate_state_dict, is_inflatable)
from uniformer_mm.registry import MODELS
from ..blocks import AttentionBlock, ConvBlock, PatchEmbed
from ..pretrained import PretrainedInitMixin
from .base import FrozenStagesMixin

__all__ = ['UniFormer3D']

#: Keys of a checkpoint that belong to a classifier, not to the backbone: the official
#: ``head`` (and ``aux_head`` of token-labeling ImageNet files), mmaction2's ``cls_head``.
CLASSIFIER_PREFIXES = ('head.', 'aux_head.', 'cls_head.')


@MODELS.register_module()
class UniFormer3D(PretrainedInitMixin, FrozenStagesMixin, BaseModule):
    """UniFormer video backbone (Li et al., ICLR 2022, "UniFormer: Unified Transformer for
    Efficient Spatiotemporal Representation Learning").

    Stage ``i`` is ``patch_embed{i+1}`` followed by ``blocks{i+1}``: convolution blocks (local
    MHRA) in stages 0-1, attention blocks (global MHRA) in stages 2-3. Only the stem halves
    time: a ``N, C, T, H, W`` clip gives ``T/2 x H/4 x W/4`` after stage 0, then halves H, W
    per stage (16x224² -> 8x7² at stage 3).

    Args:
        arch (str | dict): ``'small'`` / ``'s'`` (depths 3-4-8-3) or ``'base'`` / ``'b'``
            (5-8-20-7), both with embed dims 64-128-320-512 and head_dim 64; or a dict with
            ``depths`` (4 ints), ``embed_dims`` (4 ints), ``head_dim`` and optionally
            ``mlp_ratio``. Defaults to ``'small'``.
        in_channels (int): Input channels. Defaults to 3.
        mlp_ratio (float): MLP hidden / embed channels (overridden by ``arch['mlp_ratio']``).
            Defaults to 4.
        qkv_bias (bool): Bias in the ``qkv`` projections. Defaults to True (official).
        qk_scale (float, optional): Overrides the attention scale ``head_dim ** -0.5``.
        drop_rate (float): Dropout after the stem, in MLPs and after attention projections
            (official ``DROPOUT_RATE``, 0 in every recipe). Defaults to 0.
        attn_drop_rate (float): Dropout on attention probabilities. Defaults to 0.
        drop_path_rate (float): Stochastic depth, rising linearly over all blocks from 0
            (official recipes: 0.1 for S and 0.3 for B on Kinetics, 0.2-0.6 on SSv1/v2).
            Defaults to 0.
        attention (str): ``'joint'``: one attention over all T*H*W tokens (every released
            model); ``'split'``: attention over time at each position, then over space in each
            frame (official ``SPLIT``; adds ``t_norm``/``t_attn`` to stage-2/3 blocks, which an
            ImageNet or joint checkpoint does not have and which then start at the official
            TimeSformer-style init). Defaults to ``'joint'``.
        std (bool): "Spatio-temporal downsampling" patch embeds of the official ``STD``
            option: 3x2x2 kernels with temporal padding 1 and temporal stride 1 for stages 1-3
            (they mix time but keep its length). Defaults to False (1x2x2).
        layer_scale_init_value (float, optional): Learnable per-channel residual scales in
            every block, starting at this value (the official ``_ls`` video models use 0.1).
            No released dense video model uses them. Defaults to None.
        norm_eps (float): Epsilon of the attention blocks' LayerNorms: 1e-6 as the official
            models (mmaction2's own port uses 1e-5). Defaults to 1e-6.
        out_indices (int | Sequence[int]): Stages whose output is returned. A single index
            returns a tensor (like mmaction2's ResNet3d, so ``I3DHead`` works too), several
            return a tuple. Defaults to 3 (the last stage).
        final_norm (bool): Apply the official BatchNorm3d ``norm`` to the last stage's output
            (the others are returned as computed). Defaults to True.
        frozen_stages (int): -1 freezes nothing; 0 the stem (``patch_embed1``); ``k >= 1``
            also stages 1..k (``blocks1``, then ``patch_embed2`` + ``blocks2``, ...); 4 also
            ``norm``. Frozen parts stay in eval mode. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode while training (frozen running
            statistics; useful for small per-GPU batches). Defaults to False (official).
        with_cp (bool): Gradient checkpointing (recompute blocks in backward to save
            memory). Defaults to False.
        cp_num (int | Sequence[int], optional): With ``with_cp``, how many leading blocks of
            each stage are checkpointed (official ``CHECKPOINT_NUM``, e.g. ``(0, 0, 4, 0)``);
            an int applies to every stage; None checkpoints every block. Defaults to None.
        pretrained2d (bool, optional): Whether the ``Pretrained`` checkpoint is an ImageNet
            (2D) one. None (default) detects it: every 2D kernel whose 3D counterpart has one
            more axis is inflated. False refuses inflation (the file must be a video
            checkpoint); True requires at least one 2D kernel.
        inflate_mode (str): ``'average'`` (official: repeat along time, divide by its length)
            or ``'center'`` (I3D / mmaction2: the kernel in the middle time slice). Defaults
            to ``'average'``.
        init_cfg (dict | list[dict], optional): mmengine initialization. Without one the
            official init is used (Linear ``trunc_normal(std=.02)``, LayerNorm 1/0, PyTorch
            defaults for conv and BN). ``dict(type='Pretrained', checkpoint=PATH,
            prefix=None)`` first applies that init, then loads ``PATH`` through
            :func:`uniformer_mm.checkpoint.load_pretrained` (any official ImageNet, video or
            mmaction2 file; ``backbone.`` stripped, classifier keys left to the head).

    Example:
        >>> import torch
        >>> from uniformer_mm.models import UniFormer3D
        >>> model = UniFormer3D(arch=dict(depths=[1, 1, 1, 1], embed_dims=[16, 32, 64, 128],
        ...                               head_dim=16))
        >>> model.eval()(torch.rand(1, 3, 8, 64, 64)).shape
        torch.Size([1, 128, 4, 2, 2])
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['s', 'small'], {
            'depths': [3, 4, 8, 3],
            'embed_dims': [64, 128, 320, 512],
            'head_dim': 64
        }),
        **dict.fromkeys(['b', 'base'], {
            'depths': [5, 8, 20, 7],
            'embed_dims': [64, 128, 320, 512],
            'head_dim': 64
        }),
    }
    num_stages = 4
    #: Stride of the stem along time; the only temporal downsampling of the model.
    temporal_stride = 2
    #: Total spatial stride at the last stage.
    spatial_stride = 32
    #: mmengine init used whenever no other (non-``Pretrained``) init_cfg is given
    #: (see :class:`~uniformer_mm.models.pretrained.PretrainedInitMixin`).
    default_init_cfg: List[dict] = [
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ]

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 in_channels: int = 3,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 attention: str = 'joint',
                 std: bool = False,
                 layer_scale_init_value: Optional[float] = None,
                 norm_eps: float = 1e-6,
                 out_indices: Union[int, Sequence[int]] = 3,
                 final_norm: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 cp_num: Union[int, Sequence[int], None] = None,
                 pretrained2d: Optional[bool] = None,
                 inflate_mode: str = 'average',
                 init_cfg: Union[dict, List[dict], None] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        arch = self._parse_arch(arch)
        self.depths: List[int] = list(arch['depths'])
        self.embed_dims: List[int] = list(arch['embed_dims'])
        self.head_dim = int(arch['head_dim'])
        mlp_ratio = arch.get('mlp_ratio', mlp_ratio)
        if attention not in ('joint', 'split'):
            raise ValueError(f"attention must be 'joint' or 'split', got {attention!r}")
        if inflate_mode not in INFLATE_MODES:
            raise ValueError(f'inflate_mode must be one of {INFLATE_MODES}, got {inflate_mode!r}')
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {self.num_stages}], '
                             f'got {frozen_stages}')
        self.in_channels = in_channels
        self.attention = attention
        self.std = std
        self.out_indices = self._parse_out_indices(out_indices)
        self.final_norm = final_norm
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.cp_num = self._parse_cp_num(cp_num)
        self.pretrained2d = pretrained2d
        self.inflate_mode = inflate_mode

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

        dpr = torch.linspace(0, drop_path_rate, sum(self.depths), device='cpu').tolist()
        block_id = 0
        for i, (depth, dim) in enumerate(zip(self.depths, dims)):
            blocks = []
            for _ in range(depth):
                common = dict(mlp_ratio=mlp_ratio, drop=drop_rate, drop_path=dpr[block_id],
                              ndim=3, layer_scale_init=layer_scale_init_value)
                if i < 2:
                    blocks.append(ConvBlock(dim, **common))
                else:
                    blocks.append(AttentionBlock(
                        dim, dim // self.head_dim, qkv_bias=qkv_bias, qk_scale=qk_scale,
                        attn_drop=attn_drop_rate, norm_eps=norm_eps,
                        split=attention == 'split', **common))
                block_id += 1
            # mmengine's ModuleList so that init_weights() reaches the blocks' own init.
            self.add_module(f'blocks{i + 1}', ModuleList(blocks))
        self.norm = nn.BatchNorm3d(dims[-1]) if final_norm else None
        self._freeze_stages()

    # ------------------------------------------------------------------ construction helpers
    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in self.arch_zoo:
                raise ValueError(f'unknown UniFormer3D arch {arch!r}; choose one of '
                                 f'{sorted(set(self.arch_zoo))} or pass a dict with depths, '
                                 'embed_dims and head_dim')
            return copy.deepcopy(self.arch_zoo[key])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        missing = {'depths', 'embed_dims', 'head_dim'} - set(arch)
        if missing:
            raise ValueError(f'a custom arch needs the keys depths, embed_dims and head_dim; '
                             f'missing {sorted(missing)} in {arch}')
        unknown = set(arch) - {'depths', 'embed_dims', 'head_dim', 'mlp_ratio'}
        if unknown:
            raise ValueError(f'unknown keys {sorted(unknown)} in arch {arch}')
        for name in ('depths', 'embed_dims'):
            if len(arch[name]) != self.num_stages:
                raise ValueError(f'arch[{name!r}] needs {self.num_stages} values, '
                                 f'got {arch[name]}')
        for dim in arch['embed_dims'][2:]:
            if dim % arch['head_dim']:
                raise ValueError(f'embed dim {dim} of an attention stage is not divisible by '
                                 f'head_dim {arch["head_dim"]}; choose a head_dim that divides '
                                 f'the stage-3/4 dims {tuple(arch["embed_dims"][2:])} (the '
                                 'official video models use 64)')
        return dict(arch)

    def _parse_out_indices(self, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        out = []
        for index in out_indices:
            if not -self.num_stages <= index < self.num_stages:
                raise ValueError(f'out_indices entries must be in [-4, 3], got {index}')
            out.append(index % self.num_stages)
        if not out:
            raise ValueError('out_indices must name at least one stage')
        return tuple(sorted(set(out)))

    def _parse_cp_num(self, cp_num: Union[int, Sequence[int], None]) -> List[int]:
        if cp_num is None:
            return list(self.depths)
        if isinstance(cp_num, int):
            return [min(cp_num, d) for d in self.depths]
        if len(cp_num) != self.num_stages:
            raise ValueError(f'cp_num needs one value per stage ({self.num_stages}), '
                             f'got {cp_num}')
        return [min(int(n), d) for n, d in zip(cp_num, self.depths)]

    # ----------------------------------------------------------------------------- weights
    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Key prefixes no official ImageNet/video file has (logged as expected by
        ``load_pretrained``): the temporal branch of split attention."""
        if self.attention != 'split':
            return ()
        return tuple(f'blocks{s + 1}.{j}.t_' for s in (2, 3) for j in range(self.depths[s]))

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Fit an unwrapped checkpoint to this backbone (hook of ``load_pretrained``).

        Drops classifier keys (``head.*``, ``aux_head.*``, ``cls_head.*``: the recognizer's
        head loads them), drops ``norm.*`` when ``final_norm=False``, and inflates 2D kernels
        (``inflate_mode``), obeying ``pretrained2d``.

        Args:
            state_dict (dict): Checkpoint weights without wrapper and ``backbone.`` prefix.

        Returns:
            dict: Weights with this model's shapes.

        Raises:
            InflationError: A tensor fits neither directly nor by inflation, or
                ``pretrained2d`` contradicts the file.
        """
        dropped = [k for k in state_dict if k.startswith(CLASSIFIER_PREFIXES)]
        if not self.final_norm:
            dropped += [k for k in state_dict if k.startswith('norm.')]
        if dropped:
            print_log(f'{type(self).__name__}: not loading {len(dropped)} checkpoint tensors '
                      f'outside the backbone ({sorted({k.split(".")[0] for k in dropped})}); '
                      'the classifier is loaded by the head (UniFormerClsHead init_cfg).',
                      logger='current')
            drop = set(dropped)
            state_dict = {k: v for k, v in state_dict.items() if k not in drop}
        target = self.state_dict()
        needs_inflation = [
            k for k, v in state_dict.items()
            if k in target and isinstance(v, torch.Tensor) and is_inflatable(v.shape,
                                                                               target[k].shape)
        ]
        if self.pretrained2d and not needs_inflation:
            raise InflationError('pretrained2d=True, but the checkpoint holds no 2D kernel to '
                                 'inflate (it looks like a video checkpoint); set '
                                 'pretrained2d=None or False')
        return inflate_state_dict(
            state_dict, target, mode=self.inflate_mode,
            allow_inflation=self.pretrained2d is not False, drop_mismatched=())

    # ------------------------------------------------------------------------ train / eval
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules: List[nn.Module] = [self.patch_embed1]
        for i in range(1, self.frozen_stages + 1):
            if i > 1:
                modules.append(getattr(self, f'patch_embed{i}'))
            modules.append(getattr(self, f'blocks{i}'))
        if self.frozen_stages == self.num_stages and self.norm is not None:
            modules.append(self.norm)
        return modules

    # ----------------------------------------------------------------------------- forward
    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 5:
            raise ValueError(
                f'{type(self).__name__} takes clips shaped (N, C, T, H, W), got a '
                f'{x.dim()}-D input {tuple(x.shape)}; in mmaction2 set '
                "data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')")
        _, c, t, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f'{type(self).__name__} was built for {self.in_channels} input '
                             f'channels, got {c} (input {tuple(x.shape)})')
        if t < self.temporal_stride:
            raise ValueError(
                f'the clip has {t} frame(s), fewer than the temporal stride '
                f'{self.temporal_stride} of the stem (patch_embed1 halves time); sample at '
                'least 2 frames (SampleFrames clip_len) or use the 2D UniFormer for images')
        if h < self.spatial_stride or w < self.spatial_stride:
            raise ValueError(f'frames of {h}x{w} are smaller than the total stride '
                             f'{self.spatial_stride} of {type(self).__name__}; use crops of at '
                             'least 32x32 (224x224 in the official recipes)')

    def _run_stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, f'patch_embed{i + 1}')(x)
        if i == 0:
            x = self.pos_drop(x)
        checkpointed = self.cp_num[i] if (self.with_cp and self.training
                                          and torch.is_grad_enabled()) else 0
        for j, block in enumerate(getattr(self, f'blocks{i + 1}')):
            if j < checkpointed:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Extract features of a clip batch ``x`` (``N, C, T, H, W``).

        Returns:
            Tensor | tuple[Tensor]: The output of each stage in ``out_indices`` (the last one
            after ``norm`` when ``final_norm``): a tensor for one index, else a tuple.
        """
        self._check_input(x)
        outs = []
        # Stages after the last requested output would be computed for nothing.
        for i in range(self.out_indices[-1] + 1):
            x = self._run_stage(i, x)
            if i == self.num_stages - 1 and self.norm is not None:
                x = self.norm(x)
            if i in self.out_indices:
                # Contiguous NCTHW for consumers that .view() features (cheap at these sizes).
                outs.append(x.contiguous())
        return outs[0] if len(outs) == 1 else tuple(outs)
