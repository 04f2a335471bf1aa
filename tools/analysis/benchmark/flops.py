"""FLOPs of a benchmarked model, counted by the package's one FLOP counter
(:func:`uniformer_mm.utils.flops.flop_analyzer`, shared with ``tools/analysis/get_flops.py``)."""
import warnings
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ['count_flops']


@torch.no_grad()
def count_flops(model: nn.Module, x: torch.Tensor) -> Tuple[Optional[float], List[str]]:
    """FLOPs (multiply-adds) of ``model(x)`` with :class:`mmengine.analysis.FlopAnalyzer`,
    fused attention included (:func:`uniformer_mm.utils.flops.flop_analyzer`).

    Returns:
        tuple: The total (None if tracing failed) and the names of operators the analyzer skipped
        (counted as 0; elementwise ops, mostly).
    """
    from uniformer_mm.utils.flops import flop_analyzer
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # tracer warnings of data-dependent code
            analyzer = flop_analyzer(model, (x, ))
            total = float(analyzer.total())
            skipped = sorted(analyzer.unsupported_ops())
    except Exception as e:  # report, do not abort a long run
        return None, [f'tracing failed: {type(e).__name__}: {str(e)[:200]}']
    return total, skipped
