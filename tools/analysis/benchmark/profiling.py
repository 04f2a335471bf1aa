"""Operator profiles of one forward pass (torch.profiler): the top operators and the data
copies, told apart from the bias copies GEMMs make."""
import os
from typing import Any, Callable, List

import torch

__all__ = [
    'quiet_profiler', 'cpu_profiler', 'profile_ops', 'profile_table', 'top_ops', 'COPY_OPS',
    'GEMM_OPS', 'copy_stats'
]


def quiet_profiler() -> None:
    """Keep torch's profiler library (kineto) off the console of this process.

    Every profiled pass prints ``profiler_start`` / ``profiler_stop`` / ``Completed Stage``
    lines, and on a machine without GPU ``gpuGetDeviceCount failed with code 35``: nothing the
    user can act on. Kineto reads ``KINETO_LOG_LEVEL`` when the profiler first starts; an
    explicit setting in the environment is kept. Called by the benchmark tools' entry points.
    """
    os.environ.setdefault('KINETO_LOG_LEVEL', '6')  # above kineto's ERROR level


def cpu_profiler(**kwargs: Any) -> Any:
    """``torch.profiler.profile`` of the CPU activity, with ``kwargs``."""
    from torch.profiler import ProfilerActivity, profile
    return profile(activities=[ProfilerActivity.CPU], **kwargs)


@torch.no_grad()
def profile_ops(fn: Callable[[], object], memory: bool = False):
    """Run ``fn()`` once under ``torch.profiler`` (CPU; with ``memory``, allocations are
    recorded too, for :func:`peak_from_profile`) and return the profiler."""
    with cpu_profiler(profile_memory=memory) as prof:
        fn()
    return prof


def profile_table(prof: Any, rows: int = 15) -> str:
    """The operators with the most self CPU time, as torch's text table."""
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows)


def top_ops(prof: Any, rows: int = 12) -> List[dict]:
    """The operators with the most self CPU time: name, calls, self ms and share of the total."""
    averages = list(prof.key_averages())
    total = sum(e.self_cpu_time_total for e in averages) or 1.0
    averages.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return [dict(op=e.key, calls=e.count, self_ms=round(e.self_cpu_time_total / 1e3, 2),
                 share=round(e.self_cpu_time_total / total, 4)) for e in averages[:rows]]


#: Operators whose self time is a data copy.
COPY_OPS = ('aten::copy_', )


#: Parents that copy as part of their own computation (GEMMs copy the broadcast bias into the
#: output before accumulating): not layout copies.
GEMM_OPS = ('aten::addmm', 'aten::baddbmm', 'aten::linear', 'aten::matmul', 'aten::bmm')


def copy_stats(prof: Any) -> dict:
    """Count and time the data copies of a profiled forward pass.

    Layout copies (``.contiguous()``, ``reshape`` of permuted tensors, padding, dtype casts)
    are told apart from the copies GEMMs make of their bias, which no layout change can avoid.

    Returns:
        dict: ``layout_copies`` / ``layout_copy_ms`` (copies outside GEMMs), ``gemm_copies`` /
        ``gemm_copy_ms``, ``total_ms`` (self CPU time of all operators) and ``layout_share``.
    """
    events = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CPU]
    total_us = sum(e.self_cpu_time_total for e in events)
    layout = gemm = 0
    layout_us = gemm_us = 0.0
    for e in events:
        if e.name not in COPY_OPS:
            continue
        parent, in_gemm = e.cpu_parent, False
        while parent is not None:
            if parent.name in GEMM_OPS:
                in_gemm = True
                break
            parent = parent.cpu_parent
        if in_gemm:
            gemm += 1
            gemm_us += e.self_cpu_time_total
        else:
            layout += 1
            layout_us += e.self_cpu_time_total
    return dict(layout_copies=layout, layout_copy_ms=round(layout_us / 1e3, 2),
                gemm_copies=gemm, gemm_copy_ms=round(gemm_us / 1e3, 2),
                total_ms=round(total_us / 1e3, 2),
                layout_share=round(layout_us / total_us, 4) if total_us else 0.)
