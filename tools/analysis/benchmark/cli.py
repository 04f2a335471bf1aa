"""Throughput and peak memory of backbones, side by side with their peers (CPU).

Measures any backbone (registry type + arch, or the backbone of a config) at a batch,
resolution, dtype (fp32, bf16 autocast), memory format and ``torch.compile`` setting, with
warm-up and interleaved repeats; ``--compare`` adds the peers installed here (mmpretrain /
mmaction2) at the same input. Without ``--model``/``--config`` it runs a suite: ``default`` is
what ``make benchmark`` runs and what docs/benchmark.md shows. The measuring logic (and what
"peak memory" means) is documented in :mod:`tools.analysis.benchmark`. Run it from the
repository root, as ``python -m tools.analysis.benchmark``.

Examples::

    # the whole suite, rewriting the docs (what `make benchmark` does; ~10-15 min on 2 cores)
    python -m tools.analysis.benchmark --out docs/benchmark.json --chart docs/benchmark.png \\
        --markdown docs/benchmark.md
    # only some groups of it, fewer repeats
    python -m tools.analysis.benchmark --groups video dense --repeats 3
    # one backbone next to its peers
    python -m tools.analysis.benchmark --model uniformer_mm.UniFormer --arch small \\
        --input 3x224x224 --batch 8 --compare
    # a variant: bf16 autocast + torch.compile(fullgraph=True)
    python -m tools.analysis.benchmark --model uniformer_mm.UniFormerLight --arch xxs \\
        --input 3x224x224 --batch 16 --dtype bf16 --compile inductor
    # the backbone of a config, dense, with RSS measured in a subprocess
    python -m tools.analysis.benchmark --config configs/det/mask_rcnn_uniformer_s.py \\
        --input 3x800x1333 --rss
    # explicit-softmax attention (the memory reference), same kwargs
    python -m tools.analysis.benchmark --model uniformer_mm.UniFormer --arch small \\
        --kwargs '{"out_indices": [0, 1, 2, 3], "final_norm": false}' --attention explicit \\
        --input 3x800x1333
    # re-render the markdown and chart from a saved report
    python -m tools.analysis.benchmark --render docs/benchmark.json --markdown docs/benchmark.md
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys
import warnings
from typing import List, Optional, Sequence, Tuple

import torch

from .profiling import quiet_profiler
from .report import bounds_lines, render_markdown, write_chart
from .runner import machine_info, run_suite
from .specs import Group, ModelSpec, Variant
from .suites import compare_group, compile_suite, default_suite, deploy_suite, quick_suite
from .targets import evaluate_targets, light_claim


def parse_shape(text: str) -> Tuple[int, ...]:
    """``'3x224x224'`` -> ``(3, 224, 224)`` (one sample: C x H x W or C x T x H x W)."""
    try:
        shape = tuple(int(s) for s in text.lower().replace(',', 'x').split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected CxHxW or CxTxHxW, got {text!r}')
    if len(shape) not in (3, 4) or min(shape) < 1:
        raise argparse.ArgumentTypeError(f'expected CxHxW or CxTxHxW, got {text!r}')
    return shape


def spec_from_config(path: str) -> ModelSpec:
    """The backbone of an OpenMMLab config as a :class:`ModelSpec` (its type scoped by the
    config's ``default_scope``; a ``Pretrained`` init is dropped: weights are not loaded)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    model = cfg.model.get('backbone', cfg.model)
    kwargs = {k: v for k, v in model.to_dict().items() if k not in ('type', 'init_cfg')}
    type_ = model['type']
    if '.' not in type_:
        type_ = f'{cfg.get("default_scope", "uniformer_mm")}.{type_}'
    return ModelSpec(key='model', label=osp.splitext(osp.basename(path))[0], type=type_,
                     kwargs=kwargs, ours=type_.startswith('uniformer_mm.'))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 2)[2])
    what = parser.add_argument_group('what to run (default: the suite)')
    what.add_argument('--suite', default='default',
                      choices=('default', 'compile', 'deploy', 'quick'),
                      help='default: make benchmark; compile: inductor on every other '
                      'backbone family (slow: minutes per model); deploy: eager vs compiled '
                      '(frozen weights) vs onnxruntime per family (part of default); quick: '
                      'tiny smoke run')
    what.add_argument('--groups', nargs='+', metavar='NAME',
                      help='run only these groups of the suite (see --list)')
    what.add_argument('--list', action='store_true', help='list the suite\'s groups and cases')
    what.add_argument('--model', help='scoped registry type, e.g. uniformer_mm.UniFormer, '
                      'mmpretrain.ConvNeXt, mmaction.MViT')
    what.add_argument('--arch', help='arch argument of --model')
    what.add_argument('--kwargs', default='{}', help='JSON of further constructor arguments')
    what.add_argument('--config', help='benchmark the backbone of this config')
    what.add_argument('--attention', default='sdpa', choices=('sdpa', 'explicit'),
                      help='explicit: softmax(q k^T) v materialised (uniformer_mm models)')
    what.add_argument('--compare', action='store_true',
                      help='add the installed peers at the same input (fp32 eager)')
    how = parser.add_argument_group('how')
    how.add_argument('--input', type=parse_shape, default=(3, 224, 224),
                     help='one sample, CxHxW or CxTxHxW (default 3x224x224)')
    how.add_argument('--batch', type=int, default=1)
    how.add_argument('--dtype', default='fp32', choices=('fp32', 'bf16'),
                     help='bf16 = torch.autocast("cpu", torch.bfloat16)')
    how.add_argument('--channels-last', action='store_true')
    how.add_argument('--compile', default=None, choices=('inductor', 'aot_eager', 'eager'),
                     help='torch.compile(fullgraph=True) with this backend')
    how.add_argument('--warmup', type=int, default=None, help='override the warm-up passes')
    how.add_argument('--repeats', type=int, default=None, help='override the timed rounds')
    how.add_argument('--rss', action='store_true',
                     help='also measure the RSS peak of each case in a fresh subprocess')
    how.add_argument('--no-flops', action='store_true', help='skip FLOP counting')
    how.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    how.add_argument('--malloc', default='keep', choices=('keep', 'default'),
                     help='keep (default): glibc keeps freed memory for reuse, as tools/test.py '
                     'runs on CPU, so that no case pays page faults the others do not '
                     '(uniformer_mm.deploy.keep_freed_cpu_memory); default: glibc\'s adaptive '
                     'defaults, whose page-fault churn differs from process to process')
    out = parser.add_argument_group('output')
    out.add_argument('--out', help='write the JSON report here')
    out.add_argument('--chart', help='write the PNG chart here')
    out.add_argument('--markdown', help='write the markdown report (docs/benchmark.md) here')
    out.add_argument('--render', metavar='JSON',
                     help='only render --markdown / --chart from a saved report')
    args = parser.parse_args(argv)
    if args.model and args.config:
        parser.error('give --model or --config, not both')
    return args


def build_groups(args: argparse.Namespace) -> List[Group]:
    """The groups the options ask for."""
    if args.model or args.config:
        if args.config:
            spec = spec_from_config(args.config)
        else:
            kwargs = json.loads(args.kwargs)
            if args.arch is not None:
                kwargs['arch'] = args.arch
            label = args.model.split('.', 1)[-1] + (f'-{args.arch}' if args.arch else '')
            spec = ModelSpec(key='model', label=label, type=args.model, kwargs=kwargs,
                             ours=args.model.startswith('uniformer_mm.'))
        spec.attention = args.attention
        variant = Variant(args.dtype, args.channels_last, args.compile)
        groups = [compare_group(spec, args.input, args.batch, variant, compare=args.compare,
                                rss=args.rss)]
    else:
        groups = dict(default=default_suite, compile=compile_suite, deploy=deploy_suite,
                      quick=quick_suite)[args.suite]()
        if args.groups:
            known = {g.name for g in groups}
            unknown = set(args.groups) - known
            if unknown:
                raise SystemExit(f'unknown groups {sorted(unknown)}; the {args.suite} suite has '
                                 f'{sorted(known)}')
            groups = [g for g in groups if g.name in args.groups]
        if args.rss:
            for g in groups:
                g.rss = True
    for g in groups:
        if args.warmup is not None:
            g.warmup = args.warmup
        if args.repeats is not None:
            g.repeats = args.repeats
    return groups


def write_outputs(report: dict, args: argparse.Namespace) -> None:
    """JSON, chart and markdown, as asked."""
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
        print(f'wrote {args.out}')
    if args.chart:
        write_chart(report, args.chart)
        print(f'wrote {args.chart}')
    if args.markdown:
        chart = None
        if args.chart:  # linked relative to the markdown file
            chart = osp.relpath(osp.abspath(args.chart), osp.dirname(osp.abspath(args.markdown)))
        with open(args.markdown, 'w') as f:
            f.write(render_markdown(report, chart))
        print(f'wrote {args.markdown}')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run and report; returns the report."""
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            report = json.load(f)
        # Judged again, so that changes to the criteria apply to saved measurements.
        report['targets'] = evaluate_targets(report)
        report['light_claim'] = light_claim(report)
        write_outputs(report, args)
        return report
    # Peers' construction warnings that say nothing about the measurement.
    warnings.filterwarnings('ignore', message='torch.meshgrid')
    warnings.filterwarnings('ignore', message='In MMCV v1.4.4')
    from uniformer_mm import cli
    cli.quiet_known_messages()
    quiet_profiler()
    from mmengine.logging import MMLogger
    # WARNING hides the per-parameter init reports of model builds.
    MMLogger.get_instance('uniformer_mm_benchmark', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.malloc == 'keep':
        from uniformer_mm.deploy.allocator import keep_freed_cpu_memory
        keep_freed_cpu_memory()  # before the models' first allocations
    groups = build_groups(args)
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores / 2 and 'OMP_WAIT_POLICY' not in os.environ:
        print(f'note: load average {load:.1f} on {cores} cores and OMP_WAIT_POLICY unset: '
              'OpenMP threads spin-wait for descheduled ones, which can slow multi-threaded '
              'runs several times; consider OMP_WAIT_POLICY=PASSIVE (as make benchmark does)')
    if args.list:
        for g in groups:
            print(f'{g.name}: {g.title}')
            for c in g.cases:
                print(f'    {c.name}  (batch {c.batch}, {c.spec.type})')
        return {}
    argv = sys.argv[1:] if argv is None else list(argv)
    env = [f'{k}={v}' for k, v in machine_info()['env'].items()]
    command = ' '.join(env + ['python -m tools.analysis.benchmark']
                       + [shlex.quote(a) for a in argv])
    m = machine_info()
    print(f'CPU: {m["cpu"]}, {m["cores"]} cores, torch threads {m["torch_threads"]}; load '
          f'average {[round(v, 2) for v in os.getloadavg()]}', flush=True)
    report = run_suite(groups, command=command, flops=not args.no_flops)
    print('\n== targets')
    for t in report['targets']:
        print(f'[{"met" if t["met"] else "NOT MET"}] {t["name"]}: {t["measured"]}')
    if report['light_claim']:
        print('\n== efficient models (throughput of ours / peer)')
        print('\n'.join(report['light_claim']))
    bounds = bounds_lines(report)
    if bounds:
        print('\n== what bounds the deployment modes (self CPU time by operator family)')
        print('\n'.join(bounds))
    print(f'\nCPU: {report["machine"]["cpu"]}; total {report["wall_s"]:.0f} s; load '
          f'{report["load_start"]} -> '
          f'{report["load_end"]}')
    write_outputs(report, args)
    return report


if __name__ == '__main__':
    main()
