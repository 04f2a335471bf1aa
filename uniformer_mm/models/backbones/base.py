"""What every UniFormer backbone shares: arguments, the stage loop, freezing, init, loading.

:class:`BaseUniFormer` is the one interface of ``UniFormer`` (2D), ``UniFormer3D``,
``UniFormerLight`` and ``UniFormerLight3D``. A backbone is four stages; stage ``i`` (0-based)
is ``patch_embed{i+1}`` followed by ``blocks{i+1}`` (convolution blocks in stages 0-1,
attention blocks in stages 2-3). Subclasses build those modules (and the tops ``norm`` /
``norm{i+1}``) in the official registration order and may override the per-stage hooks
:meth:`_forward_stage` and :meth:`_stage_output`; everything else lives here.
"""
import copy
import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch.nn.modules.batchnorm import _BatchNorm

from uniformer_mm.checkpoint.inflate import (INFLATE_MODES, InflationError,
                                             inflate_state_dict, is_inflatable)
from uniformer_mm.checkpoint.keys import CLASSIFIER_KEYS
from ..blocks import AttentionBlock
from ..pretrained import PretrainedInitMixin

__all__ = ['BaseUniFormer', 'stage_layer_depth']

Tensor = torch.Tensor
ArchArg = Union[str, dict]
WithCp = Union[bool, int, Sequence[int]]


def stage_layer_depth(param_name: str, prefix: str, depths: Sequence[int],
                      stage_tokens: Mapping[str, int] = {}) -> Tuple[int, int]:
    """Layer index of a parameter of a UniFormer backbone, for layer-wise lr decay.

    Blocks are numbered 1..N over all stages (N = ``sum(depths)``); the stem
    ``patch_embed1`` is 0, ``patch_embed{k}`` shares the index of the first block of stage k,
    and everything else (output / final norms, and any parameter outside ``prefix``: necks
    and heads) gets N + 1, i.e. the full learning rate.

    Args:
        param_name (str): The parameter's name in the model.
        prefix (str): The backbone's prefix in the model (e.g. ``'backbone.'``).
        depths (Sequence[int]): Blocks per stage (stage k's modules are ``patch_embed{k}`` and
            ``blocks{k}``, k from 1).
        stage_tokens (Mapping[str, int]): Backbone parameter name prefixes that enter with a
            stage (0-based) and share the index of its first block, e.g. the light models'
            ``{'cls_token': 2}``. Not modified.

    Returns:
        tuple[int, int]: ``(layer index, number of layers N + 2)``.
    """
    num_layers = sum(depths) + 2
    if not param_name.startswith(prefix):
        return num_layers - 1, num_layers
    name = param_name[len(prefix):]
    starts = [sum(depths[:i]) for i in range(len(depths))]
    for token, stage in stage_tokens.items():
        if name.startswith(token):
            return starts[stage] + 1, num_layers
    m = re.match(r'(patch_embed|blocks)(\d)\.(\d+)?', name)
    if m is None:
        return num_layers - 1, num_layers
    stage = int(m.group(2)) - 1
    if m.group(1) == 'patch_embed':
        return (0 if stage == 0 else starts[stage] + 1), num_layers
    return starts[stage] + int(m.group(3)) + 1, num_layers


class BaseUniFormer(PretrainedInitMixin, BaseModule):
    """Base class of the UniFormer backbones (the common arguments, in mmpretrain's names).

    Args:
        arch (str | dict): A name of :attr:`arch_zoo` (the family's table in
            :data:`uniformer_mm.archs.ARCH_ZOO`) or a dict with ``depths`` (4 ints),
            ``embed_dims`` (4 ints), ``head_dim`` (int) and optionally the keys of
            :attr:`arch_defaults` (``mlp_ratio``, ``conv_stem``, ``layer_scale``, ...).
        in_channels (int): Input channels.
        out_indices (int | Sequence[int]): Stages (0-3, negative counts from the end) whose
            outputs are returned, as a tuple in this order.
        final_norm (bool): ``True``: the official classification top, a BatchNorm ``norm`` on
            the last stage. ``False``: no ``norm``; the 2D families (``dense_norms``) put a
            LayerNorm ``norm{i+1}`` on every output instead, as the official dense backbones.
        drop_path_rate (float): Stochastic depth, rising linearly over all blocks from 0.
        frozen_stages (int): The mmpretrain Swin convention: ``-1`` freezes nothing; ``k >= 0``
            freezes the stem and stages ``0..k`` (``patch_embed{i+1}``, ``blocks{i+1}``, their
            output norm and the tokens entering with them); ``3`` also the final ``norm``.
            Frozen modules stay in eval mode with ``requires_grad=False``.
        norm_eval (bool): Keep every BatchNorm in eval mode while training (frozen running
            statistics).
        with_cp (bool | int | Sequence[int]): Gradient checkpointing of the leading blocks of
            each stage: ``True`` all blocks, an int ``n`` the first ``n`` of every stage, 4 ints
            one count per stage (the official ``checkpoint_num``).
        init_cfg (dict | list[dict], optional): mmengine init config; ``dict(type='Pretrained',
            checkpoint=..., prefix=...)`` loads official or converted weights through
            :func:`uniformer_mm.checkpoint.load_pretrained`.
    """

    #: Named architectures (set by each family from :data:`uniformer_mm.archs.ARCH_ZOO`).
    arch_zoo: Mapping[str, dict] = {}
    #: Optional keys of a dict ``arch`` and their defaults.
    arch_defaults: Mapping[str, Any] = dict(mlp_ratio=4., conv_stem=False, layer_scale=None)
    #: 2 (images) or 3 (videos).
    ndim = 2
    num_stages = 4
    #: Total spatial stride: the smallest input side that leaves a stage-4 map.
    min_input_size = 32
    #: Whether ``final_norm=False`` builds a LayerNorm ``norm{i+1}`` per output.
    dense_norms = True
    #: Parameters / modules outside ``patch_embed{i}`` / ``blocks{i}`` that enter with a stage
    #: (0-based): frozen with it and numbered with it for layer-wise lr decay.
    stage_tokens: Mapping[str, int] = {}

    def __init__(self,
                 arch: ArchArg,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 final_norm: bool = True,
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: WithCp = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        name = type(self).__name__
        #: The arch_zoo name, or None for a dict arch (the checkpoint loader uses it to tell a
        #: deliberate head_dim choice from a possible mistake).
        self.arch_name = arch.lower() if isinstance(arch, str) else None
        self.arch_settings = self._parse_arch(arch)
        self.depths: Tuple[int, ...] = tuple(self.arch_settings['depths'])
        self.embed_dims: Tuple[int, ...] = tuple(self.arch_settings['embed_dims'])
        self.head_dim = int(self.arch_settings['head_dim'])
        self.in_channels = int(in_channels)
        self.out_indices = self._parse_out_indices(out_indices)
        self.final_norm = bool(final_norm)
        if self.final_norm and self.dense_norms and self.out_indices != (self.num_stages - 1, ):
            raise ValueError(
                f'final_norm=True (classification: the official BatchNorm `norm` after stage 4) '
                f'returns only the last stage, but out_indices={self.out_indices}; use '
                'out_indices=(3, ), or final_norm=False for dense multi-scale outputs with '
                f'LayerNorms norm1..norm4 ({name})')
        last = self.num_stages - 1
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= last:
            raise ValueError(f'frozen_stages must be an int in [-1, {last}] (-1: none, k: the '
                             f'stem and stages 0..k), got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = bool(norm_eval)
        self.with_cp = with_cp
        self.cp_num = self._parse_with_cp(with_cp)
        # Explicit CPU device: the model may be built under `with torch.device('meta')`.
        self.drop_path_rates: List[float] = torch.linspace(
            0, drop_path_rate, sum(self.depths), device='cpu').tolist()

    # ------------------------------------------------------------------ configuration
    def _parse_arch(self, arch: ArchArg) -> dict:
        """Validate ``arch`` and fill the optional keys."""
        name = type(self).__name__
        required = ('depths', 'embed_dims', 'head_dim')
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise ValueError(f'unknown {name} arch {arch!r}; choose one of '
                                 f'{sorted(self.arch_zoo)} or pass a dict with keys '
                                 f'{list(required)} (optional: {sorted(self.arch_defaults)})')
            settings = copy.deepcopy(dict(self.arch_zoo[arch.lower()]))
        elif isinstance(arch, dict):
            unknown = set(arch) - set(required) - set(self.arch_defaults)
            missing = set(required) - set(arch)
            if unknown or missing:
                raise ValueError(f'{name} arch dict: missing keys {sorted(missing)}, unknown '
                                 f'keys {sorted(unknown)}; allowed keys are '
                                 f'{sorted(set(required) | set(self.arch_defaults))}')
            settings = {**copy.deepcopy(dict(self.arch_defaults)), **copy.deepcopy(arch)}
        else:
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        for key in ('depths', 'embed_dims'):
            value = settings[key]
            if (not isinstance(value, Sequence) or len(value) != self.num_stages
                    or not all(isinstance(v, int) and v > 0 for v in value)):
                raise ValueError(f'arch {key} must be {self.num_stages} positive ints (it needs '
                                 f'{self.num_stages} values, one per stage), got {value!r}')
        ratio = settings['mlp_ratio']
        settings['mlp_ratio'] = (tuple(float(r) for r in ratio) if isinstance(ratio, Sequence)
                                 else (float(ratio), ) * self.num_stages)
        if len(settings['mlp_ratio']) != self.num_stages:
            raise ValueError(f'mlp_ratio must be a float or {self.num_stages} floats, got '
                             f'{ratio!r}')
        if settings.get('layer_scale') not in (None, 'attention', 'all'):
            raise ValueError("arch layer_scale must be None, 'attention' (stage-3/4 blocks, as "
                             f"base_ls) or 'all' (every block, as large_ls), got "
                             f"{settings['layer_scale']!r}")
        hd = settings['head_dim']
        bad = [c for c in settings['embed_dims'][2:] if not isinstance(hd, int) or hd < 1
               or c % hd]
        if bad:
            raise ValueError(f'head_dim={hd!r} must divide the embed dims of the attention stages '
                             f'3-4 ({tuple(settings["embed_dims"][2:])}), but does not divide '
                             f'{bad} (they are not divisible by head_dim); choose a head_dim '
                             'that divides them')
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

    def _parse_with_cp(self, with_cp: WithCp) -> Tuple[int, ...]:
        """Number of checkpointed (leading) blocks per stage."""
        if isinstance(with_cp, bool):
            return tuple(d if with_cp else 0 for d in self.depths)
        if isinstance(with_cp, int):
            nums: Tuple[Any, ...] = (with_cp, ) * self.num_stages
        elif isinstance(with_cp, Sequence) and len(with_cp) == self.num_stages:
            nums = tuple(with_cp)
        else:
            raise ValueError(f'with_cp must be a bool, an int or {self.num_stages} ints, got '
                             f'{with_cp!r}')
        if not all(isinstance(n, int) and n >= 0 for n in nums):
            raise ValueError(f'with_cp block counts must be ints >= 0, got {with_cp!r}')
        return tuple(min(n, d) for n, d in zip(nums, self.depths))

    def _add_output_norm(self, stage: int) -> None:
        """Register the dense output LayerNorm of ``stage`` if this configuration has one
        (called right after the stage's blocks: the official registration order)."""
        if self.dense_norms and not self.final_norm and stage in self.out_indices:
            self.add_module(f'norm{stage + 1}', nn.LayerNorm(self.embed_dims[stage], eps=1e-6))

    def _finish_init(self) -> None:
        """The official init, then freezing; the last step of every subclass ``__init__``."""
        self.apply(self._official_init)
        for m in self.modules():
            if isinstance(m, AttentionBlock):
                m.init_temporal_branch()  # after the Linear init, as the official video model
        self._freeze_stages()

    @staticmethod
    def _official_init(m: nn.Module) -> None:
        """The official ``_init_weights``: Linear trunc-normal(0.02) / zero bias, LayerNorm
        (1, 0); convolutions and BatchNorms keep PyTorch's defaults."""
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0)

    # ------------------------------------------------------------------ weights
    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Key prefixes no ImageNet file has (the dense output norms); their absence is
        expected and logged at INFO level by :func:`~uniformer_mm.checkpoint.load_pretrained`."""
        return tuple(f'norm{i + 1}.' for i in range(self.num_stages)
                     if hasattr(self, f'norm{i + 1}'))

    def convert_pretrained(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Drop the checkpoint entries this configuration has no place for, by design.

        The classifier parts (:data:`~uniformer_mm.checkpoint.keys.CLASSIFIER_KEYS`: official
        ``head`` / ``aux_head`` / ``head_cls`` / ``norm_cls``, mmaction2's ``cls_head``)
        belong to the heads. Without ``final_norm`` the classification BatchNorm ``norm`` has
        no place, and neither has a dense output norm ``norm{i}`` this backbone does not build
        (an official pose file has all four). Everything else is loaded or reported.

        Args:
            state_dict (dict): Backbone keys (``backbone.`` already stripped).

        Returns:
            dict: The entries to load.
        """
        own_tops = {k.split('.', 1)[0] for k in self.state_dict()}
        drop = set(CLASSIFIER_KEYS) | {'data_preprocessor'}
        drop |= {t for t in ('norm', 'norm1', 'norm2', 'norm3', 'norm4') if t not in own_tops}
        kept = {k: v for k, v in state_dict.items() if k.split('.', 1)[0] not in drop}
        dropped = sorted({k.split('.', 1)[0] for k in state_dict} & drop)
        if dropped:
            print_log(f'{type(self).__name__}: not loading {dropped} from the checkpoint (this '
                      f'{"classification" if self.final_norm else "dense"} backbone has no '
                      'such modules; classifiers are loaded by the heads)', logger='current',
                      level=logging.INFO)
        return kept

    def _inflate_pretrained(self, state_dict: Dict[str, Tensor], pretrained2d: Optional[bool],
                            mode: str) -> Dict[str, Tensor]:
        """2D -> 3D inflation of the kernels of an image file (3D families).

        Args:
            state_dict (dict): The entries to load.
            pretrained2d (bool, optional): None detects 2D kernels; False refuses inflation;
                True requires at least one 2D kernel.
            mode (str): ``'average'`` (official) or ``'center'``.
        """
        target = self.state_dict()
        needs_inflation = [
            k for k, v in state_dict.items()
            if k in target and isinstance(v, torch.Tensor)
            and is_inflatable(v.shape, target[k].shape)
        ]
        if pretrained2d and not needs_inflation:
            raise InflationError('pretrained2d=True, but the checkpoint holds no 2D kernel to '
                                 'inflate (it looks like a video checkpoint); set '
                                 'pretrained2d=None or False')
        return inflate_state_dict(state_dict, target, mode=mode,
                                  allow_inflation=pretrained2d is not False, drop_mismatched=())

    @staticmethod
    def _check_inflate_mode(mode: str) -> str:
        if mode not in INFLATE_MODES:
            raise ValueError(f'inflate_mode must be one of {INFLATE_MODES}, got {mode!r}')
        return mode

    # ------------------------------------------------------------------ training state
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        """The modules of ``stage``: embedding, blocks, output norm and entering tokens."""
        mods: List[nn.Module] = [getattr(self, f'patch_embed{stage + 1}'),
                                 getattr(self, f'blocks{stage + 1}')]
        if hasattr(self, f'norm{stage + 1}'):
            mods.append(getattr(self, f'norm{stage + 1}'))
        for name, s in self.stage_tokens.items():
            token = getattr(self, name.rstrip('.'))
            if s == stage and isinstance(token, nn.Module):
                mods.append(token)
        return mods

    def _freeze_stages(self) -> None:
        """Put the frozen modules in eval mode and stop their gradients."""
        if self.frozen_stages < 0:
            return
        modules: List[nn.Module] = [self.pos_drop]  # the stem's dropout
        for s in range(self.frozen_stages + 1):
            modules += self._stage_modules(s)
        if self.frozen_stages == self.num_stages - 1 and self.final_norm:
            modules.append(self.norm)
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        for name, s in self.stage_tokens.items():
            token = getattr(self, name.rstrip('.'))
            if s <= self.frozen_stages and isinstance(token, nn.Parameter):
                token.requires_grad = False

    def train(self, mode: bool = True) -> 'BaseUniFormer':
        """Set the training mode, keeping frozen stages (and BatchNorms if ``norm_eval``) in
        eval mode (the mmpretrain / mmdet convention)."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer index of a parameter for layer-wise learning-rate decay.

        Blocks are numbered 1..N over all stages, the stem is 0 and everything after the last
        block (and outside ``prefix``) is N + 1; tokens entering with a stage share the index
        of its first block (see :func:`stage_layer_depth`). Used by mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor`` and by
        ``uniformer_mm.LayerDecayOptimWrapperConstructor`` (scale
        ``decay ** (N + 2 - 1 - layer)``).

        Args:
            param_name (str): The parameter's name in the model.
            prefix (str): The backbone's prefix in the model (e.g. ``'backbone.'``).

        Returns:
            tuple[int, int]: ``(layer index, number of layers N + 2)``.
        """
        return stage_layer_depth(param_name, prefix, self.depths, self.stage_tokens)

    # ------------------------------------------------------------------ forward
    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.dim() != self.ndim + 2:
            what = ('images B x C x H x W' if self.ndim == 2 else
                    'clips (N, C, T, H, W); in mmaction2 set data_preprocessor=dict('
                    "type='ActionDataPreprocessor', format_shape='NCTHW')")
            raise ValueError(f'{name} expects {what}, got a {x.dim()}-D tensor of shape '
                             f'{tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{name}: the input has {x.shape[1]} channels but the backbone '
                             f'was built with in_channels={self.in_channels} (input '
                             f'{tuple(x.shape)}); fix the data pipeline (its input channels) '
                             'or set in_channels')
        if min(x.shape[-2:]) < self.min_input_size:
            s = self.min_input_size
            raise ValueError(f'{name}: input {tuple(x.shape[-2:])} is smaller than the total '
                             f'stride {s} of the backbone (it needs H, W >= {s}); resize or '
                             f'pad the input to at least {s}x{s}')

    def _run_blocks(self, stage: int, *inputs: Any) -> Any:
        """The blocks of one stage, the first ``cp_num[stage]`` under gradient checkpointing
        (non-reentrant; only where it saves memory: training with gradients)."""
        use_cp = self.training and torch.is_grad_enabled()
        out: Tuple[Any, ...] = inputs
        for j, blk in enumerate(getattr(self, f'blocks{stage + 1}')):
            if use_cp and j < self.cp_num[stage]:
                res = cp.checkpoint(blk, *out, use_reentrant=False)
            else:
                res = blk(*out)
            out = res if isinstance(res, tuple) else (res, )
        return out if len(out) > 1 else out[0]

    def _forward_stage(self, stage: int, x: Tensor, state: Dict[str, Any]) -> Tensor:
        """Embedding and blocks of ``stage``; ``state`` carries what later stages need within
        one call (the stem hook, the light models' class token and score)."""
        x = getattr(self, f'patch_embed{stage + 1}')(x)
        if stage == 0:
            x = self.pos_drop(x)
            if state.get('stem_hook') is not None:
                x = state['stem_hook'](x)
        return self._run_blocks(stage, x)

    def _stage_output(self, stage: int, x: Tensor, state: Dict[str, Any]) -> Any:
        """The output of ``stage`` (in ``out_indices``): after ``norm`` (last stage, with
        ``final_norm``) or ``norm{stage+1}`` (dense), contiguous channels-first."""
        if self.final_norm and stage == self.num_stages - 1:
            x = self.norm(x)
        elif hasattr(self, f'norm{stage + 1}'):
            x = getattr(self, f'norm{stage + 1}')(x.movedim(1, -1)).movedim(-1, 1)
        return x.contiguous()

    def forward(self, x: Tensor, stem_hook: Optional[Any] = None) -> Tuple[Any, ...]:
        """Run the backbone.

        Args:
            x (Tensor): ``B x in_channels x H x W`` images (``B x C x T x H x W`` clips for
                the 3D families), H and W >= 32.
            stem_hook (callable, optional): Applied to the stride-4 map after ``patch_embed1``
                (and its dropout) -- the place where token labeling's MixToken mixes tokens
                (see :class:`uniformer_mm.models.classifiers.TokenLabelClassifier`).

        Returns:
            tuple: One output per ``out_indices`` entry, in that order.
        """
        self._check_input(x)
        # Channels-last memory throughout (values unchanged): the depthwise and 1x1 convs of
        # the blocks run several times faster on CPU (oneDNN), and the token flatten of the
        # attention blocks becomes a view. Outputs are returned contiguous channels-first.
        x = x.contiguous(memory_format=torch.channels_last if self.ndim == 2
                         else torch.channels_last_3d)
        state: Dict[str, Any] = dict(stem_hook=stem_hook)
        outs: Dict[int, Any] = {}
        # Stages after the last requested output would be computed for nothing.
        for i in range(max(self.out_indices) + 1):
            x = self._forward_stage(i, x, state)
            if i in self.out_indices:
                outs[i] = self._stage_output(i, x, state)
        return tuple(outs[i] for i in self.out_indices)
