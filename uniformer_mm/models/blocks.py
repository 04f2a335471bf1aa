"""UniFormer building blocks, written once for images (``ndim=2``) and videos (``ndim=3``).

Every module keeps the official attribute names (``pos_embed``, ``norm1``, ``conv1``, ``attn``,
``attn.qkv``, ``mlp.fc1``, ``gamma_1`` ...) so that official state_dicts load after unwrapping
alone; see ``docs/architecture.md`` ("Modules and official names").

Tensors between blocks are channels-first (``B, C, H, W`` or ``B, C, T, H, W``); attention blocks
work on channels-last tokens internally.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule

__all__ = [
    'conv_nd', 'bn_nd', 'Mlp', 'MultiheadAttention', 'ConvBlock', 'AttentionBlock', 'PatchEmbed',
    'ConvStem', 'ConvDownsample', 'window_partition', 'window_reverse'
]

IntOrTuple = Union[int, Sequence[int]]


def conv_nd(ndim: int) -> type:
    """``nn.Conv2d`` for ``ndim=2``, ``nn.Conv3d`` for ``ndim=3``."""
    if ndim not in (2, 3):
        raise ValueError(f'ndim must be 2 (images) or 3 (videos), got {ndim!r}')
    return nn.Conv2d if ndim == 2 else nn.Conv3d


def bn_nd(ndim: int) -> type:
    """``nn.BatchNorm2d`` for ``ndim=2``, ``nn.BatchNorm3d`` for ``ndim=3``."""
    if ndim not in (2, 3):
        raise ValueError(f'ndim must be 2 (images) or 3 (videos), got {ndim!r}')
    return nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d


def _drop_path(rate: float) -> nn.Module:
    # Identity when unused, as the official code, so eval graphs carry no no-op modules.
    return DropPath(rate) if rate > 0 else nn.Identity()


class Mlp(BaseModule):
    """Two-layer MLP: ``fc1 -> GELU -> dropout -> fc2 -> dropout``.

    Args:
        in_features (int): Input (and output) channels.
        hidden_features (int): Hidden channels.
        drop (float): Dropout after the activation and after ``fc2``.
        conv_ndim (int, optional): ``None`` for a token MLP of ``nn.Linear`` layers (``Mlp`` in
            attention blocks); 2 or 3 for 1x1(x1) convolutions on channels-first maps (the
            official ``CMlp`` of convolution blocks).
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_features: int,
                 hidden_features: int,
                 drop: float = 0.,
                 conv_ndim: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if conv_ndim is None:
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.fc2 = nn.Linear(hidden_features, in_features)
        else:
            conv = conv_nd(conv_ndim)
            self.fc1 = conv(in_features, hidden_features, 1)
            self.fc2 = conv(hidden_features, in_features, 1)
        self.act = nn.GELU()
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP (tokens ``B, N, C`` or maps ``B, C, ...``)."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class MultiheadAttention(BaseModule):
    """Multi-head self-attention with a fused ``qkv`` projection (timm ViT layout).

    The product runs in :func:`torch.nn.functional.scaled_dot_product_attention`, which picks a
    fused kernel (flash / memory-efficient) where one applies and never materialises the
    ``N x N`` matrix on those paths.

    Args:
        dim (int): Token channels.
        num_heads (int): Number of heads; ``dim`` must be divisible by it.
        qkv_bias (bool): Bias in the ``qkv`` projection.
        qk_scale (float, optional): Overrides the default scale ``head_dim ** -0.5``.
        attn_drop (float): Dropout on the attention probabilities (training only).
        proj_drop (float): Dropout after the output projection.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dim % num_heads != 0:
            raise ValueError(f'embed dim {dim} is not divisible by num_heads {num_heads}; choose '
                             'a head_dim that divides every embed dim')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = qk_scale or self.head_dim**-0.5
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def split_qkv(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project ``x`` (``B, N, C``) to ``q, k, v``, each ``B, heads, N, head_dim``."""
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``softmax(q k^T * scale) v`` projected back to ``B, N, C``."""
        B, _, N, _ = q.shape
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0., scale=self.scale)
        x = x.transpose(1, 2).reshape(B, N, self.num_heads * self.head_dim)
        return self.proj_drop(self.proj(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Self-attention over the ``N`` tokens of ``x`` (``B, N, C``)."""
        return self.attend(*self.split_qkv(x))


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Split ``B, H, W, C`` (H, W multiples of the window) into ``B*nW, ws*ws, C`` windows."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size * window_size, C)


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``B*nW, ws*ws, C`` back to ``B, H, W, C``."""
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // window_size) * (W // window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)


class ConvBlock(BaseModule):
    """The local-MHRA block of stages 1-2 (official ``CBlock``), 2D or 3D.

    ``x + DPE(x)``, then ``x + conv2(dwconv5(conv1(BN(x))))`` ("local relation aggregation"),
    then ``x + CMlp(BN(x))``.

    Args:
        dim (int): Channels.
        mlp_ratio (float): Hidden/in channels of the MLP.
        drop (float): Dropout inside the MLP.
        drop_path (float): Stochastic depth rate.
        ndim (int): 2 for images, 3 for videos.
        layer_scale_init_value (float, optional): If given, learnable per-channel scales
            ``gamma_1``/``gamma_2`` of shape ``(1, C, 1, 1[, 1])`` start at this value (the
            token-labeling ``uniformer_large_ls`` and the video ``_ls`` models).
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 dim: int,
                 mlp_ratio: float = 4.,
                 drop: float = 0.,
                 drop_path: float = 0.,
                 ndim: int = 2,
                 layer_scale_init_value: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        conv, bn = conv_nd(ndim), bn_nd(ndim)
        if layer_scale_init_value is not None:
            # Registered first, like the official modules, so state_dict orders match.
            shape = (1, dim) + (1, ) * ndim
            self.gamma_1 = nn.Parameter(torch.full(shape, float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(torch.full(shape, float(layer_scale_init_value)))
        else:
            self.gamma_1 = self.gamma_2 = None
        self.pos_embed = conv(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = bn(dim)
        self.conv1 = conv(dim, dim, 1)
        self.conv2 = conv(dim, dim, 1)
        self.attn = conv(dim, dim, 5, padding=2, groups=dim)
        self.drop_path = _drop_path(drop_path)
        self.norm2 = bn(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop, conv_ndim=ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``B, C, H, W`` (or ``B, C, T, H, W``)."""
        x = x + self.pos_embed(x)
        y = self.conv2(self.attn(self.conv1(self.norm1(x))))
        x = x + self.drop_path(y if self.gamma_1 is None else self.gamma_1 * y)
        y = self.mlp(self.norm2(x))
        return x + self.drop_path(y if self.gamma_2 is None else self.gamma_2 * y)


class AttentionBlock(BaseModule):
    """The global-MHRA block of stages 3-4 (official ``SABlock`` / ``SABlock_Windows``).

    ``x + DPE(x)``, then pre-norm self-attention and MLP on channels-last tokens. Attention runs
    over all tokens (joint space-time for videos) or, with ``window_size``, inside
    non-overlapping ``ws x ws`` windows of a zero-padded map (no shift, no mask; padded zeros
    take part in attention exactly as in the official dense backbones). Global and window
    blocks share their parameters, so one checkpoint serves both.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden/in channels of the MLP.
        qkv_bias (bool): Bias in the ``qkv`` projection.
        qk_scale (float, optional): Overrides ``head_dim ** -0.5``.
        drop (float): Dropout after the attention projection and in the MLP.
        attn_drop (float): Dropout on the attention probabilities.
        drop_path (float): Stochastic depth rate.
        ndim (int): 2 for images, 3 for videos.
        window_size (int, optional): Window attention with this window (2D only); ``None``
            for global attention.
        layer_scale_init_value (float, optional): If given, per-channel ``gamma_1``/``gamma_2`` of
            shape ``(C,)`` start at this value (``uniformer_base_ls``, ``uniformer_large_ls``).
        norm_eps (float): LayerNorm epsilon (the official models pass 1e-6).
        split (bool): Divided space-time attention of the official video ``SplitSABlock``
            (3D only): attention over the frames of each position (``t_norm``, ``t_attn``),
            then over the positions of each frame (``norm1``, ``attn``), whose residual is the
            input of the temporal step. ``t_attn`` starts as the official TimeSformer-style
            init (see :meth:`init_weights`). Defaults to False (joint attention).
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 ndim: int = 2,
                 window_size: Optional[int] = None,
                 layer_scale_init_value: Optional[float] = None,
                 norm_eps: float = 1e-6,
                 split: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if split and (ndim != 3 or window_size is not None):
            raise ValueError('split (temporal-then-spatial) attention needs a time axis: it is '
                             f'only defined for ndim=3 without windows, got ndim={ndim}, '
                             f'window_size={window_size}')
        if window_size is not None:
            if ndim != 2:
                raise ValueError('window attention is only defined for 2D backbones '
                                 f'(ndim=2), got ndim={ndim}')
            if int(window_size) < 1:
                raise ValueError(f'window_size must be >= 1, got {window_size!r}')
        self.window_size = window_size
        if layer_scale_init_value is not None:
            self.gamma_1 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(torch.full((dim, ), float(layer_scale_init_value)))
        else:
            self.gamma_1 = self.gamma_2 = None
        self.pos_embed = conv_nd(ndim)(dim, dim, 3, padding=1, groups=dim)
        if split:
            # Registered between pos_embed and norm1 as in SplitSABlock (state_dict order).
            self.t_norm = nn.LayerNorm(dim, eps=norm_eps)
            self.t_attn = MultiheadAttention(
                dim, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop,
                proj_drop=drop)
        else:
            self.t_norm = self.t_attn = None
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = MultiheadAttention(
            dim, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop,
            proj_drop=drop)
        self.drop_path = _drop_path(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def init_weights(self) -> None:
        """mmengine initialization, then the official start of the temporal branch (split only).

        ``t_attn.qkv`` = 0 and ``t_attn.proj`` weight = 1, bias = 0 (as the official video
        model, after TimeSformer): the temporal branch outputs exactly 0 at start, so a model
        inflated from 2D weights begins as the per-frame model; with a proj weight of 1 rather
        than 0 the qkv weights still receive gradients.
        """
        super().init_weights()
        self.init_temporal_branch()

    def init_temporal_branch(self) -> None:
        """The official start of ``t_attn`` (split attention only; see :meth:`init_weights`).
        The backbones call it after their official init at construction too."""
        if self.t_attn is not None:
            nn.init.zeros_(self.t_attn.qkv.weight)
            if self.t_attn.qkv.bias is not None:
                nn.init.zeros_(self.t_attn.qkv.bias)
            nn.init.ones_(self.t_attn.proj.weight)
            nn.init.zeros_(self.t_attn.proj.bias)

    def _split_attention(self, t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Temporal then spatial attention on tokens ``t`` (``B, T*H*W, C``, not normalised).

        Returns the spatial attention output (before drop path / layer scale); the caller adds
        it to ``t``, the input of the temporal step, as the official ``SplitSABlock`` does.
        """
        B, C, T, H, W = shape
        L = H * W
        # Tokens are ordered (t, h, w): one sequence per position for the temporal step ...
        xt = t.view(B, T, L, C).transpose(1, 2).reshape(B * L, T, C)
        xt = xt + self.drop_path(self.t_attn(self.t_norm(xt)))
        # ... and one sequence per frame for the spatial step.
        xs = xt.view(B, L, T, C).transpose(1, 2).reshape(B * T, L, C)
        return self.attn(self.norm1(xs)).view(B, T * L, C)

    def _window_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention inside windows of ``x`` (``B, H, W, C``, already normalised)."""
        ws = self.window_size
        B, H, W, C = x.shape
        pad_b, pad_r = (ws - H % ws) % ws, (ws - W % ws) % ws
        if pad_b or pad_r:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        Hp, Wp = H + pad_b, W + pad_r
        x = window_reverse(self.attn(window_partition(x, ws)), ws, Hp, Wp)
        return x[:, :H, :W] if (pad_b or pad_r) else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``B, C, H, W`` (or ``B, C, T, H, W``)."""
        x = x + self.pos_embed(x)
        shape = x.shape
        t = x.flatten(2).transpose(1, 2)  # B, N, C
        if self.t_attn is not None:
            y = self._split_attention(t, shape)
        elif self.window_size is None:
            y = self.attn(self.norm1(t))
        else:
            B, C, H, W = shape
            y = self._window_attention(self.norm1(t).view(B, H, W, C))
            # For a padded map y is a strided crop: the residual add reads it in place when
            # the tokens take the map's shape too, where reshaping y to B, N, C would copy it.
            t = t.view(B, H, W, C)
        t = t + self.drop_path(y if self.gamma_1 is None else self.gamma_1 * y)
        t = t.flatten(1, -2)  # B, N, C again (a view; a no-op for tokens)
        y = self.mlp(self.norm2(t))
        t = t + self.drop_path(y if self.gamma_2 is None else self.gamma_2 * y)
        return t.transpose(1, 2).reshape(shape)


class PatchEmbed(BaseModule):
    """Strided convolution followed by a LayerNorm over channels (official ``PatchEmbed``).

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels.
        kernel_size (int | tuple): Kernel (4 for the image stem, 2 between stages; ``(3, 4, 4)``
            for the video stem, ``(1, 2, 2)`` between video stages).
        stride (int | tuple, optional): Defaults to ``kernel_size``.
        padding (int | tuple): Convolution padding.
        ndim (int): 2 for images, 3 for videos.
        norm_eps (float): LayerNorm epsilon (the official patch embeds use the default 1e-5).
        channels_last (bool): Return the map in channels-last memory order (the LayerNorm's
            own layout, so no copy) instead of a contiguous channels-first tensor. The
            following blocks then keep that layout, which makes their depthwise and 1x1
            convolutions several times faster on CPU (oneDNN) and turns the token
            flatten/unflatten of attention blocks into views. Values are identical.
            Defaults to False.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 kernel_size: IntOrTuple,
                 stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0,
                 ndim: int = 2,
                 norm_eps: float = 1e-5,
                 channels_last: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.channels_last = channels_last
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.proj = conv_nd(ndim)(
            in_channels, embed_dims, kernel_size,
            stride=kernel_size if stride is None else stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed ``x`` and normalise each position over channels; returns channels-first."""
        x = self.norm(self.proj(x).movedim(1, -1)).movedim(-1, 1)
        return x if self.channels_last else x.contiguous()


class ConvStem(BaseModule):
    """Two 3x3(x3) stride-2 convolutions with BN/GELU/BN (official ``head_embedding``).

    Keys ``proj.0`` (conv), ``proj.1`` (BN), ``proj.3`` (conv), ``proj.4`` (BN).

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels (the hidden width is half of it).
        ndim (int): 2 for images, 3 for videos.
        strides (tuple): Strides of the two convolutions; ``(2, 2)`` for images,
            ``((1, 2, 2), (2, 2, 2))`` for the light video stem (T/2, H/4, W/4).
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 ndim: int = 2,
                 strides: Sequence[IntOrTuple] = (2, 2),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        conv, bn = conv_nd(ndim), bn_nd(ndim)
        hidden = embed_dims // 2
        self.proj = nn.Sequential(
            conv(in_channels, hidden, 3, stride=strides[0], padding=1), bn(hidden), nn.GELU(),
            conv(hidden, embed_dims, 3, stride=strides[1], padding=1), bn(embed_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Downsample ``x`` by the product of the strides."""
        return self.proj(x)


class ConvDownsample(BaseModule):
    """A 3x3 stride-2 convolution with BN between stages (official ``middle_embedding``).

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels.
        ndim (int): 2 for images, 3 for videos.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 ndim: int = 2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Sequential(
            conv_nd(ndim)(in_channels, embed_dims, 3, stride=2, padding=1), bn_nd(ndim)(embed_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve the spatial size of ``x``."""
        return self.proj(x)
