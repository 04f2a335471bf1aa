"""MixToken, the token-level CutMix of token labeling (Jiang et al., "All Tokens Matter").

The official token-labeling UniFormer (``token_labeling/tlt/models/uniformer.py``) mixes
inside the network: after ``patch_embed1`` a random box of the stride-4 map is replaced by the
same box of the batch-flipped features; the auxiliary (per-token) predictions at stride 32 are
flipped back inside the box (coordinates ``// 8``) so that each token is compared with its own
image's dense label, and the class target is mixed with ``lam = 1 - box area / tokens``.

Here the mixing is a callable passed to :meth:`UniFormer.forward` as ``stem_hook`` by
:class:`~uniformer_mm.models.classifiers.TokenLabelClassifier`; the object then carries the
sampled box to the head (no state is kept on the backbone). This module needs no toolbox.
"""
from typing import Optional, Tuple

import torch

__all__ = ['MixToken', 'unmix_tokens']

Box = Tuple[int, int, int, int]


class MixToken:
    """Sample one box per batch and paste the batch-flipped features into it.

    Args:
        beta (float): ``lam ~ Beta(beta, beta)``; the box covers about ``1 - lam`` of the map.
            The official value is 1.0.
        stride_ratio (int): Downsampling from the mixed map to the token map the head sees
            (stride 4 -> 32: 8, official).

    Attributes:
        box (tuple, optional): ``(x1, y1, x2, y2)`` on the token map after the call, where
            ``x`` indexes rows (dim 2) and ``y`` columns (dim 3) as in the official code.
        mixed_box (tuple, optional): The same box on the stride-4 map.
    """

    def __init__(self, beta: float = 1.0, stride_ratio: int = 8) -> None:
        if beta <= 0:
            raise ValueError(f'MixToken beta must be > 0, got {beta!r}')
        self.beta = float(beta)
        self.stride_ratio = int(stride_ratio)
        self.box: Optional[Box] = None
        self.mixed_box: Optional[Box] = None

    def sample_box(self, height: int, width: int) -> Box:
        """The official ``rand_bbox``: a box of side ``sqrt(1 - lam)`` times the map, centred
        uniformly at random and clipped to the map."""
        beta = torch.distributions.Beta(self.beta, self.beta)
        lam = float(beta.sample())
        cut = (1. - lam) ** 0.5
        cut_h, cut_w = int(height * cut), int(width * cut)
        cx = int(torch.randint(height, ()))
        cy = int(torch.randint(width, ()))
        x1, x2 = max(cx - cut_h // 2, 0), min(cx + cut_h // 2, height)
        y1, y2 = max(cy - cut_w // 2, 0), min(cy + cut_w // 2, width)
        return x1, y1, x2, y2

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Mix ``x`` (``B x C x H x W``, the stride-4 map) and remember the box."""
        x1, y1, x2, y2 = self.sample_box(x.shape[2], x.shape[3])
        mixed = x.clone()
        mixed[:, :, x1:x2, y1:y2] = x.flip(0)[:, :, x1:x2, y1:y2]
        r = self.stride_ratio
        self.mixed_box = (x1, y1, x2, y2)
        self.box = (x1 // r, y1 // r, x2 // r, y2 // r)
        return mixed


def unmix_tokens(tokens: torch.Tensor, box: Optional[Box]) -> torch.Tensor:
    """Flip the batch back inside ``box`` of a ``B x h x w x K`` token map (official recovery).

    Args:
        tokens (Tensor): Per-token outputs ``B x h x w x K``.
        box (tuple, optional): ``(x1, y1, x2, y2)`` on the token map; ``None`` = no mixing.

    Returns:
        Tensor: The un-mixed map (a new tensor when mixed, ``tokens`` otherwise).
    """
    if box is None:
        return tokens
    x1, y1, x2, y2 = box
    out = tokens.clone()
    out[:, x1:x2, y1:y2] = tokens.flip(0)[:, x1:x2, y1:y2]
    return out
