"""Compare ``uniformer_mm.UniFormer3D`` with mmaction2's built-in ``UniFormer`` on CPU.

Both backbones get the same weights (our state dict loads into mmaction2's model unchanged:
the module names are the official ones in both). The script reports

* the largest output difference, as built (mmaction2's attention blocks use LayerNorm eps 1e-5,
  the official model and ours 1e-6) and with mmaction2's eps set to 1e-6 (then only
  floating-point summation order differs);
* the CPU throughput of each (clips/s: median over repeats after warm-up, runs interleaved so
  that drifting clock speeds hit both) and the ratio ours / mmaction2;
* with ``--profile``, the operators that dominate each model's forward pass.

Examples::

    # the default: UniFormer-S, 16x224x224, batch 1
    python tools/analysis/compare_mmaction_uniformer.py
    # a quick run
    python tools/analysis/compare_mmaction_uniformer.py --arch tiny --frames 8 --size 64
    # with released weights (official video, ImageNet or mmaction2 file)
    python tools/analysis/compare_mmaction_uniformer.py --checkpoint uniformer_small_k400_16x4.pth
"""
import argparse
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

#: Backbone settings per name; ``tiny`` is for quick runs only (no released weights).
ARCHS: Dict[str, dict] = {
    'small': dict(depths=[3, 4, 8, 3], embed_dims=[64, 128, 320, 512], head_dim=64),
    'base': dict(depths=[5, 8, 20, 7], embed_dims=[64, 128, 320, 512], head_dim=64),
    'tiny': dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16),
}


def build_pair(arch: str, checkpoint: Optional[str] = None,
               seed: int = 0) -> Tuple[nn.Module, nn.Module]:
    """Our ``UniFormer3D`` and mmaction2's ``UniFormer`` with identical weights, in eval mode.

    Args:
        arch (str): A key of :data:`ARCHS`.
        checkpoint (str, optional): Weights to load into ours (any file our ``Pretrained``
            init reads; 2D files are inflated). Without one, the official random init is used
            and the BatchNorm statistics and affine parameters are randomised too, so that
            they take part in the comparison.
        seed (int): Seed of the random init.

    Returns:
        tuple: ``(ours, theirs)``.
    """
    from mmaction.models.backbones import UniFormer as MMActionUniFormer

    from uniformer_mm.models import UniFormer3D

    settings = ARCHS[arch]
    torch.manual_seed(seed)
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    ours = UniFormer3D(arch=dict(settings), init_cfg=init_cfg)
    ours.init_weights()
    if checkpoint is None:
        g = torch.Generator().manual_seed(seed)
        for module in ours.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                module.running_var.copy_(0.5 + torch.rand(c, generator=g))
                module.weight.data.copy_(1 + 0.1 * torch.randn(c, generator=g))
                module.bias.data.copy_(0.1 * torch.randn(c, generator=g))
    theirs = MMActionUniFormer(
        depth=settings['depths'], embed_dim=settings['embed_dims'],
        head_dim=settings['head_dim'], pretrained2d=False, pretrained=None)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.eval(), theirs.eval()


def set_layernorm_eps(model: nn.Module, eps: float) -> List[float]:
    """Set the eps of every LayerNorm inside attention blocks (``blocks3``/``blocks4``).

    Returns:
        list: The previous values, in module order, for :func:`restore_layernorm_eps`.
    """
    old = []
    for name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm) and name.startswith(('blocks3', 'blocks4')):
            old.append(module.eps)
            module.eps = eps
    return old


def restore_layernorm_eps(model: nn.Module, old: List[float]) -> None:
    """Undo :func:`set_layernorm_eps`."""
    modules = [m for n, m in model.named_modules()
               if isinstance(m, nn.LayerNorm) and n.startswith(('blocks3', 'blocks4'))]
    for module, eps in zip(modules, old):
        module.eps = eps


@torch.no_grad()
def output_difference(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> Dict[str, float]:
    """Largest absolute output difference, as built and with mmaction2's eps set to 1e-6.

    Returns:
        dict: ``scale`` (max |output| of ours), ``max_abs_diff`` and ``max_rel_diff`` (as
        built), ``max_abs_diff_eps_aligned`` and ``max_rel_diff_eps_aligned``.
    """
    a = ours(x)
    b = theirs(x)
    old = set_layernorm_eps(theirs, 1e-6)
    try:
        c = theirs(x)
    finally:
        restore_layernorm_eps(theirs, old)
    scale = a.abs().max().item()
    d1, d2 = (a - b).abs().max().item(), (a - c).abs().max().item()
    return dict(scale=scale, max_abs_diff=d1, max_rel_diff=d1 / scale,
                max_abs_diff_eps_aligned=d2, max_rel_diff_eps_aligned=d2 / scale)


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


@torch.no_grad()
def profile(model: nn.Module, x: torch.Tensor, rows: int = 15) -> str:
    """The operators that take the most CPU time in one forward pass (after one warm-up)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    model(x)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows)


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
