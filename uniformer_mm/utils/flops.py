"""FLOP counting with mmengine's analyzer, including fused attention.

mmengine's :class:`~mmengine.analysis.FlopAnalyzer` (fvcore's convention: one fused
multiply-add is one FLOP) has no handle for ``aten::scaled_dot_product_attention``: it would
skip every fused attention with an "unsupported operator" warning and undercount UniFormer-S
at 224 by ~0.2 GFLOPs, video models by far more. :func:`flop_analyzer` adds the handle
(:func:`sdpa_flop_jit`); ``tools/analysis/get_flops.py`` and the benchmark
(``tools/analysis/benchmark``) both count through it.
"""
import math
from typing import Any, List, Tuple

import torch.nn as nn

__all__ = ['SDPA_OP', 'sdpa_flop_jit', 'flop_analyzer']

#: The traced operator of :func:`torch.nn.functional.scaled_dot_product_attention`.
SDPA_OP = 'aten::scaled_dot_product_attention'


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """FLOPs of ``aten::scaled_dot_product_attention`` in the fvcore convention.

    ``softmax(q k^T) v`` with ``q`` of shape ``(..., L, E)``, ``k`` ``(..., S, E)`` and ``v``
    ``(..., S, Ev)`` is two matrix products: ``L*S*E`` multiply-adds for ``q k^T`` and
    ``L*S*Ev`` for the product with ``v``, per leading batch/head index. The scaling and the
    softmax are element-wise and not counted (as for an explicit ``q @ k.T`` attention).

    Args:
        inputs (list): The traced op's inputs (``q, k, v, ...`` as ``torch._C.Value``).
        outputs (list): Its outputs (unused).

    Returns:
        int: The FLOP count.
    """
    from mmengine.analysis.jit_handles import get_shape
    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    *batch, length, dim = q_shape
    source = k_shape[-2]
    value_dim = v_shape[-1]
    return int(math.prod(batch) * length * source * (dim + value_dim))


def flop_analyzer(model: nn.Module, inputs: Tuple[Any, ...]) -> Any:
    """mmengine's ``FlopAnalyzer`` for ``model(*inputs)`` with the fused-attention handle.

    Its per-operator and per-module warnings are off: the skipped operators are reported by
    ``unsupported_ops()`` (element-wise ones, mostly) for callers to print.

    Args:
        model (nn.Module): The model, in the mode to count (normally ``eval()``).
        inputs (tuple): Positional inputs of ``model.forward``.

    Returns:
        mmengine.analysis.FlopAnalyzer: Call ``total()``, ``by_module()``, ...
    """
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, inputs).set_op_handle(SDPA_OP, sdpa_flop_jit)
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
