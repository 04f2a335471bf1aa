"""Wall time of forward passes, interleaved so that load changes hit every case alike, and
paired ratios between them."""
import functools
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch

__all__ = ['time_interleaved', 'paired_ratio', 'GemmProbe']


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


class GemmProbe:
    """This CPU's float32 matrix-product rate at one shape, timed as a case of its own.

    Run in :func:`time_interleaved` next to the models, every round gives a rate measured
    under the same load as the models' passes of that round (:meth:`rate`), so ratios to it
    pair round by round like every other ratio here. The kernel is the fastest float32 one
    measured here: oneDNN's matmul with a pre-packed weight, what the compiled mode runs
    (188 GFLOP/s against 153 for MKL's packed sgemm and 129 for ``torch.mm`` on a 2-core AMD
    EPYC at 1568 x 320 -> 1280); ``torch.mm`` where torch has no oneDNN. A model computing
    all its FLOPs at this rate would be as fast as these kernels allow; attention at 64
    channels per head and depthwise convolutions run slower per FLOP, so the bound is loose.

    Args:
        shape (tuple[int, int, int]): ``(M, K, N)``.
        products (int): Products per call (a call should last tens of milliseconds).
    """

    def __init__(self, shape: Sequence[int], products: int = 4) -> None:
        m, k, n = shape
        self.a, weight = torch.randn(m, k), torch.randn(n, k)
        self.products = products
        self.flops = 2 * m * k * n * products
        self.kernel = 'torch.mm'
        self.product = functools.partial(torch.mm, self.a, weight.t())
        if torch.backends.mkldnn.is_available():
            ops = torch.ops.mkldnn
            packed = ops._reorder_linear_weight(weight, m)
            self.product = functools.partial(ops._linear_pointwise, self.a, packed, None, 'none',
                                             [], '')
            self.kernel = 'oneDNN packed matmul'

    @torch.no_grad()
    def __call__(self) -> None:
        for _ in range(self.products):
            self.product()

    def rate(self, seconds: float) -> float:
        """GFLOP/s of a call that took ``seconds``."""
        return self.flops / seconds / 1e9

