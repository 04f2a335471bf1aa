"""Wall time of forward passes, interleaved so that load changes hit every case alike, and
paired ratios between them."""
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch

__all__ = ['time_interleaved', 'paired_ratio', 'gemm_rate']


@torch.no_grad()
def time_interleaved(fns: Dict[str, Callable[[], object]], warmup: int,
                     repeats: int) -> Dict[str, List[float]]:
    """Wall time of each function per call, warm-up excluded, runs interleaved (A B A B ...).

    Returns:
        dict: Name -> list of ``repeats`` durations in seconds.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(times_a: Sequence[float], times_b: Sequence[float]) -> float:
    """Median over rounds of ``times_b[i] / times_a[i]``: how many times faster A is than B.

    Both lists must come from the same :func:`time_interleaved` run (round ``i`` of A and B ran
    back to back, under the same load).
    """
    return statistics.median(b / a for a, b in zip(times_a, times_b))


@torch.no_grad()
def gemm_rate(m: int, k: int, n: int, repeats: int = 15) -> float:
    """This CPU's float32 matrix-product rate at one shape, in GFLOP/s (2 FLOPs per
    multiply-add; torch's threads; the fastest of ``repeats`` products, after two untimed).

    The kernel is the one ``nn.Linear`` calls in eager mode (MKL / oneDNN): a model whose FLOPs
    are nearly all such products cannot run much faster than its FLOPs at this rate.
    """
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(2):
        torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best / 1e9
