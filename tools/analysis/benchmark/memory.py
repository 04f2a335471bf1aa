"""Peak memory of one forward pass: the torch allocator's peak (profiler allocation events)
and the resident-set growth in a fresh process.

The RSS subprocess runs :func:`_main` of this module (``--rss-case JSON``)."""
import dataclasses
import gc
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Any, Callable, Optional, Sequence

import torch

from .models import build_spec, to_channels_last_
from .profiling import cpu_profiler
from .specs import Case, PreparedCase, make_input

#: The repository root (``tools/analysis/benchmark/memory.py`` -> ``.``).
_REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

__all__ = ['MB', 'torch_peak_memory', 'peak_from_profile', 'rss_peak_in_subprocess']


MB = 2.0**20


@torch.no_grad()
def torch_peak_memory(fn: Callable[[], object]) -> Optional[int]:
    """Peak bytes held by tensors allocated while ``fn()`` runs (what it counts: see
    :mod:`tools.analysis.benchmark`).

    Returns:
        int | None: The peak, or None if this torch's profiler does not expose allocation events.
    """
    with cpu_profiler(profile_memory=True) as prof:
        fn()  # the output is freed inside the profiled region, so the profiler sees it go
    return peak_from_profile(prof)


def peak_from_profile(prof: Any) -> Optional[int]:
    """The torch peak of a pass profiled with ``profile_memory=True`` (see
    :func:`torch_peak_memory`)."""
    try:
        from torch._C._profiler import _EventType
        stack = list(prof.profiler.kineto_results.experimental_event_tree())
    except (ImportError, AttributeError):  # a private API: report "unknown", never a guess
        return None
    allocations = []
    while stack:
        event = stack.pop()
        stack.extend(event.children)
        if event.tag == _EventType.Allocation:
            allocations.append((event.start_time_ns, int(event.extra_fields.alloc_size),
                                int(event.extra_fields.total_allocated)))
    if not allocations:
        return 0
    allocations.sort()
    # The allocator's running total is process-wide and keeps memory allocated in an earlier
    # profiled pass but freed outside it; the level before the first event is the baseline.
    _, size, total = allocations[0]
    base = total - size
    return max(total for _, _, total in allocations) - base


def _proc_status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _rss_child(case_json: str) -> dict:
    """Run in the subprocess: build, warm up, then measure one forward pass."""
    case = Case.from_dict(json.loads(case_json))
    spec = dataclasses.replace(case.spec, weights_from=None)  # values do not change memory
    model = build_spec(spec)
    if case.variant.channels_last:
        to_channels_last_(model)
    prepared = PreparedCase(case, model, make_input(case))
    prepared()  # warm-up (and compilation): one-time allocations are not the forward's
    gc.collect()
    base_kb = _proc_status_kb('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS (Linux >= 4.0)
        method = 'VmHWM after clear_refs'
    except OSError:
        method = 'VmHWM since process start (clear_refs unavailable): an upper bound'
    prepared()
    peak_kb = _proc_status_kb('VmHWM')
    return dict(rss_base_mb=round(base_kb / 1024, 1),
                rss_peak_mb=round(max(peak_kb - base_kb, 0) / 1024, 1), method=method)


def rss_peak_in_subprocess(case: Case, timeout: float = 900.) -> dict:
    """Peak RSS growth of one forward pass of ``case``, in a fresh Python process.

    Returns:
        dict: ``rss_peak_mb`` and ``rss_base_mb`` (RSS after building and one warm-up pass), or
        ``error``.
    """
    # -c rather than -m: `-m` would run this module a second time after importing its package
    # (which imports it), with runpy's warning.
    cmd = [sys.executable, '-c', 'import sys; from tools.analysis.benchmark.memory import '
           '_main; sys.exit(_main())', '--rss-case', json.dumps(case.to_dict())]
    # A fixed glibc mmap threshold: every large tensor is mmapped and returned to the system
    # when freed. With glibc's default (dynamic) threshold, freeing a large block raises the
    # threshold, later blocks of that size come from the heap and stay resident, and the
    # measured growth then depends on what the warm-up pass happened to leave behind.
    env = dict(os.environ, PYTHONWARNINGS='ignore', MALLOC_MMAP_THRESHOLD_='131072')
    # The child imports this module by name from the repository root, wherever it runs.
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (_REPO_ROOT, os.environ.get('PYTHONPATH')) if p)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return dict(error=f'timeout after {timeout:.0f} s')
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith('{')]
    if res.returncode != 0 or not lines:
        return dict(error=f'exit {res.returncode}: {res.stderr.strip()[-300:]}')
    return json.loads(lines[-1])


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the subprocess of :func:`rss_peak_in_subprocess` (``--rss-case JSON``)."""
    import argparse
    parser = argparse.ArgumentParser(description='RSS measurement of one benchmark case')
    parser.add_argument('--rss-case', required=True)
    args = parser.parse_args(argv)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('uniformer_mm_benchmark', log_level='WARNING')
    print(json.dumps(_rss_child(args.rss_case)), flush=True)
    return 0
