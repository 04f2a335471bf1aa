"""Compare ``uniformer_mm.UniFormer3D`` with mmaction2's built-in ``UniFormer`` on CPU.

Both backbones get the same weights (our state dict loads into mmaction2's model unchanged:
the module names are the official ones in both). The script reports

* the largest output difference, as built (mmaction2's attention blocks use LayerNorm eps 1e-5,
  the official model and ours 1e-6) and with mmaction2's eps set to 1e-6 (then only
  floating-point summation order differs);
* the CPU throughput of each (clips/s: median over repeats after warm-up, runs interleaved so
  that drifting clock speeds hit both) and the ratio ours / mmaction2;
* with ``--profile``, the operators that dominate each model's forward pass.

Run it from the repository root, as a module (it imports the benchmark package)::

    # the default: UniFormer-S, 16x224x224, batch 1
    python -m tools.analysis.compare_mmaction_uniformer
    # a quick run
    python -m tools.analysis.compare_mmaction_uniformer --arch tiny --frames 8 --size 64
    # with released weights (official video, ImageNet or mmaction2 file)
    python -m tools.analysis.compare_mmaction_uniformer --checkpoint uniformer_small_k400_16x4.pth
"""
import argparse
import statistics
from typing import Dict, List, Optional

import torch
import torch.nn as nn

# The comparison's building blocks live in the benchmark package (its video group runs the
# same pair).
from tools.analysis.benchmark.models import VIDEO_ARCHS as ARCHS
from tools.analysis.benchmark.models import build_mmaction_pair as build_pair
from tools.analysis.benchmark.models import (output_difference, restore_layernorm_eps,
                                             set_layernorm_eps)
from tools.analysis.benchmark.profiling import profile_ops, profile_table, quiet_profiler
from tools.analysis.benchmark.timing import time_interleaved

__all__ = ['ARCHS', 'build_pair', 'output_difference', 'set_layernorm_eps',
           'restore_layernorm_eps', 'time_interleaved', 'profile', 'main']


@torch.no_grad()
def profile(model: nn.Module, x: torch.Tensor, rows: int = 15) -> str:
    """The operators that take the most CPU time in one forward pass (after one warm-up)."""
    model(x)
    return profile_table(profile_ops(lambda: model(x)), rows)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', default='small', choices=sorted(ARCHS))
    parser.add_argument('--frames', type=int, default=16, help='clip length T')
    parser.add_argument('--size', type=int, default=224, help='frame height = width')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: torch\'s choice)')
    parser.add_argument('--checkpoint', default=None, help='weights for both models')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--profile', action='store_true', help='print the top operators')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Run the comparison and print a report; returns the numbers."""
    args = parse_args(argv)
    from uniformer_mm import cli
    cli.quiet_known_messages()
    quiet_profiler()
    from mmengine.logging import MMLogger
    # The current mmengine logger; WARNING hides the per-parameter init report of init_weights.
    MMLogger.get_instance('compare_mmaction_uniformer', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    ours, theirs = build_pair(args.arch, args.checkpoint, args.seed)
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size, generator=g)

    diff = output_difference(ours, theirs, x)
    times = time_interleaved({'uniformer_mm': lambda: ours(x), 'mmaction2': lambda: theirs(x)},
                             args.warmup, args.repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med['mmaction2'] / med['uniformer_mm']

    print(f'UniFormer3D vs mmaction2 UniFormer: arch={args.arch}, input '
          f'{tuple(x.shape)}, torch {torch.__version__}, {torch.get_num_threads()} threads')
    print(f'output scale (max |y|)          : {diff["scale"]:.4g}')
    print(f'max |diff|, as built            : {diff["max_abs_diff"]:.3e} '
          f'(relative {diff["max_rel_diff"]:.3e})  <- mmaction2 LayerNorm eps 1e-5 vs 1e-6')
    print(f'max |diff|, mmaction2 eps = 1e-6 : {diff["max_abs_diff_eps_aligned"]:.3e} '
          f'(relative {diff["max_rel_diff_eps_aligned"]:.3e})  <- summation order only')
    for name, ts in times.items():
        print(f'{name:12s}: median {med[name] * 1e3:9.1f} ms/iter '
              f'({args.batch / med[name]:.3f} clips/s; min {min(ts) * 1e3:.1f}, '
              f'max {max(ts) * 1e3:.1f} ms over {len(ts)} runs)')
    best = min(times['mmaction2']) / min(times['uniformer_mm'])
    print(f'throughput ratio uniformer_mm / mmaction2: {ratio:.2f}x (median); {best:.2f}x '
          '(fastest runs, least disturbed by other load)')
    if args.profile:
        print('\n== uniformer_mm ==\n' + profile(ours, x))
        print('\n== mmaction2 ==\n' + profile(theirs, x))
    return dict(diff, ours_s=med['uniformer_mm'], mmaction2_s=med['mmaction2'], ratio=ratio,
                ratio_fastest=best)


if __name__ == '__main__':
    main()
