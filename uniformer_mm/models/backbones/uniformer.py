"""The 2D UniFormer backbone for classification (mmpretrain) and dense prediction (mmdet, mmseg,
mmpose), with the official state_dict layout.

Facts: ``../shared/reference/uniformer_official.md`` §1-3, §5 and §8. One class covers the
ImageNet model (``image_classification/models/uniformer.py``), the token-labeling model
(``token_labeling/tlt/models/uniformer.py``; its heads are :class:`TokenLabelClsHead`) and the
dense backbone (``object_detection/mmdet/models/backbones/uniformer.py``, identical in seg and
pose).
"""
import logging
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from uniformer_mm.checkpoint import IMAGE_ARCHS
from uniformer_mm.registry import MODELS
from ..blocks import AttentionBlock, ConvBlock, ConvDownsample, ConvStem, PatchEmbed
from ..pretrained import PretrainedInitMixin
from .base import FrozenStagesMixin, stage_layer_depth

__all__ = ['UniFormer']

ATTN_TYPES = ('global', 'window', 'hybrid')
_ARCH_KEYS = {'depths', 'embed_dims', 'head_dim', 'mlp_ratio', 'conv_stem', 'layer_scale'}
_REQUIRED_ARCH_KEYS = {'depths', 'embed_dims', 'head_dim'}


@MODELS.register_module()
class UniFormer(PretrainedInitMixin, FrozenStagesMixin, BaseModule):
    """UniFormer (Li et al., TPAMI 2023), the 2D backbone, with the official parameter names.

    Stages 1-2 are convolution blocks (local MHRA, BatchNorm), stages 3-4 self-attention blocks
    (global MHRA, LayerNorm); every stage starts with a stride-2 embedding (stride 4 for the
    first), so the four outputs have strides 4, 8, 16 and 32.

    The two official top ends are selected with ``final_norm``:

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
        frozen_stages (int): ``-1``: nothing frozen; ``0``: the stem ``patch_embed1``; ``k``
            (1-4): ``patch_embed1..k``, ``blocks1..k`` and their output norms (and the final
            ``norm`` for 4). Frozen modules get ``requires_grad=False`` and stay in eval mode.
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

    #: Official architectures (see :data:`uniformer_mm.checkpoint.IMAGE_ARCHS`); ``tl_*`` are
    #: the token-labeling releases (``tl_small`` / ``tl_base`` use head_dim 32).
    arch_zoo: Dict[str, dict] = {name: dict(arch, mlp_ratio=4.)
                                 for name, arch in IMAGE_ARCHS.items()}
    num_stages = 4
    #: Total stride: the smallest input side that leaves a stage-4 map.
    min_input_size = 32

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
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        #: The arch_zoo name, or None for a dict arch (the checkpoint loader uses it to tell a
        #: deliberate head_dim choice from a possible mistake).
        self.arch_name = arch if isinstance(arch, str) else None
        depths = self.depths = tuple(self.arch_settings['depths'])
        dims = self.embed_dims = tuple(self.arch_settings['embed_dims'])
        self.head_dim = int(self.arch_settings['head_dim'])
        mlp_ratios = self.arch_settings['mlp_ratio']
        self.conv_stem = bool(self.arch_settings['conv_stem'])
        self.layer_scale = self.arch_settings['layer_scale']
        self.in_channels = int(in_channels)

        self.out_indices = self._parse_out_indices(out_indices)
        self.final_norm = bool(final_norm)
        if self.final_norm and self.out_indices != (self.num_stages - 1, ):
            raise ValueError(
                f'final_norm=True (classification: the official BatchNorm `norm` after stage 4) '
                f'returns only the last stage, but out_indices={self.out_indices}; use '
                'out_indices=(3, ), or final_norm=False for dense multi-scale outputs with '
                'LayerNorms norm1..norm4')
        if attn_type not in ATTN_TYPES:
            raise ValueError(f'attn_type must be one of {ATTN_TYPES}, got {attn_type!r}')
        if attn_type != 'global' and (not isinstance(window_size, int) or window_size < 1):
            raise ValueError(f'window_size must be an int >= 1 for attn_type={attn_type!r}, got '
                             f'{window_size!r} (the official dense configs use 14)')
        self.attn_type, self.window_size = attn_type, window_size
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be an int in [-1, {self.num_stages}] (-1: '
                             f'none, 0: the stem, k: stem and stages 1..k), got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = bool(norm_eval)
        self.cp_num = self._parse_with_cp(with_cp, depths)

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

        # Explicit CPU device: the model may be built under `with torch.device('meta')`.
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        ls_conv = layer_scale_init_value if self.layer_scale == 'all' else None
        ls_attn = layer_scale_init_value if self.layer_scale in ('all', 'attention') else None
        start = 0
        for i in range(self.num_stages):
            blocks = []
            for j in range(depths[i]):
                common = dict(mlp_ratio=mlp_ratios[i], drop=drop_rate, drop_path=dpr[start + j])
                if i < 2:
                    blocks.append(ConvBlock(dims[i], layer_scale_init=ls_conv, **common))
                else:
                    blocks.append(AttentionBlock(
                        dims[i], dims[i] // self.head_dim, qkv_bias=qkv_bias, qk_scale=qk_scale,
                        attn_drop=attn_drop_rate, window_size=self._block_window(i, j),
                        layer_scale_init=ls_attn, norm_eps=1e-6, **common))
            start += depths[i]
            self.add_module(f'blocks{i + 1}', nn.ModuleList(blocks))
            if not self.final_norm and i in self.out_indices:
                # Registered right after its stage, as in the official dense backbones.
                self.add_module(f'norm{i + 1}', nn.LayerNorm(dims[i], eps=1e-6))
        if self.final_norm:
            self.norm = nn.BatchNorm2d(dims[-1])

        self.apply(self._official_init)
        self._freeze_stages()

    # ------------------------------------------------------------------ configuration
    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        """Validate ``arch`` and fill the optional keys."""
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise ValueError(f'unknown UniFormer arch {arch!r}; choose one of '
                                 f'{sorted(self.arch_zoo)} or pass a dict with keys '
                                 f'{sorted(_REQUIRED_ARCH_KEYS)} (optional: '
                                 f'{sorted(_ARCH_KEYS - _REQUIRED_ARCH_KEYS)})')
            settings = dict(self.arch_zoo[arch])
        elif isinstance(arch, dict):
            unknown = set(arch) - _ARCH_KEYS
            missing = _REQUIRED_ARCH_KEYS - set(arch)
            if unknown or missing:
                raise ValueError(f'arch dict: missing keys {sorted(missing)}, unknown keys '
                                 f'{sorted(unknown)}; allowed keys are {sorted(_ARCH_KEYS)}')
            settings = {**dict(mlp_ratio=4., conv_stem=False, layer_scale=None), **arch}
        else:
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        for key in ('depths', 'embed_dims'):
            value = settings[key]
            if (not isinstance(value, Sequence) or len(value) != self.num_stages
                    or not all(isinstance(v, int) and v > 0 for v in value)):
                raise ValueError(f'arch {key} must be {self.num_stages} positive ints, got '
                                 f'{value!r}')
        ratio = settings['mlp_ratio']
        settings['mlp_ratio'] = (tuple(float(r) for r in ratio) if isinstance(ratio, Sequence)
                                 else (float(ratio), ) * self.num_stages)
        if len(settings['mlp_ratio']) != self.num_stages:
            raise ValueError(f'mlp_ratio must be a float or {self.num_stages} floats, got '
                             f'{ratio!r}')
        if settings['layer_scale'] not in (None, 'attention', 'all'):
            raise ValueError("arch layer_scale must be None, 'attention' (stage-3/4 blocks, as "
                             f"base_ls) or 'all' (every block, as large_ls), got "
                             f"{settings['layer_scale']!r}")
        hd = settings['head_dim']
        bad = [c for c in settings['embed_dims'][2:] if not isinstance(hd, int) or hd < 1
               or c % hd]
        if bad:
            raise ValueError(f'head_dim={hd!r} must divide the embed dims of the attention stages '
                             f'3-4 ({tuple(settings["embed_dims"][2:])}), but does not divide '
                             f'{bad}; choose a head_dim that divides them (official: 64 or 32)')
        return settings

    def _parse_out_indices(self, out_indices: Union[int, Sequence[int]]) -> Tuple[int, ...]:
        """Normalise ``out_indices`` to a tuple of stage indices in [0, 3]."""
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if not isinstance(out_indices, Sequence) or not out_indices:
            raise ValueError(f'out_indices must be an int or a non-empty sequence of ints, got '
                             f'{out_indices!r}')
        result = []
        for i in out_indices:
            if not isinstance(i, int) or not -self.num_stages <= i < self.num_stages:
                raise ValueError(f'out_indices entries must be stage indices in '
                                 f'[-{self.num_stages}, {self.num_stages - 1}], got {i!r} in '
                                 f'{tuple(out_indices)}')
            result.append(i % self.num_stages)
        if len(set(result)) != len(result):
            raise ValueError(f'out_indices has duplicates: {tuple(out_indices)}')
        return tuple(result)

    def _parse_with_cp(self, with_cp: Union[bool, int, Sequence[int]],
                       depths: Sequence[int]) -> Tuple[int, ...]:
        """Number of checkpointed (leading) blocks per stage."""
        if isinstance(with_cp, bool):
            return tuple(d if with_cp else 0 for d in depths)
        if isinstance(with_cp, int):
            nums = (with_cp, ) * self.num_stages
        elif isinstance(with_cp, Sequence) and len(with_cp) == self.num_stages:
            nums = tuple(with_cp)
        else:
            raise ValueError(f'with_cp must be a bool, an int or {self.num_stages} ints, got '
                             f'{with_cp!r}')
        if not all(isinstance(n, int) and n >= 0 for n in nums):
            raise ValueError(f'with_cp block counts must be ints >= 0, got {with_cp!r}')
        return tuple(min(n, d) for n, d in zip(nums, depths))

    def _block_window(self, stage: int, index: int) -> Optional[int]:
        """Window size of stage-3 block ``index`` (``None`` = global attention)."""
        if stage != 2 or self.attn_type == 'global':
            return None
        if self.attn_type == 'hybrid' and (index + 1) % 4 == 0:
            return None
        return self.window_size

    # ------------------------------------------------------------------ weights
    @staticmethod
    def _official_init(m: nn.Module) -> None:
        """The official ``_init_weights``: Linear trunc-normal(0.02), LayerNorm (1, 0); convs
        and BatchNorms keep PyTorch's defaults."""
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0)

    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Key prefixes no ImageNet file has (the dense output norms); their absence is
        expected and logged at INFO level by :func:`~uniformer_mm.checkpoint.load_pretrained`."""
        return tuple(f'norm{i + 1}.' for i in self.out_indices) if not self.final_norm else ()

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Drop the checkpoint entries this configuration has no place for, by design.

        The classifier heads ``head.*`` / ``aux_head.*`` belong to the mmpretrain head, not to
        the backbone. A dense backbone (``final_norm=False``) also has no classification
        BatchNorm ``norm.*``, and no output norm for stages outside ``out_indices`` (an
        official pose file has all four). Everything else is loaded or reported.

        Args:
            state_dict (dict): Backbone keys (``backbone.`` already stripped).

        Returns:
            dict: The entries to load.
        """
        drop = ['head', 'aux_head']
        if not self.final_norm:
            drop.append('norm')
            drop += [f'norm{i + 1}' for i in range(self.num_stages) if i not in self.out_indices]
        kept = {k: v for k, v in state_dict.items() if k.split('.', 1)[0] not in drop}
        dropped = sorted({k.split('.', 1)[0] for k in state_dict} & set(drop))
        if dropped:
            print_log(f'UniFormer: not loading {dropped} from the checkpoint (this '
                      f'{"classification" if self.final_norm else "dense"} backbone has no such '
                      'modules)', logger='current', level=logging.INFO)
        return kept

    def _frozen_modules(self) -> List[nn.Module]:
        """Modules covered by ``frozen_stages``."""
        mods: List[nn.Module] = []
        if self.frozen_stages >= 0:
            mods.append(self.patch_embed1)
            mods.append(self.pos_drop)
        for i in range(1, self.frozen_stages + 1):
            if i > 1:
                mods.append(getattr(self, f'patch_embed{i}'))
            mods.append(getattr(self, f'blocks{i}'))
            if hasattr(self, f'norm{i}'):
                mods.append(getattr(self, f'norm{i}'))
        if self.frozen_stages == self.num_stages and self.final_norm:
            mods.append(self.norm)
        return mods

    # ------------------------------------------------------------------ layer decay
    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer index of a parameter for layer-wise learning-rate decay.

        Blocks are numbered 1..N over all stages, the stem is 0 and everything after the last
        block (and outside ``prefix``) is N + 1; see
        :func:`~uniformer_mm.models.backbones.base.stage_layer_depth`. Used by mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor`` and by
        ``uniformer_mm.LayerDecayOptimWrapperConstructor`` (scale
        ``decay ** (N + 2 - 1 - layer)``).

        Args:
            param_name (str): The parameter's name in the model.
            prefix (str): The backbone's prefix in the model (e.g. ``'backbone.'``).

        Returns:
            tuple[int, int]: ``(layer index, number of layers N + 2)``.
        """
        return stage_layer_depth(param_name, prefix, self.depths)

    # ------------------------------------------------------------------ forward
    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f'UniFormer (2D) expects images B x C x H x W, got a tensor of '
                             f'shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'input has {x.shape[1]} channels but the backbone was built with '
                             f'in_channels={self.in_channels}; fix the data pipeline or set '
                             'in_channels')
        if min(x.shape[-2:]) < self.min_input_size:
            raise ValueError(f'input {tuple(x.shape[-2:])} is smaller than the total stride '
                             f'{self.min_input_size} of the backbone; resize or pad images to '
                             f'at least {self.min_input_size}x{self.min_input_size}')

    def _run_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """Blocks of one stage, the first ``cp_num[stage]`` under gradient checkpointing."""
        use_cp = self.training and torch.is_grad_enabled()
        for j, blk in enumerate(getattr(self, f'blocks{stage + 1}')):
            if use_cp and j < self.cp_num[stage]:
                x = cp.checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        return x

    def forward(self, x: torch.Tensor,
                stem_hook: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
                ) -> Tuple[torch.Tensor, ...]:
        """Run the backbone.

        Args:
            x (Tensor): Images ``B x in_channels x H x W``, H and W >= 32 (any size: window
                attention pads, patch embeddings floor).
            stem_hook (callable, optional): Applied to the stride-4 map after ``patch_embed1``
                (and its dropout) -- the place where token labeling's MixToken mixes tokens
                (see :class:`uniformer_mm.models.classifiers.TokenLabelClassifier`).

        Returns:
            tuple[Tensor]: One ``B x C_i x H_i x W_i`` map per ``out_indices`` entry, after the
            final BatchNorm (classification) or the output LayerNorms (dense).
        """
        self._check_input(x)
        # Channels-last memory throughout (values unchanged): the depthwise and 1x1 convs of
        # the blocks run several times faster on CPU (oneDNN), and the token flatten of the
        # attention blocks becomes a view. Outputs are returned contiguous (NCHW).
        x = x.contiguous(memory_format=torch.channels_last)
        outs: Dict[int, torch.Tensor] = {}
        for i in range(self.num_stages):
            x = getattr(self, f'patch_embed{i + 1}')(x)
            if i == 0:
                x = self.pos_drop(x)
                if stem_hook is not None:
                    x = stem_hook(x)
            x = self._run_stage(i, x)
            if i in self.out_indices:
                if self.final_norm:
                    outs[i] = self.norm(x).contiguous()
                else:
                    norm = getattr(self, f'norm{i + 1}')
                    outs[i] = norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
            if i >= max(self.out_indices):
                break  # later stages would not contribute to any output
        return tuple(outs[i] for i in self.out_indices)
