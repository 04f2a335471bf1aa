"""The efficient "hourglass" UniFormer (XXS / XS) of the TPAMI paper, for images and videos.

Stages 1-2 are the usual convolution blocks. Stages 3-4 use :class:`EvoSABlock`: a class token
(width of stage 3, projected by ``cls_upsample`` before stage 4) takes part in the attention,
and its attention to the patch tokens, averaged over heads, is accumulated into a running
"global score" per token (an EMA with ``trade_off``). Every block after the first one of
stage 3 sorts the tokens by that score, keeps the top ``int(N * prune_ratio)`` ones
("informative"), merges the rest into one representative token weighted by their linearly
normalised scores, runs attention + MLP on ``[cls, informative..., representative]`` only
(slow update), adds the representative token's residual increments to every dropped token
(fast update) and puts all tokens back in their original order, so the full-resolution map
is recovered after each block. Between stages 3 and 4 the score is average-pooled 2x2
(videos 1x2x2) and rescaled to its previous sum.

Unlike the official code, no state lives at module level: the running score and the token
indices are passed explicitly from block to block, so two models in one process, or one model
in several threads, never interfere, and the indices stay ``torch.long`` (the official code
concatenated them into the feature tensor, i.e. carried them as floats).

See ``shared/reference/uniformer_official.md`` sections 2.3, 3.2 and 4.3.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from uniformer_mm.registry import MODELS
from ..blocks import AttentionBlock, ConvBlock, ConvStem, MultiheadAttention, PatchEmbed
from ..pretrained import PretrainedInitMixin
from .base import FrozenStagesMixin, stage_layer_depth

__all__ = [
    'LIGHT_ARCHS', 'LightAttention', 'EvoSABlock', 'UniFormerLight', 'UniFormerLight3D',
    'gather_tokens', 'merge_tokens', 'pool_score'
]

Tensor = torch.Tensor

# Official prune_ratio == trade_off for every released model.
_XXS_RATIOS = [[1.] + [.5] * 7, [.5] * 2]
_XS_RATIOS = [[1.] + [.5] * 8, [.5] * 3]

#: Released light architectures (``uniformer_xxs`` / ``uniformer_xs`` and the video
#: ``Uniformer_light*`` configs).
LIGHT_ARCHS: Dict[str, dict] = {
    'xxs': dict(depths=[2, 5, 8, 2], embed_dims=[56, 112, 224, 448], head_dim=28,
                mlp_ratios=[3, 3, 3, 3], prune_ratios=_XXS_RATIOS, trade_offs=_XXS_RATIOS),
    'xs': dict(depths=[3, 5, 9, 3], embed_dims=[64, 128, 256, 512], head_dim=32,
               mlp_ratios=[3, 3, 3, 3], prune_ratios=_XS_RATIOS, trade_offs=_XS_RATIOS),
}


# ----------------------------------------------------------------------------------------------
# Stateless helpers of the token shrinking / recovering
# ----------------------------------------------------------------------------------------------
def gather_tokens(x: Tensor, index: Tensor) -> Tensor:
    """Pick tokens of ``x`` (``B, N, C``) along ``N`` with a per-sample ``long`` index ``B, M``."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def merge_tokens(x_drop: Tensor, score: Tensor) -> Tensor:
    """Merge tokens into one, weighted by their linearly normalised scores.

    Args:
        x_drop (Tensor): The tokens to merge, ``B, M, C``.
        score (Tensor): Their (non-negative) global scores, ``B, M``.

    Returns:
        Tensor: The representative token ``sum_i w_i x_i`` with ``w_i = s_i / sum_j s_j``,
        shape ``B, 1, C``.
    """
    total = score.sum(dim=1, keepdim=True)
    # Softmax probabilities are positive, but may underflow to exactly 0 for extreme logits;
    # the official code would then produce 0/0 = NaN. Clamping only changes that case.
    weight = score / total.clamp_min(torch.finfo(score.dtype).tiny)
    return (weight.unsqueeze(-1).to(x_drop.dtype) * x_drop).sum(dim=1, keepdim=True)


def pool_score(score: Tensor, spatial_shape: Sequence[int]) -> Tensor:
    """Average-pool the running score to the next stage's grid, keeping its sum.

    Between stages 3 and 4 the score map is pooled 2x2 (videos: 1x2x2, time is not
    downsampled), exactly as the 2x2 stride-2 patch embedding pools the features, and then
    rescaled so that its per-sample sum is unchanged.

    Args:
        score (Tensor): ``B, N`` with ``N = prod(spatial_shape)``.
        spatial_shape (Sequence[int]): ``(H, W)`` or ``(T, H, W)`` of the stage-3 map.

    Returns:
        Tensor: ``B, N'`` for the stage-4 grid.
    """
    B = score.shape[0]
    grid = score.reshape(B, 1, *spatial_shape)
    if len(spatial_shape) == 2:
        pooled = F.avg_pool2d(grid, kernel_size=2, stride=2)
    else:
        pooled = F.avg_pool3d(grid, kernel_size=(1, 2, 2), stride=(1, 2, 2))
    pooled = pooled.reshape(B, -1)
    old_sum = score.sum(dim=1, keepdim=True)
    return pooled * (old_sum / pooled.sum(dim=1, keepdim=True))


def _no_autocast(device_type: str):
    """A context that disables autocast on ``device_type`` (CPU autocast is ``'cpu'``)."""
    return torch.autocast(device_type=device_type, enabled=False)


# ----------------------------------------------------------------------------------------------
# Blocks
# ----------------------------------------------------------------------------------------------
class LightAttention(MultiheadAttention):
    """Self-attention that also returns the class token's attention to every token.

    The outputs go through :func:`~torch.nn.functional.scaled_dot_product_attention`; the
    class-attention row is a separate softmax of ``q[:, :, :1] @ k^T`` (one row, so no
    ``N x N`` matrix is built). This is exactly the first row of the full attention matrix.
    The row is always computed in float32 because it feeds the running score, a float32 state.

    Args:
        attn_fp32 (bool): Upcast ``q``, ``k``, ``v`` to float32 and run the attention with
            autocast disabled. This is what the official ``*_fp32`` variants meant to do: they
            only disabled autocast after ``qkv`` had already produced half-precision tensors,
            so their softmax still ran in fp16. The projections stay under autocast.
        **kwargs: :class:`~uniformer_mm.models.blocks.MultiheadAttention` arguments.
    """

    def __init__(self, *args, attn_fp32: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.attn_fp32 = attn_fp32

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:  # type: ignore[override]
        """Attend over ``x`` (``B, N, C``, the class token first).

        Returns:
            tuple[Tensor, Tensor]: The attention output ``B, N, C`` (after ``proj``) and the
            head-averaged class attention ``B, N`` (float32), whose entry 0 is the class
            token's attention to itself.
        """
        B, N, C = x.shape
        q, k, v = self.split_qkv(x)
        in_dtype = q.dtype
        with _no_autocast(x.device.type):
            # Always fp32 for the score: it is accumulated over blocks and sorted on.
            q0, kf = q[:, :, :1].float(), k.float()
            cls_attn = ((q0 @ kf.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            cls_attn = cls_attn.mean(dim=1)[:, 0]  # B, N
            if self.attn_fp32:
                q, k, v = q.float(), kf, v.float()
            out = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.attn_drop if self.training else 0., scale=self.scale)
        # Back to the dtype qkv produced (matters for a model cast to bf16/fp16 without
        # autocast; under autocast ``proj`` casts anyway).
        out = out.to(in_dtype).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out)), cls_attn


class EvoSABlock(AttentionBlock):
    """The hourglass attention block of stages 3-4 (official ``EvoSABlock``).

    Same parameters and names as :class:`~uniformer_mm.models.blocks.AttentionBlock`
    (``pos_embed``, ``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp``; ``gamma_1``,
    ``gamma_2`` with layer scale).

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        prune_ratio (float): ``1`` runs attention on all tokens (the first block of stage 3,
            which initialises the score); ``r < 1`` keeps the top ``int(N * r)`` tokens.
        trade_off (float): EMA weight of the new class attention in the running score.
        attn_fp32 (bool): See :class:`LightAttention`.
        **kwargs: Other :class:`~uniformer_mm.models.blocks.AttentionBlock` arguments
            (``mlp_ratio``, ``qkv_bias``, ``qk_scale``, ``drop``, ``attn_drop``, ``drop_path``,
            ``ndim``, ``layer_scale_init``, ``norm_eps``). With ``layer_scale_init`` the fast
            update is ``gamma_1 * attn_inc + gamma_2 * mlp_inc`` as in the official video
            ``_ls_fp32`` models.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 prune_ratio: float = 1.,
                 trade_off: float = 0.5,
                 attn_fp32: bool = True,
                 **kwargs) -> None:
        if kwargs.get('window_size') is not None:
            raise ValueError('EvoSABlock attends globally; window_size is not supported')
        super().__init__(dim, num_heads, **kwargs)
        if not 0. < float(prune_ratio) <= 1.:
            raise ValueError(f'prune_ratio must be in (0, 1], got {prune_ratio!r}')
        self.prune_ratio = float(prune_ratio)
        self.trade_off = float(trade_off)
        old = self.attn
        # Same submodule name and slot, so parameter names and state_dict order are unchanged.
        self.attn = LightAttention(
            dim, num_heads, qkv_bias=old.qkv.bias is not None, qk_scale=kwargs.get('qk_scale'),
            attn_drop=old.attn_drop, proj_drop=old.proj_drop.p, attn_fp32=attn_fp32)

    def _residual(self, t: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Attention + MLP with residuals on ``t`` (class token first).

        Returns:
            tuple: The updated tokens, the class attention ``B, N`` and the last token's total
            increment before drop path (the fast update of the dropped tokens).
        """
        y, cls_attn = self.attn(self.norm1(t))
        if self.gamma_1 is not None:
            y = self.gamma_1 * y
        t = t + self.drop_path(y)
        inc = y[:, -1:]
        y = self.mlp(self.norm2(t))
        if self.gamma_2 is not None:
            y = self.gamma_2 * y
        t = t + self.drop_path(y)
        return t, cls_attn, inc + y[:, -1:]

    def forward(  # type: ignore[override]
            self, cls_token: Tensor, x: Tensor, score: Optional[Tensor],
            token_indices: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Run the block.

        Args:
            cls_token (Tensor): ``B, 1, C``.
            x (Tensor): The full map ``B, C, H, W`` (or ``B, C, T, H, W``).
            score (Tensor, optional): The running global score ``B, N`` (float32) in the
                map's order; ``None`` before the first block of stage 3.
            token_indices (Tensor): ``B, N`` long, the original position of each token of
                ``x`` (the identity at block boundaries).

        Returns:
            tuple: ``(cls_token, x, score, token_indices)`` after the block, ``x`` and the
            score back in the original token order.
        """
        x = x + self.pos_embed(x)
        shape = x.shape
        t = x.flatten(2).transpose(1, 2)  # B, N, C
        N = t.shape[1]
        tau = self.trade_off

        if self.prune_ratio == 1.:
            t, cls_attn, _ = self._residual(torch.cat([cls_token, t], dim=1))
            cls_attn = cls_attn[:, 1:]
            score = cls_attn if score is None else (1 - tau) * score + tau * cls_attn
            cls_token, t = t[:, :1], t[:, 1:]
            return cls_token, t.transpose(1, 2).reshape(shape), score, token_indices

        if score is None:
            raise RuntimeError('a pruning EvoSABlock needs the running score; the first '
                               'attention block must have prune_ratio=1')
        keep = int(N * self.prune_ratio)
        # Most attended first. A stable sort makes ties deterministic.
        order = torch.sort(score, dim=1, descending=True, stable=True).indices
        t_sorted = gather_tokens(t, order)
        score_sorted = score.gather(1, order)
        indices_sorted = token_indices.gather(1, order)

        x_info, x_drop = t_sorted[:, :keep], t_sorted[:, keep:]
        rep_token = merge_tokens(x_drop, score_sorted[:, keep:])
        t, cls_attn, fast_update = self._residual(torch.cat([cls_token, x_info, rep_token], 1))
        # Only the informative tokens get a new class attention (entry 0 is the class token,
        # the last one the representative token).
        # NOTE: the official code chose this branch by comparing the score length with the
        # token count, which mistook a block keeping N-1 of N tokens (N <= 2, i.e. tiny stage-4
        # maps) for an unpruned one; here the branch follows prune_ratio.
        info_score = (1 - tau) * score_sorted[:, :keep] + tau * cls_attn[:, 1:-1]
        score_sorted = torch.cat([info_score, score_sorted[:, keep:]], dim=1)
        x_drop = x_drop + fast_update

        cls_token = t[:, :1]
        t_sorted = torch.cat([t[:, 1:-1], x_drop], dim=1)
        restore = torch.argsort(indices_sorted, dim=1)
        t = gather_tokens(t_sorted, restore)
        score = score_sorted.gather(1, restore)
        token_indices = indices_sorted.gather(1, restore)
        return cls_token, t.transpose(1, 2).reshape(shape), score, token_indices


# ----------------------------------------------------------------------------------------------
# Backbones
# ----------------------------------------------------------------------------------------------
def _parse_ratios(value: Sequence, depths: Sequence[int], name: str) -> List[List[float]]:
    """Normalise per-block ratios to ``[stage3_list, stage4_list]``.

    Accepts the official 4-list layout ``[[], [], [...], [...]]`` or just the two lists.
    """
    value = [list(v) for v in value]
    if len(value) == 4:
        if value[0] or value[1]:
            raise ValueError(f'{name}: stages 1-2 are convolutional and take no ratios, got '
                             f'{value[:2]}')
        value = value[2:]
    if len(value) != 2 or len(value[0]) != depths[2] or len(value[1]) != depths[3]:
        raise ValueError(f'{name} must give one value per stage-3 and stage-4 block '
                         f'({depths[2]} and {depths[3]}), got {value}')
    return [[float(r) for r in v] for v in value]


class _UniFormerLightBase(PretrainedInitMixin, FrozenStagesMixin, BaseModule):
    """Shared body of :class:`UniFormerLight` (2D) and :class:`UniFormerLight3D`."""

    _ndim = 2
    _modes = ('cls', 'dense')
    #: Named architectures (also lets the loader resolve ``meta['arch']`` names).
    arch_zoo = LIGHT_ARCHS
    #: Tokens that enter with a later stage (0-based) and share its layer-decay index.
    _STAGE_TOKENS = {'cls_token': 2, 'cls_upsample.': 3}

    def __init__(self,
                 arch: Union[str, dict] = 'xxs',
                 in_channels: int = 3,
                 mode: str = 'cls',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 attn_fp32: bool = True,
                 layer_scale_init: Optional[float] = None,
                 conv_stem: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        if mode not in self._modes:
            raise ValueError(f'mode must be one of {self._modes}, got {mode!r}')
        self.mode = mode
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or any(i not in range(4) for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of 0..3, got {out_indices}')
        self.out_indices = out_indices
        if not -1 <= frozen_stages <= 3:
            raise ValueError(f'frozen_stages must be in [-1, 3], got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        a = self.arch_settings
        depths, dims, mlp_ratios = a['depths'], a['embed_dims'], a['mlp_ratios']
        prune, trade = a['prune_ratios'], a['trade_offs']
        self.embed_dims = dims
        self.head_dim = a['head_dim']  # read by the loader's head_dim consistency check
        self.num_features = dims[-1]
        num_heads = [max(d // a['head_dim'], 1) for d in dims]
        nd = self._ndim

        # Module registration order follows the official state_dicts (cls_token first, as a
        # direct parameter; patch embeds; cls_upsample; blocks with the dense norms between).
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims[2]))
        # Kept for the input check: a channel mismatch would otherwise surface as a conv
        # RuntimeError from inside the stem.
        self.in_channels = int(in_channels)
        self.patch_embed1 = self._make_stem(in_channels, dims[0], conv_stem)
        for i in range(1, 4):
            setattr(self, f'patch_embed{i + 1}', self._make_patch_embed(dims[i - 1], dims[i]))
        self.cls_upsample = nn.Linear(dims[2], dims[3])
        self.pos_drop = nn.Dropout(p=drop_rate)

        dpr = [r.item() for r in torch.linspace(0, drop_path_rate, sum(depths), device='cpu')]
        starts = [sum(depths[:i]) for i in range(4)]
        for s in range(4):
            if s < 2:
                blocks = [
                    ConvBlock(dims[s], mlp_ratio=mlp_ratios[s], drop=drop_rate,
                              drop_path=dpr[starts[s] + j], ndim=nd,
                              layer_scale_init=layer_scale_init)
                    for j in range(depths[s])
                ]
            else:
                blocks = [
                    EvoSABlock(dims[s], num_heads[s], prune_ratio=prune[s - 2][j],
                               trade_off=trade[s - 2][j], attn_fp32=attn_fp32,
                               mlp_ratio=mlp_ratios[s], qkv_bias=qkv_bias, qk_scale=qk_scale,
                               drop=drop_rate, attn_drop=attn_drop_rate,
                               drop_path=dpr[starts[s] + j], ndim=nd,
                               layer_scale_init=layer_scale_init, norm_eps=1e-6)
                    for j in range(depths[s])
                ]
            setattr(self, f'blocks{s + 1}', nn.ModuleList(blocks))
            if mode == 'dense' and s in out_indices:
                # Dense outputs: LayerNorm (eps 1e-6) over channels of each stage map.
                setattr(self, f'norm{s + 1}', nn.LayerNorm(dims[s], eps=1e-6))
        if mode == 'cls':
            # Classification: the official final BatchNorm before global average pooling.
            self.norm = (nn.BatchNorm2d if nd == 2 else nn.BatchNorm3d)(dims[3])

        self.apply(self._official_init)
        self._freeze_stages()

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def _parse_arch(arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in LIGHT_ARCHS:
                raise ValueError(f'unknown light arch {arch!r}; choose from '
                                 f'{sorted(LIGHT_ARCHS)} or give a dict')
            return copy.deepcopy(LIGHT_ARCHS[arch.lower()])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        required = {'depths', 'embed_dims', 'head_dim'}
        missing = required - set(arch)
        if missing:
            raise ValueError(f'custom arch misses {sorted(missing)}; it needs depths, '
                             'embed_dims, head_dim and optionally mlp_ratios, prune_ratios, '
                             'trade_offs')
        unknown = set(arch) - required - {'mlp_ratios', 'prune_ratios', 'trade_offs'}
        if unknown:
            raise ValueError(f'custom arch has unknown keys {sorted(unknown)}')
        depths = [int(d) for d in arch['depths']]
        dims = [int(d) for d in arch['embed_dims']]
        if len(depths) != 4 or len(dims) != 4:
            raise ValueError('depths and embed_dims need 4 entries (one per stage)')
        if depths[2] < 1 or depths[3] < 1:
            raise ValueError('the hourglass needs at least one block in stages 3 and 4')
        head_dim = int(arch['head_dim'])
        for d in dims[2:]:  # only stages 3-4 attend; the conv stages ignore heads
            if d % head_dim:
                raise ValueError(f'head_dim {head_dim} does not divide embed dim {d} of an '
                                 f'attention stage; choose a head_dim that divides the stage-3/4 '
                                 f'dims {tuple(dims[2:])} (official: 28 for xxs, 32 for xs)')
        mlp = arch.get('mlp_ratios', 4.)
        mlp = [float(mlp)] * 4 if isinstance(mlp, (int, float)) else [float(m) for m in mlp]
        if len(mlp) != 4:
            raise ValueError('mlp_ratios needs 4 entries (one per stage)')
        default = [[1.] + [.5] * (depths[2] - 1), [.5] * depths[3]]
        prune = _parse_ratios(arch.get('prune_ratios', default), depths, 'prune_ratios')
        # The official models use trade_off == prune_ratio, hence the default.
        trade = _parse_ratios(arch.get('trade_offs', prune), depths, 'trade_offs')
        if prune[0][0] != 1.:
            raise ValueError('the first stage-3 block must have prune_ratio 1: it runs on all '
                             'tokens and initialises the class-attention score')
        return dict(depths=depths, embed_dims=dims, head_dim=head_dim, mlp_ratios=mlp,
                    prune_ratios=prune, trade_offs=trade)

    def _make_stem(self, in_channels: int, dim: int, conv_stem: bool) -> nn.Module:
        if conv_stem:
            return ConvStem(in_channels, dim, ndim=2, strides=(2, 2))
        return PatchEmbed(in_channels, dim, kernel_size=4, ndim=2, channels_last=True)

    def _make_patch_embed(self, in_dim: int, dim: int) -> nn.Module:
        return PatchEmbed(in_dim, dim, kernel_size=2, ndim=2, channels_last=True)

    @staticmethod
    def _official_init(m: nn.Module) -> None:
        # Official ``_init_weights``: Linear trunc-normal(0.02) / zero bias, LayerNorm 1 / 0;
        # convolutions and BatchNorm keep PyTorch's defaults.
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # -- weights ------------------------------------------------------------------------------
    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Keys no ImageNet file has (the dense output norms): reported as expected-missing."""
        return tuple(f'norm{i + 1}.' for i in self.out_indices) if self.mode == 'dense' else ()

    def convert_pretrained(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Adapt an official light state_dict (already unwrapped) to this backbone.

        Drops the classifier parts (``head``, ``head_cls``, ``norm_cls``: they belong to our
        heads ``uniformer_mm.LightClsHead`` / ``uniformer_mm.LightVideoHead``), the final BN
        ``norm`` in dense mode, and dense output norms this backbone does not build.

        Args:
            state_dict (dict): Keys without the ``backbone.`` prefix.

        Returns:
            dict: The state_dict to load.
        """
        from uniformer_mm.checkpoint.light import light_backbone_state_dict
        sd = light_backbone_state_dict(state_dict)
        own = set(self.state_dict())
        for key in list(sd):
            top = key.split('.', 1)[0]
            # Final BN of classification files in dense mode; norm1..4 of dense files in cls
            # mode or for stages not in out_indices: parts of the other mode, never weights
            # this model needs.
            if top in ('norm', 'norm1', 'norm2', 'norm3', 'norm4') and key not in own:
                del sd[key]
        return sd

    # -- training-mode behaviour ----------------------------------------------------------------
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        mods: List[nn.Module] = [getattr(self, f'patch_embed{stage + 1}'),
                                 getattr(self, f'blocks{stage + 1}')]
        if stage == 3:
            mods.append(self.cls_upsample)
        if hasattr(self, f'norm{stage + 1}'):
            mods.append(getattr(self, f'norm{stage + 1}'))
        return mods

    def _frozen_modules(self) -> List[nn.Module]:
        """Stages ``0..frozen_stages`` (embedding, blocks, output norm; ``cls_upsample``)."""
        return [m for s in range(self.frozen_stages + 1) for m in self._stage_modules(s)]

    def _frozen_parameters(self) -> List[nn.Parameter]:
        """The class token, which enters in stage 3, once that stage is frozen."""
        return [self.cls_token] if self.frozen_stages >= 2 else []

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer index of a parameter for layer-wise learning-rate decay.

        Numbered as :meth:`uniformer_mm.models.UniFormer.get_layer_depth` (see
        :func:`~uniformer_mm.models.backbones.base.stage_layer_depth`); the tokens entering
        with a stage share the index of its first block (``cls_token`` with stage 3,
        ``cls_upsample`` with stage 4).

        Args:
            param_name (str): The parameter's name in the model.
            prefix (str): The backbone's prefix in the model (e.g. ``'backbone.'``).

        Returns:
            tuple[int, int]: ``(layer index, number of layers N + 2)``.
        """
        return stage_layer_depth(param_name, prefix, self.arch_settings['depths'],
                                 self._STAGE_TOKENS)

    # -- forward ------------------------------------------------------------------------------
    def _check_input(self, x: Tensor) -> None:
        nd = self._ndim
        if x.dim() != nd + 2:
            what = 'images B x C x H x W' if nd == 2 else 'clips B x C x T x H x W'
            raise ValueError(f'{type(self).__name__} expects {what}, got a tensor of shape '
                             f'{tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__}: input has {x.shape[1]} channels but the '
                             f'backbone was built with in_channels={self.in_channels} (input '
                             f'{tuple(x.shape)}); fix the data pipeline or set in_channels')
        if min(x.shape[-2:]) < 32:
            # Stage 4 has stride 32: a smaller side leaves it no token to attend over.
            raise ValueError(f'{type(self).__name__} needs H, W >= 32 (stride 32), got '
                             f'{tuple(x.shape[-2:])}')

    def _arange_indices(self, x: Tensor) -> Tensor:
        n = x[0, 0].numel()
        return torch.arange(n, device=x.device).unsqueeze(0).expand(x.shape[0], -1)

    def _dense_out(self, s: int, x: Tensor) -> Tensor:
        norm = getattr(self, f'norm{s + 1}')
        return norm(x.movedim(1, -1)).movedim(-1, 1).contiguous()

    def forward_features(self, x: Tensor) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """Run all stages.

        Returns:
            tuple: the stage-4 map, the stage-4 class token ``B, 1, C3`` and, in dense mode,
            the normalised maps of ``out_indices`` (an empty list in classification mode).
        """
        self._check_input(x)
        # Channels-last memory throughout, as in UniFormer (values unchanged): oneDNN's
        # depthwise and 1x1 convolutions run faster on it, and the token flatten / unflatten
        # of the attention blocks become views. (The patch embeddings keep the layout.)
        x = x.contiguous(memory_format=torch.channels_last if self._ndim == 2
                         else torch.channels_last_3d)
        outs: List[Tensor] = []
        dense = self.mode == 'dense'
        x = self.pos_drop(self.patch_embed1(x))
        for blk in self.blocks1:
            x = blk(x)
        if dense and 0 in self.out_indices:
            outs.append(self._dense_out(0, x))
        x = self.patch_embed2(x)
        for blk in self.blocks2:
            x = blk(x)
        if dense and 1 in self.out_indices:
            outs.append(self._dense_out(1, x))

        x = self.patch_embed3(x)
        cls_token = self.cls_token.expand(x.shape[0], -1, -1)
        score: Optional[Tensor] = None
        indices = self._arange_indices(x)
        for blk in self.blocks3:
            cls_token, x, score, indices = blk(cls_token, x, score, indices)
        if dense and 2 in self.out_indices:
            outs.append(self._dense_out(2, x))
        assert score is not None  # the first stage-3 block always sets it
        score = pool_score(score, x.shape[2:])

        cls_token = self.cls_upsample(cls_token)
        x = self.patch_embed4(x)
        indices = self._arange_indices(x)
        for blk in self.blocks4:
            cls_token, x, score, indices = blk(cls_token, x, score, indices)
        if dense and 3 in self.out_indices:
            outs.append(self._dense_out(3, x))
        return x, cls_token, outs

    def _pooled(self, x: Tensor) -> Tensor:
        return self.norm(x).flatten(2).mean(-1)


@MODELS.register_module()
class UniFormerLight(_UniFormerLightBase):
    """The efficient hourglass UniFormer (XXS / XS) for images: classification and dense.

    Official classes: ``image_classification/models/uniformer_light.py::UniFormer_Light``
    (``mode='cls'``) and the det/seg ``UniFormer_Light`` (``mode='dense'``); parameter names
    are the official ones, so official files load after unwrapping (see :meth:`init_weights`).

    Args:
        arch (str | dict): ``'xxs'``, ``'xs'`` or a dict with ``depths``, ``embed_dims``,
            ``head_dim`` and optionally ``mlp_ratios`` (default 4), ``prune_ratios`` (two
            lists for stages 3 and 4, or the official four-list layout; default
            ``[1, .5, ...]`` / ``[.5, ...]``) and ``trade_offs`` (default: the prune ratios).
        in_channels (int): Input channels.
        mode (str): ``'cls'``: final BatchNorm ``norm``, global average pooling; returns
            ``((pooled, cls_token),)`` (``B, C3`` each) for ``uniformer_mm.LightClsHead``
            (mmpretrain). ``'dense'``: returns the maps of
            ``out_indices`` after LayerNorms ``norm1..norm4`` (strides 4, 8, 16, 32).
        out_indices (Sequence[int]): Stages to output in dense mode.
        qkv_bias (bool): Bias in the ``qkv`` projections.
        qk_scale (float, optional): Overrides ``head_dim ** -0.5``.
        drop_rate (float): Dropout after the stem, in the MLPs and after attention.
        attn_drop_rate (float): Attention-probability dropout.
        drop_path_rate (float): Stochastic depth, linearly increasing over all blocks.
        attn_fp32 (bool): Attention in float32 under autocast (see :class:`LightAttention`).
        layer_scale_init (float, optional): Layer scale as in the video ``_ls`` models
            (``gamma_1``/``gamma_2`` in every block); ``None`` (official 2D) disables it.
        conv_stem (bool): The two-conv stem of the released models (``patch_embed1.proj.{0,1,
            3,4}``); ``False`` uses a 4x4 patch embedding.
        frozen_stages (int): Freeze stages ``0..frozen_stages`` (their patch embedding,
            blocks and output norm; the class token with stage 2, ``cls_upsample`` with
            stage 3). ``-1`` freezes nothing.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        init_cfg (dict | list[dict], optional): mmengine init config; ``type='Pretrained'``
            loads official or uniformer_mm files.

    Note:
        The output in training and evaluation is computed the same way; only the head treats
        them differently (the class-token logits are used in training only).
    """

    def forward(self, x: Tensor) -> tuple:
        """Forward ``B, C, H, W`` images.

        Returns:
            tuple: ``((pooled, cls_token),)`` in classification mode, else the dense maps.
        """
        x, cls_token, outs = self.forward_features(x)
        if self.mode == 'dense':
            return tuple(outs)
        return ((self._pooled(x), cls_token.squeeze(1)), )


@MODELS.register_module()
class UniFormerLight3D(_UniFormerLightBase):
    """The efficient hourglass UniFormer (XXS / XS) for videos (official ``Uniformer_light``).

    The 3D conv stem (``patch_embed1.proj``: 3x3x3 convs with strides (1, 2, 2) then
    (2, 2, 2), BN/GELU/BN) gives T/2, H/4, W/4; the other patch embeddings are 1x2x2 (or, with
    ``std=True``, 3x2x2 with temporal padding and no temporal stride). Attention is joint
    space-time; the score is pooled 1x2x2 between stages 3 and 4. Covers ``Uniformer_light``,
    ``Uniformer_light_fp32`` (``attn_fp32``, on by default) and ``Uniformer_light_ls_fp32``
    (``layer_scale_init=0.1`` as in their configs).

    2D ImageNet light checkpoints load into it: every convolution kernel whose shape differs
    is inflated by averaging over time (3x3 -> 3x3x3 divided by 3), as the official
    ``get_pretrained_model``. Official video files (``{'model_state': ...}`` or raw
    state_dicts, as the light video loader took) load as they are.

    Args:
        arch (str | dict): As :class:`UniFormerLight`.
        in_channels (int): Input channels.
        std (bool): Official ``UNIFORMER.STD``: stage 2-4 patch embeddings with a 3x2x2 kernel
            (temporal padding 1, no temporal downsampling).
        inflate_mode (str): How 2D kernels are inflated when a 2D file is loaded:
            ``'average'`` (official) or ``'center'``.
        **kwargs: ``qkv_bias``, ``qk_scale``, ``drop_rate``, ``attn_drop_rate``,
            ``drop_path_rate``, ``attn_fp32``, ``layer_scale_init``, ``frozen_stages``,
            ``norm_eval``, ``init_cfg`` as in :class:`UniFormerLight`.

    Returns from ``forward``: ``(pooled, cls_token)``, each ``B, C3``, for
    ``uniformer_mm.LightVideoHead`` (mmaction2 heads take the backbone output directly).
    """

    _ndim = 3
    _modes = ('cls', )

    def __init__(self, arch: Union[str, dict] = 'xxs', in_channels: int = 3, std: bool = False,
                 inflate_mode: str = 'average', **kwargs) -> None:
        for k in ('mode', 'out_indices', 'conv_stem'):
            if k in kwargs:
                raise TypeError(f'UniFormerLight3D has no {k!r} option (video classification '
                                'with the 3D conv stem only)')
        if inflate_mode not in ('average', 'center'):
            raise ValueError(f"inflate_mode must be 'average' or 'center', got {inflate_mode!r}")
        self.std = std
        self.inflate_mode = inflate_mode
        super().__init__(arch=arch, in_channels=in_channels, mode='cls', conv_stem=True,
                         **kwargs)

    def _make_stem(self, in_channels: int, dim: int, conv_stem: bool) -> nn.Module:
        return ConvStem(in_channels, dim, ndim=3, strides=((1, 2, 2), (2, 2, 2)))

    def _make_patch_embed(self, in_dim: int, dim: int) -> nn.Module:
        if self.std:
            return PatchEmbed(in_dim, dim, kernel_size=(3, 2, 2), stride=(1, 2, 2),
                              padding=(1, 0, 0), ndim=3, channels_last=True)
        return PatchEmbed(in_dim, dim, kernel_size=(1, 2, 2), ndim=3, channels_last=True)

    def convert_pretrained(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Like :meth:`UniFormerLight.convert_pretrained`, plus 2D->3D kernel inflation."""
        sd = super().convert_pretrained(state_dict)
        from uniformer_mm.checkpoint.light import inflate_light_state_dict
        return inflate_light_state_dict(sd, self.state_dict(), mode=self.inflate_mode)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Forward ``B, C, T, H, W`` clips; returns ``(pooled, cls_token)``, each ``B, C3``."""
        x, cls_token, _ = self.forward_features(x)
        return self._pooled(x), cls_token.squeeze(1)
