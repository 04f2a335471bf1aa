"""A report as text (console), Markdown (``docs/benchmark.md``) and a PNG chart."""
from typing import Any, List, Optional

__all__ = ['fmt', 'format_group', 'bounds_lines', 'render_markdown', 'write_chart']


def fmt(v: Any, spec: str = '.1f', none: str = '-') -> str:
    return none if v is None else format(v, spec)


def format_group(group: dict) -> str:
    """The group's results as a text table (for the console)."""
    lines = [f'-- {group["title"]}: load {group["load_before"]} -> {group.get("load_after")}, '
             f'{group.get("wall_s", "?")} s']
    head = (f'{"case":52s} {"GFLOPs":>7s} {"thr":>8s} {"spread":>7s} {"rel":>6s} '
            f'{"peakMB":>8s} {"relmem":>6s} {"check":>8s}')
    lines.append(head)
    for c in group['cases']:
        if 'error' in c:
            lines.append(f'{c["name"]:52s} ERROR {c["error"][:100]}')
            continue
        chk = c.get('check', {}).get('max_rel_diff')
        lines.append(f'{c["name"][:52]:52s} {fmt(c.get("gflops"), ".2f"):>7s} '
                     f'{fmt(c.get("throughput"), ".2f"):>8s} '
                     f'{fmt(100 * c["spread"] if "spread" in c else None, ".0f"):>6s}% '
                     f'{fmt(c.get("rel_throughput"), ".2f"):>6s} '
                     f'{fmt(c.get("torch_peak_mb"), ".0f"):>8s} '
                     f'{fmt(c.get("rel_memory"), ".2f"):>6s} {fmt(chk, ".1e"):>8s}')
    for s in group.get('skipped', []):
        lines.append(f'skipped: {s}')
    return '\n'.join(lines)


def _md_group(group: dict) -> List[str]:
    out = [f'### {group["title"]}', '']
    if group.get('note'):
        out += [group['note'], '']
    unit = group['cases'][0]['unit'] if group['cases'] else 'img/s'
    rss = any('rss' in c for c in group['cases'])
    head = ['model', 'input', 'variant', 'GFLOPs', 'params (M)', f'{unit} (median)',
            'min-max', 'rel. throughput', 'torch peak (MB)', 'rel. memory']
    head += ['RSS peak (MB)'] if rss else []
    head += ['max rel. diff']
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for c in group['cases']:
        label = f'**{c["label"]}**' if c['ours'] else c['label']
        inp = 'x'.join(str(s) for s in c['input'])
        if 'error' in c:
            out.append(f'| {label} | {inp} | {c["name"].rsplit(" ", 1)[-1]} | error: '
                       f'{c["error"][:120]} |' + ' |' * (len(head) - 4))
            continue
        v = c['variant']
        tag = v['dtype'] + (' +cl' if v['channels_last'] else '') + \
            (f' +{v["compile"]}' if v['compile'] else '') + \
            (' freezing' if v.get('freezing') else '') + \
            (f' +{v["runtime"]}' if v.get('runtime', 'torch') != 'torch' else '')
        if v.get('runtime', 'torch') != 'torch':
            # onnxruntime allocates outside torch: there is no torch peak to show
            c = dict(c, torch_peak_mb=None, rel_memory=None)
        lo = c['batch'] / c['max_s'] if 'max_s' in c else None
        hi = c['batch'] / c['min_s'] if 'min_s' in c else None
        row = [label, inp, tag, fmt(c.get('gflops'), '.2f'), fmt(c.get('params_m'), '.1f'),
               fmt(c.get('throughput'), '.2f'), f'{fmt(lo, ".2f")}-{fmt(hi, ".2f")}',
               fmt(c.get('rel_throughput'), '.2f'), fmt(c.get('torch_peak_mb'), '.0f'),
               fmt(c.get('rel_memory'), '.2f')]
        if rss:
            r = c.get('rss', {})
            row.append(fmt(r.get('rss_peak_mb'), '.0f') if 'error' not in r else 'error')
        row.append(fmt(c.get('check', {}).get('max_rel_diff'), '.1e'))
        out.append('| ' + ' | '.join(row) + ' |')
    out += ['', f'Baseline (rel. = 1): {group.get("baseline_case")}; {group["warmup"]} warm-up '
            f'+ {group["repeats"]} interleaved rounds; load average {group["load_before"]} '
            f'before, {group.get("load_after")} after; {group.get("wall_s")} s.', '']
    for s in group.get('skipped', []):
        out.append(f'* skipped: {s}')
    return out


#: What the profiles of the deployment groups show, per group (the measured shares are
#: printed next to it): the mechanism, which does not change from run to run.
BOUNDS_NOTES = {
    'deploy_s': 'Stages 3-4 are transformer blocks at 196 and 49 tokens: their linear layers '
                '(qkv, proj, MLP) take about half the time, the convolutions (oneDNN) a '
                'quarter, attention itself under a tenth. Frozen compilation pre-packs the '
                'linear weights for oneDNN\'s matmul (faster than MKL\'s sgemm on this CPU, '
                'with GELU fused into it), folds BatchNorm into the convolutions and fuses the '
                'remaining pointwise work into generated kernels. The official-equivalent '
                'model, eager, already computes at about half the rate of the fastest float32 '
                'matrix product here (the ceiling in the target line), and removing its '
                'pointwise work gains about 1.1x (eager ours): the rest of the 1.4x has to '
                'come from faster kernels (oneDNN\'s packed matmul rather than MKL\'s sgemm).',
    'deploy_3d': 'Joint space-time attention over 8x14x14 = 1568 tokens in stage 3 is the '
                 'largest single cost, then the MLP / qkv GEMMs and the 1x1x1 convolutions of '
                 'stages 1-2. Ours runs the attention in the fused flash kernel of SDPA '
                 '(about 2x the explicit softmax(q k^T) v of mmaction2 here, and no 1568x1568 '
                 'matrix); compilation leaves that kernel as it is and moves the linears to '
                 'oneDNN. mmaction2 computes everything else with the same GEMM and '
                 'convolution kernels. Under glibc\'s default allocator it also maps its 49 MB '
                 'attention matrices afresh in every block (blocks over 32 MiB always are), '
                 'which the shared allocator setting of this run removes: the ratio left is '
                 'the models\' own, and the ceiling in the target line bounds it loosely.',
}


def bounds_lines(report: dict) -> List[str]:
    """Per profiled case of the deployment groups: self CPU time by operator family, and the
    speed-up that removing all but GEMMs, attention and convolutions could give at most."""
    lines = []
    for g in report['groups']:
        if not g['name'].startswith('deploy_'):
            continue
        cases = [c for c in g['cases'] if 'families' in c.get('profile', {})]
        if not cases:
            continue
        lines.append(f'{g["title"]}:')
        for c in cases:
            fam = c['profile']['families']
            parts = ', '.join(f'{name} {100 * f["share"]:.0f}%'
                              for name, f in fam['families'].items() if f['share'] >= 0.01)
            ext = fam['extern_share']
            ceiling = (f'; GEMMs + attention + convolutions = {100 * ext:.0f}%, so fusing '
                       f'everything else away gives at most {1 / ext:.2f}x'
                       if ext and not c['variant']['compile'] else '')
            lines.append(f'  {c["name"]} ({fam["total_ms"]:.0f} ms): {parts}{ceiling}')
        if g['name'] in BOUNDS_NOTES:
            lines.append(f'  -> {BOUNDS_NOTES[g["name"]]}')
    return lines


def render_markdown(report: dict, chart: Optional[str] = None) -> str:
    """``docs/benchmark.md`` from a report of :func:`run_suite`."""
    m = report['machine']
    v = m['versions']
    out = [
        '# Benchmark: UniFormer next to its peers', '',
        '<!-- Generated by `make benchmark` (tools/analysis/benchmark) from '
        'docs/benchmark.json; edit the generator, not this file. -->', '',
        f'Regenerate: `make benchmark` (runs `{report.get("command") or "?"}`, about '
        f'{report.get("wall_s", 0) / 60:.0f} minutes here).', '',
        '## Machine', '',
        f'* {m["cpu"]}, {m["cores"]} cores, {m.get("memory_gb")} GB; torch threads '
        f'{m["torch_threads"]}; ISA: {", ".join(m["isa"]) or "-"}',
        f'* {m["platform"]}, Python {m["python"]}; environment: '
        + (', '.join(f'{k}={val}' for k, val in m.get('env', {}).items()) or 'no thread settings'),
        '* ' + ', '.join(f'{k} {val}' for k, val in v.items() if val),
        f'* {m["date"]}; load average (1/5/15 min) {report.get("load_start")} at the start, '
        f'{report.get("load_end")} at the end. Other jobs shared the machine: compare cases '
        'within a group (they ran interleaved), and read the min-max spread.', '',
        '## How to read it', '',
        '* Throughput: forward passes (eval, no grad) per second x batch; median over the '
        'rounds, min-max = slowest and fastest round. *rel. throughput* is the median over '
        'rounds of (baseline time / case time) for rounds run back to back: > 1 is faster than '
        'the baseline.',
        '* torch peak: the most memory held by tensors allocated during one forward pass '
        '(torch.profiler allocation events; weights and input excluded, output included). '
        'RSS peak (dense group): growth of the resident set during one forward pass after a '
        'warm-up, in a fresh process (VmHWM reset via /proc/self/clear_refs) with a fixed '
        'glibc mmap threshold (MALLOC_MMAP_THRESHOLD_=131072: large blocks are returned when '
        'freed, so the warm-up leaves nothing behind); it includes oneDNN scratch memory.',
        '* GFLOPs: mmengine FlopAnalyzer (multiply-adds) per sample, including fused attention.',
        '* max rel. diff: largest |output - reference| / max |reference|, the reference being '
        'the fp32 eager output of the same weights (for mmaction2 UniFormer: ours), or for '
        'compiled cases the eager output in the same dtype. The light models keep the tokens '
        'with the highest class attention, so bf16 rounding can change which tokens a block '
        'keeps: their bf16 differences are larger than elsewhere.',
        '* +cl: channels-last input and weights; bf16: `torch.autocast("cpu", torch.bfloat16)`; '
        '+inductor: `torch.compile(fullgraph=True)`; freezing: with inductor weight freezing '
        '(`tools/test.py --compile`); +onnxruntime: the exported ONNX graph in onnxruntime.',
        '* The machine is shared. torch\'s OpenMP threads spin at every barrier by default; when '
        'other jobs occupy the cores, a spinning thread waits for a descheduled one, and '
        'multi-threaded CPU runs of op-heavy models become several times slower (2-3x measured '
        'here for UniFormer-XXS at a load average of 4-5). `make benchmark` therefore sets '
        '`OMP_WAIT_POLICY=PASSIVE` (waiting threads sleep), which keeps timings close to what '
        'the model costs; on an idle machine it can cost a few percent.',
        ('* Allocator: every case runs with glibc keeping freed memory for reuse '
         '(`MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` in the environment above, set by '
         '`uniformer_mm.deploy.keep_freed_cpu_memory`, as `tools/test.py` runs on CPU). '
         if 'MALLOC_MMAP_THRESHOLD_' in m.get('env', {}) else
         '* Allocator: glibc\'s defaults (this run: `--malloc default`). ')
        + 'Under glibc\'s adaptive defaults, large activations may be mapped afresh in every '
        'pass: tens of thousands of page faults per pass, differing from process to process and '
        'from model to model, which moved the ratios of this page by up to 40% between runs '
        '(`--malloc default` measures that way; docs/deploy.md).',
        '* Ceiling (ratio targets): the float32 rate of this CPU\'s fastest matrix product '
        '(oneDNN, pre-packed weight) at the models\' main layer shape, timed in the same '
        'rounds, over the compared model\'s FLOP rate: what a model computing every FLOP at '
        'that rate would gain on it, a loose upper bound for any implementation.', '']
    out += ['Other runs of the same tool:', '',
            '* one group of this page: `python -m tools.analysis.benchmark --groups dense` '
            '(`--list` shows the groups and cases)',
            '* any backbone next to its peers: `python -m tools.analysis.benchmark --model '
            'uniformer_mm.UniFormer --arch small --input 3x224x224 --batch 8 --compare` '
            '(or `--config CONFIG`; `--dtype bf16`, `--channels-last`, `--compile inductor`, '
            '`--attention explicit`, `--rss`)',
            '* inductor on every other backbone family (minutes per model): '
            '`python -m tools.analysis.benchmark --suite compile`',
            '* the same weights in mmaction2, with output differences: '
            '`python -m tools.analysis.compare_mmaction_uniformer --profile`', '']
    if chart:
        out += [f'![throughput]({chart})', '']
    out += ['## Targets', '', '| target | measured | met |', '|---|---|---|']
    for t in report.get('targets', []):
        out.append(f'| {t["name"]} | {t["measured"]} | {"yes" if t["met"] else "**no**"} |')
    out += ['']
    bounds = bounds_lines(report)
    if bounds:
        out += ['## What bounds the deployment modes', '',
                'Self CPU time of one forward pass by operator family (torch.profiler; '
                '"inductor kernels" = the generated fused kernels of a compiled graph). The '
                'ceiling for eager cases: GEMMs, attention and convolutions are extern kernels '
                'that compilation calls as they are, so removing all other work could speed '
                'the pass up by at most 1 / their share (weight pre-packing can shave a little '
                'off the kernels themselves).', '']
        for line in bounds:
            if line.startswith('  -> '):
                out += ['', line[5:], '']
            elif line.startswith('  '):
                out.append(f'* {line.strip()}')
            else:
                out += [f'**{line.rstrip(":")}**', '']
        out += ['']
    claim = report.get('light_claim') or []
    if claim:
        out += ['## The efficient models on this CPU', '',
                'The paper reports 2-4x the GPU throughput of lightweight models at similar '
                'accuracy. Per UniFormer model and resolution, its throughput divided by each '
                "peer's (each model in its faster memory format):", '']
        out += [f'* {line}' for line in claim] + ['']
    out += ['## Results', '']
    for g in report['groups']:
        out += _md_group(g)
    profiled = [(g, c) for g in report['groups'] for c in g['cases'] if 'profile' in c]
    if profiled:
        unmet = {n for t in report.get('targets', []) if not t['met'] for n in t['profiles']}
        out += ['## Profiles', '',
                'Operators by self CPU time of one forward pass (torch.profiler). Layout copies '
                '= `aten::copy_` outside GEMMs (GEMMs copy their bias into the output first).',
                '']
        for g, c in profiled:
            cp = c['profile']['copies']
            flag = ' (target not met)' if c['name'] in unmet else ''
            out += [f'### {c["name"]}{flag}', '',
                    f'Layout copies: {cp["layout_copies"]} ({cp["layout_copy_ms"]:.0f} ms, '
                    f'{100 * cp["layout_share"]:.1f}%); GEMM bias copies: {cp["gemm_copies"]} '
                    f'({cp["gemm_copy_ms"]:.0f} ms); total self CPU {cp["total_ms"]:.0f} ms.',
                    '', '| op | calls | self ms | share |', '|---|---|---|---|']
            out += [f'| `{o["op"]}` | {o["calls"]} | {o["self_ms"]:.1f} | '
                    f'{100 * o["share"]:.1f}% |' for o in c['profile']['top']]
            out += ['']
    return '\n'.join(out).rstrip() + '\n'


def write_chart(report: dict, path: str) -> None:
    """A PNG with one throughput panel per group (ours highlighted) and the dense memory."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = [g for g in report['groups'] if any('throughput' in c for c in g['cases'])]
    dense = [g for g in groups if any(c.get('torch_peak_mb') for c in g['cases'])
             and g['name'] == 'dense']
    panels = len(groups) + len(dense)
    heights = [max(2., 0.32 * len(g['cases']) + 0.9) for g in groups] + \
        [max(2., 0.32 * len(g['cases']) + 0.9) for g in dense]
    fig, axes = plt.subplots(panels, 1, figsize=(9, sum(heights)),
                             gridspec_kw=dict(height_ratios=heights), squeeze=False)
    axes = axes[:, 0]
    for ax, g in zip(axes, groups):
        cs = [c for c in g['cases'] if 'throughput' in c]
        y = list(range(len(cs)))[::-1]
        thr = [c['throughput'] for c in cs]
        lo = [max(c['throughput'] - c['batch'] / c['max_s'], 0.) for c in cs]
        hi = [max(c['batch'] / c['min_s'] - c['throughput'], 0.) for c in cs]
        # Ours as shipped in red; references (explicit softmax) and peers in grey.
        colors = ['tab:red' if c['ours'] and c['model']['attention'] == 'sdpa' else 'tab:gray'
                  for c in cs]
        ax.barh(y, thr, xerr=[lo, hi], color=colors, capsize=2)
        ax.set_yticks(y)
        ax.set_yticklabels([c['name'] for c in cs], fontsize=7)
        for yi, c in zip(y, cs):
            if c.get('rel_throughput') is not None:
                ax.text(c['throughput'], yi, f' {c["rel_throughput"]:.2f}x', va='center',
                        fontsize=7)
        ax.set_xlabel(cs[0]['unit'] if cs else '', fontsize=8)
        ax.set_title(f'{g["title"]} (load {g["load_before"][0]})', fontsize=9)
    for ax, g in zip(axes[len(groups):], dense):
        cs = [c for c in g['cases'] if c.get('torch_peak_mb')]
        y = list(range(len(cs)))[::-1]
        ax.barh(y, [c['torch_peak_mb'] for c in cs],
                color=['tab:red' if c['model']['attention'] == 'sdpa' and c['ours']
                       else 'tab:gray' for c in cs])
        ax.set_yticks(y)
        ax.set_yticklabels([c['name'] for c in cs], fontsize=7)
        ax.set_xlabel('torch peak MB (one forward pass)', fontsize=8)
        ax.set_title(f'{g["title"]}: memory', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
