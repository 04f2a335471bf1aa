"""Running a group of cases (build, first call, output checks, FLOPs, interleaved timing,
memory, profiles, RSS) and a suite of groups into one JSON-serialisable report."""
import copy
import dataclasses
import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .flops import count_flops
from .memory import MB, peak_from_profile, rss_peak_in_subprocess
from .models import build_spec, to_channels_last_
from .profiling import copy_stats, family_breakdown, profile_ops, profile_table, top_ops
from .report import format_group
from .specs import Case, Group, PreparedCase, Variant, make_input
from .targets import evaluate_targets, light_claim
from .timing import GemmProbe, paired_ratio, time_interleaved

#: Name of the GEMM probe among a group's timed functions.
GEMM_PROBE = '__gemm_probe__'

__all__ = ['machine_info', 'load_average', 'max_rel_diff', 'run_group', 'run_suite']


def _version(module: str) -> Optional[str]:
    try:
        return importlib.import_module(module).__version__
    except Exception:  # not installed, or broken: the report says so
        return None


def machine_info() -> dict:
    """CPU, core count, torch threads, load and library versions, for the report header."""
    cpu = platform.processor() or platform.machine()
    flags: List[str] = []
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                if line.startswith('flags'):
                    flags = line.split(':', 1)[1].split()
                    break
    except OSError:
        pass
    try:
        with open('/proc/meminfo') as f:
            mem_gb = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        mem_gb = None
    return dict(
        cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
        memory_gb=round(mem_gb, 1) if mem_gb else None,
        isa=[f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16') if f in flags],
        platform=platform.platform(), python=platform.python_version(),
        # Threading settings change CPU timings, by a factor of several under contention.
        # So does the allocator (uniformer_mm.deploy.keep_freed_cpu_memory sets the MALLOC_*).
        env={k: os.environ[k] for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT',
                                        'KMP_BLOCKTIME', 'MKL_NUM_THREADS',
                                        'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_')
             if k in os.environ},
        versions={m: _version(m) for m in ('torch', 'mmengine', 'mmcv', 'mmpretrain', 'mmaction',
                                           'uniformer_mm')},
        date=datetime.datetime.now().isoformat(timespec='seconds'))


def load_average() -> List[float]:
    """``os.getloadavg()`` rounded: 1, 5 and 15-minute run-queue lengths."""
    return [round(v, 2) for v in os.getloadavg()]


def _flatten(out: Any) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _flatten(o)]


def max_rel_diff(out: Any, ref: Any) -> Optional[float]:
    """Largest ``|out - ref|`` relative to ``max |ref|`` over all output tensors (None if the
    outputs do not have the same structure and shapes)."""
    a, b = _flatten(out), _flatten(ref)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return None
    worst = 0.
    for x, y in zip(a, b):
        y = y.float()
        worst = max(worst, ((x.float() - y).abs().max() / y.abs().max().clamp_min(1e-12)).item())
    return worst


def _summary(times: List[float], batch: int) -> dict:
    med = statistics.median(times)
    return dict(times_s=[round(t, 5) for t in times], median_s=round(med, 5),
                min_s=round(min(times), 5), max_s=round(max(times), 5),
                spread=round((max(times) - min(times)) / med, 4),
                throughput=round(batch / med, 3), throughput_best=round(batch / min(times), 3))


def _log(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, flush=True)


def _baseline_case(group: Group, names: Dict[str, Case]) -> Optional[str]:
    """Name of the case ratios refer to: the baseline spec's reference variant if present."""
    candidates = [n for n, c in names.items() if c.spec.key == group.baseline]
    for n in candidates:
        if names[n].variant.is_reference:
            return n
    return candidates[0] if candidates else None


def run_group(group: Group, verbose: bool = True, flops: bool = True,
              seed: int = 0) -> dict:
    """Measure every available case of ``group``; returns its JSON-serialisable result.

    Steps: build each model once (a separate copy for channels-last variants); first call
    (compiles, if asked); output check against the fp32 eager reference; FLOPs; interleaved
    timing; torch peak per case; profiles of ``group.profile``; RSS subprocesses if
    ``group.rss``.
    """
    started = time.perf_counter()
    result: dict = dict(name=group.name, title=group.title, note=group.note,
                        baseline=group.baseline, warmup=group.warmup, repeats=group.repeats,
                        load_before=load_average(), threads=torch.get_num_threads(),
                        skipped=[], cases=[])
    _log(f'\n== {group.title}  (load {result["load_before"]})', verbose)
    cases = []
    for case in group.cases:
        if case.spec.available():
            cases.append(case)
        else:
            result['skipped'].append(f'{case.name}: {case.spec.toolbox} is not installed')
    names = {c.name: c for c in cases}
    if len(names) != len(cases):
        raise ValueError(f'group {group.name}: duplicate case names')

    models: Dict[Tuple[str, bool], nn.Module] = {}
    eager: Dict[str, nn.Module] = {}
    prepared: Dict[str, PreparedCase] = {}
    entries: Dict[str, dict] = {}
    first_out: Dict[str, Any] = {}  # first-call outputs, for the output checks
    for case in cases:
        spec, v = case.spec, case.variant
        entry = dict(name=case.name, label=spec.label, key=spec.key, ours=spec.ours,
                     model=dict(type=spec.type, kwargs=spec.kwargs, attention=spec.attention,
                                weights_from=spec.weights_from),
                     input=[case.batch, *case.input_shape], batch=case.batch, unit=case.unit,
                     variant=dataclasses.asdict(v))
        entries[case.name] = entry
        try:
            if spec.key not in eager:
                eager[spec.key] = build_spec(spec, eager, seed)
                models[(spec.key, False)] = eager[spec.key]
            if (spec.key, v.channels_last) not in models:
                model = copy.deepcopy(eager[spec.key])
                models[(spec.key, v.channels_last)] = to_channels_last_(model)
            p = PreparedCase(case, models[(spec.key, v.channels_last)], make_input(case, seed))
            start = time.perf_counter()
            # First call: lazy initialisation, and compilation for compiled variants.
            first_out[case.name] = p()
            entry['first_call_s'] = round(time.perf_counter() - start, 3)
            prepared[case.name] = p
        except Exception as e:  # a failing case is reported, the others still run
            entry['error'] = f'{type(e).__name__}: {str(e)[:500]}'
            _log(f'  {case.name}: FAILED {entry["error"]}', verbose)

    # Output checks. A compiled case is compared with the eager output in its own dtype (is
    # the compiled graph the same computation?), every other derived case with the fp32 eager
    # output (what does bf16 / channels-last / another implementation change?). References
    # are first-call outputs when the group has the case (same input seed), else computed.
    refs: Dict[Tuple[str, str, Tuple[int, ...], int], Any] = {
        (p.case.spec.key, p.case.variant.dtype, p.case.input_shape, p.case.batch):
        first_out[name] for name, p in prepared.items()
        if p.case.variant.compile is None and not p.case.variant.channels_last
        and p.case.variant.runtime == 'torch' and p.case.spec.weights_from is None}
    for name, p in prepared.items():
        case = p.case
        ref_key = case.spec.weights_from or case.spec.key
        if case.variant.is_reference and case.spec.weights_from is None:
            continue
        dtypes = ['fp32'] if not case.variant.compile or case.variant.dtype == 'fp32' \
            else ['bf16', 'fp32']
        for dtype in dtypes:
            shape_key = (ref_key, dtype, case.input_shape, case.batch)
            if shape_key not in refs and ref_key in eager:
                ref_case = dataclasses.replace(case, variant=Variant(dtype))
                refs[shape_key] = PreparedCase(ref_case, eager[ref_key],
                                               make_input(ref_case, seed))()
        keys = [(ref_key, d, case.input_shape, case.batch) for d in dtypes]
        if all(k in refs for k in keys):
            check = dict(reference=f'{ref_key} {dtypes[0]} eager',
                         max_rel_diff=max_rel_diff(first_out[name], refs[keys[0]]))
            if len(keys) == 2:
                # Compiled bf16: also how far it and eager bf16 are from fp32, since rounding
                # alone can flip the light models' token selection (see the markdown notes).
                check['max_rel_diff_fp32'] = max_rel_diff(first_out[name], refs[keys[1]])
                check['eager_bf16_max_rel_diff_fp32'] = max_rel_diff(refs[keys[0]], refs[keys[1]])
            entries[name]['check'] = check
    refs.clear()
    first_out.clear()

    if flops:
        done: Dict[Tuple[str, str, Tuple[int, ...]], Tuple[Optional[float], List[str]]] = {}
        for name, p in prepared.items():
            # Same type, arguments and input: same count (the explicit-softmax reference does
            # the same products, as a test checks), so it is traced once.
            spec = p.case.spec
            key = (spec.type, json.dumps(spec.kwargs, sort_keys=True, default=str),
                   p.case.input_shape)
            if key not in done:
                one = make_input(dataclasses.replace(p.case, batch=1, variant=Variant()), seed)
                done[key] = count_flops(eager[p.case.spec.key], one)
            total, skipped = done[key]
            entries[name]['gflops'] = round(total / 1e9, 3) if total is not None else None
            entries[name]['flops_skipped_ops'] = skipped
            entries[name]['params_m'] = round(
                sum(t.numel() for t in eager[p.case.spec.key].parameters()) / 1e6, 3)

    _log(f'  timing {len(prepared)} cases: warm-up {group.warmup}, {group.repeats} rounds',
         verbose)
    fns: Dict[str, Callable[[], Any]] = dict(prepared)
    probe = GemmProbe(group.gemm_probe) if group.gemm_probe and prepared else None
    if probe is not None:
        # A case of its own: its rounds run under the load of the models' rounds (targets.py
        # turns the pairs into the ceiling of the ratio targets).
        fns[GEMM_PROBE] = probe
    times = time_interleaved(fns, group.warmup, group.repeats) if prepared else {}
    if probe is not None:
        gemm_times = times.pop(GEMM_PROBE)
        result['gemm'] = dict(shape=list(group.gemm_probe), kernel=probe.kernel,
                              times_s=gemm_times,
                              gflop_per_call=probe.flops / 1e9,
                              gflops=round(probe.rate(statistics.median(gemm_times)), 1))
    for name, ts in times.items():
        entries[name].update(_summary(ts, names[name].batch))

    for name, p in prepared.items():
        v = p.case.variant
        # The reference variant of the keys asked for, and their fp32 compiled variants (what
        # bounds the compiled mode).
        wanted = p.case.spec.key in group.profile and (
            v.is_reference or (v.compile is not None and v.dtype == 'fp32'))
        # One profiled pass gives the peak and, for the cases asked for, the operator table
        # (recording allocations and shapes adds little to the operators' times).
        prof = profile_ops(p, memory=True, shapes=wanted)
        # (onnxruntime allocates outside torch: the profiler sees none of its memory)
        peak = peak_from_profile(prof) if v.runtime == 'torch' else None
        entries[name]['torch_peak_mb'] = round(peak / MB, 1) if peak is not None else None
        if wanted:
            entries[name]['profile'] = dict(table=profile_table(prof), top=top_ops(prof),
                                            copies=copy_stats(prof),
                                            families=family_breakdown(prof))
        del prof

    base = _baseline_case(group, names)
    result['baseline_case'] = base
    for name, entry in entries.items():
        if base in times and name in times:
            entry['rel_throughput'] = round(paired_ratio(times[name], times[base]), 3)
        if base in entries and entries[base].get('torch_peak_mb') and entry.get('torch_peak_mb'):
            entry['rel_memory'] = round(entry['torch_peak_mb'] / entries[base]['torch_peak_mb'],
                                        3)

    prepared.clear()
    models.clear()
    eager.clear()
    torch._dynamo.reset()  # drop compiled graphs (and their memory) of this group
    gc.collect()
    if group.rss:
        for name, entry in entries.items():
            case = names[name]
            wanted = group.rss is True or (case.spec.key in group.rss
                                           and case.variant.is_reference)
            if (wanted and 'error' not in entry and case.variant.compile is None
                    and case.variant.runtime == 'torch'):
                _log(f'  RSS subprocess: {name}', verbose)
                entry['rss'] = rss_peak_in_subprocess(case)

    result['cases'] = list(entries.values())
    result['load_after'] = load_average()
    result['wall_s'] = round(time.perf_counter() - started, 1)
    _log(format_group(result), verbose)
    return result


def run_suite(groups: Sequence[Group], command: str = '', verbose: bool = True,
              flops: bool = True) -> dict:
    """Run ``groups`` in order; returns the whole report (machine, groups, targets)."""
    started = time.perf_counter()
    report = dict(machine=machine_info(), command=command, load_start=load_average(),
                  groups=[])
    for group in groups:
        report['groups'].append(run_group(group, verbose=verbose, flops=flops))
    report['load_end'] = load_average()
    report['wall_s'] = round(time.perf_counter() - started, 1)
    report['targets'] = evaluate_targets(report)
    report['light_claim'] = light_claim(report)
    return report
