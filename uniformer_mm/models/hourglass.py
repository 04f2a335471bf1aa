"""The token shrinking / recovering of the efficient "hourglass" UniFormer (XXS / XS).

Stages 3-4 of :class:`~uniformer_mm.models.backbones.UniFormerLight` use :class:`EvoSABlock`: a
class token takes part in the attention, and its attention to the patch tokens, averaged over
heads, is accumulated into a running "global score" per token (an EMA with ``trade_off``).
Every block after the first one of stage 3 sorts the tokens by that score, keeps the top
``int(N * prune_ratio)`` ones ("informative"), merges the rest into one representative token
weighted by their linearly normalised scores, runs attention + MLP on
``[cls, informative..., representative]`` only (slow update), adds the representative token's
residual increments to every dropped token (fast update) and puts all tokens back in their
original order, so the full-resolution map is recovered after each block. Between stages 3
and 4 the score is average-pooled 2x2 (videos 1x2x2) and rescaled to its previous sum
(:func:`pool_score`).

Unlike the official code, no state lives at module level: the running score and the token
indices are passed explicitly from block to block, so two models in one process, or one model
in several threads, never interfere, and the indices stay ``torch.long`` (the official code
concatenated them into the feature tensor, i.e. carried them as floats). See
``docs/architecture.md`` ("The hourglass models").
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .blocks import AttentionBlock, MultiheadAttention

__all__ = ['LightAttention', 'EvoSABlock', 'gather_tokens', 'merge_tokens', 'pool_score']

Tensor = torch.Tensor


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
            ``ndim``, ``layer_scale_init_value``, ``norm_eps``). With ``layer_scale_init_value`` the fast
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
