"""Keeping freed tensor memory in the process: no page-fault churn in CPU inference.

PyTorch's CPU tensors come straight from ``malloc``. glibc serves blocks above its mmap
threshold (128 KiB at first, adapted up to 32 MiB) with fresh ``mmap`` pages and gives them
back to the kernel on ``free`` (``munmap``, or trimming the top of the heap). A forward pass
allocates and frees hundreds of activation-sized blocks, so every pass touches fresh pages
again: tens of thousands of minor page faults per pass, each zeroing a page in the kernel.
How many depends on how glibc's adaptive thresholds happen to have moved, which differs from
process to process. Measured on a 2-core AMD EPYC (torch 2.14, fp32, UniFormer-S classifier at
8 x 224²): eager passes ran at 9.7-14.0 images/s under glibc's defaults (50-77 thousand faults
per pass) and at 15.1-18.0 with freed memory kept (no fault), in separate processes.

:func:`keep_freed_cpu_memory` fixes both thresholds high (``mallopt``), so freed blocks stay in
the heap for the next pass. The cost: memory freed by the model is not returned to the
operating system while the process lives (its resident size stays at its peak). ``tools/test.py``
applies it to CPU runs (``--default-malloc`` keeps glibc's behaviour), and the benchmark runs
every model under it, so that ratios compare models rather than allocator luck.
"""
import ctypes
import os
import platform
from typing import Optional

__all__ = ['keep_freed_cpu_memory', 'MMAP_THRESHOLD', 'TRIM_THRESHOLD']

#: Blocks above this are still ``mmap``-ed (and returned on free). glibc caps the value at
#: half its heap size limit: 32 MiB on 64-bit builds before 2.35 (see the fallback below).
MMAP_THRESHOLD = 64 * 2**20
#: Free memory at the top of the heap is returned to the kernel only beyond this.
TRIM_THRESHOLD = 2**31 - 1
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_applied: Optional[str] = None


def keep_freed_cpu_memory(export_env: bool = True) -> Optional[str]:
    """Make glibc keep freed memory for reuse instead of returning it to the kernel.

    Both thresholds must be set: fixing one switches off glibc's adaptation of the other
    (measured: fixing only the trim threshold gave five times the page faults, as every large
    block is then ``mmap``-ed). Idempotent; only allocations made afterwards are affected.

    Args:
        export_env (bool): Also set ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in
            ``os.environ`` (unless the user set them), so that subprocesses started later
            (spawned data loader workers, distributed ranks) behave the same. Forked ones
            inherit the setting anyway.

    Returns:
        str | None: A one-line description of what was set (for the log), or None where the
        C library is not glibc (macOS, musl) or refuses the values; nothing changes then.
    """
    global _applied
    if _applied is not None:
        return _applied
    if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
        return None
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mmap_threshold = MMAP_THRESHOLD
    if not mallopt(_M_MMAP_THRESHOLD, mmap_threshold):
        mmap_threshold = 32 * 2**20  # the limit of older glibc releases
        if not mallopt(_M_MMAP_THRESHOLD, mmap_threshold):
            return None
    if not mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD):
        return None
    if export_env:
        os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', str(mmap_threshold))
        os.environ.setdefault('MALLOC_TRIM_THRESHOLD_', str(TRIM_THRESHOLD))
    _applied = (f'glibc malloc keeps freed memory for reuse (mmap threshold '
                f'{mmap_threshold >> 20} MiB, no heap trimming): no page-fault churn between '
                'passes; the process keeps its peak memory')
    return _applied
