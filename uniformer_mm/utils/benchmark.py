"""Speed and memory of backbones, measured side by side with their peers (CPU).

The measuring logic of ``tools/analysis/benchmark.py`` and of
``tools/analysis/compare_mmaction_uniformer.py``; ``docs/benchmark.md`` is rendered from the
JSON report it produces.

What is measured, and how:

* **Throughput** -- wall time of one forward pass (eval mode, ``torch.no_grad()``) after
  warm-up. The cases of a group run round-robin (A B C, A B C, ...), so load from other
  processes and clock changes hit all of them alike. Each case reports the median, min and max
  over the repeats; ratios between two cases are the median of the per-round ratios
  ("paired"), which cancels slow drifts better than a ratio of medians.
* **Torch peak** -- the most memory held at any moment by tensors allocated during one forward
  pass. ``torch.profiler`` with ``profile_memory=True`` makes the CPU allocator report, with
  every allocation and free, its running total of the bytes allocated while profiling; the
  peak is the maximum over the pass minus the level before its first event. Weights and the
  input existed before and are not counted, the output is. Memory that does not come from
  torch's allocator (oneDNN scratch pads, the C library's caching) is not included.
* **RSS peak** -- in a fresh subprocess per case: how far the resident set grows during one
  forward pass after a warm-up pass (the kernel's high-water mark ``VmHWM`` is reset through
  ``/proc/self/clear_refs`` just before). It includes everything the process touches, so it is
  an upper bound next to the torch peak, and noisier.
* **FLOPs** -- :class:`mmengine.analysis.FlopAnalyzer` (which counts one multiply-add as one
  FLOP) for one sample, with a handle for ``aten::scaled_dot_product_attention`` (mmengine has
  none, so it would silently skip every fused attention).
* **Output check** -- every variant (bf16 autocast, channels-last, ``torch.compile``, the
  explicit-softmax reference, a model sharing weights with ours) is compared with the fp32 eager
  output of the model it derives from: the largest absolute difference relative to the largest
  absolute reference value.

Only the CPU is supported: this is what the project's machines have.
"""
import contextlib
import copy
import dataclasses
import datetime
import gc
import importlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = [
    'ModelSpec', 'Variant', 'Case', 'Group', 'machine_info', 'build_model',
    'randomize_batchnorm_', 'spread_attention_', 'use_explicit_softmax_attention',
    'build_mmaction_pair',
    'output_difference', 'set_layernorm_eps', 'restore_layernorm_eps', 'time_interleaved',
    'torch_peak_memory', 'peak_from_profile', 'count_flops', 'profile_ops', 'profile_table',
    'copy_stats',
    'rss_peak_in_subprocess', 'run_group', 'run_suite', 'default_suite', 'compile_suite',
    'quick_suite',
    'compare_group', 'peer_specs', 'evaluate_targets', 'render_markdown', 'write_chart',
    'format_group', 'paired_ratio', 'TOP1'
]

MB = 2.0**20

# ----------------------------------------------------------------------------------------------
# What to run
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ModelSpec:
    """A backbone to build from a registry.

    Args:
        key (str): Unique name within a group (``'uniformer_s'``).
        label (str): Name shown in tables (``'UniFormer-S'``).
        type (str): Scoped registry type: ``'uniformer_mm.UniFormer'``,
            ``'mmpretrain.ConvNeXt'``, ``'mmaction.MViT'``, ...
        kwargs (dict): Constructor arguments.
        ours (bool): A uniformer_mm model (highlighted in tables and the chart).
        weights_from (str, optional): Key of an earlier spec of the group whose state_dict this
            model loads (``strict=True``): the same weights in another implementation, or the
            same model with another attention.
        attention (str): ``'sdpa'`` (as built) or ``'explicit'``: the attention product of every
            uniformer_mm ``MultiheadAttention`` replaced by an explicit
            ``softmax(q k^T * scale) v`` (see :func:`use_explicit_softmax_attention`).
    """
    key: str
    label: str
    type: str
    kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    ours: bool = False
    weights_from: Optional[str] = None
    attention: str = 'sdpa'

    @property
    def toolbox(self) -> str:
        """The package providing :attr:`type` (its scope)."""
        return self.type.split('.', 1)[0]

    def available(self) -> bool:
        """Whether the toolbox of :attr:`type` is installed."""
        return importlib.util.find_spec(self.toolbox) is not None


@dataclasses.dataclass
class Variant:
    """How a model is run.

    Args:
        dtype (str): ``'fp32'`` or ``'bf16'`` (``torch.autocast('cpu', torch.bfloat16)``; the
            weights stay float32).
        channels_last (bool): Input and weights in channels-last memory order.
        compile (str, optional): ``torch.compile(model, fullgraph=True, backend=compile)``
            (``'inductor'``, ``'aot_eager'``, ``'eager'``); None runs eagerly.
    """
    dtype: str = 'fp32'
    channels_last: bool = False
    compile: Optional[str] = None

    def __post_init__(self) -> None:
        if self.dtype not in ('fp32', 'bf16'):
            raise ValueError(f"dtype must be 'fp32' or 'bf16' (autocast), got {self.dtype!r}")

    @property
    def is_reference(self) -> bool:
        """fp32, eager, default memory format: the reference of the output checks."""
        return self.dtype == 'fp32' and not self.channels_last and self.compile is None

    @property
    def tag(self) -> str:
        """Short text such as ``'bf16 +cl +inductor'``."""
        parts = [self.dtype]
        if self.channels_last:
            parts.append('+cl')
        if self.compile:
            parts.append(f'+{self.compile}')
        return ' '.join(parts)


@dataclasses.dataclass
class Case:
    """One measured configuration: a model, an input and a variant.

    Args:
        spec (ModelSpec): The model.
        input_shape (tuple): One sample without the batch axis: ``(C, H, W)`` for images,
            ``(C, T, H, W)`` for clips.
        batch (int): Batch size.
        variant (Variant): dtype, memory format, compilation.
    """
    spec: ModelSpec
    input_shape: Tuple[int, ...]
    batch: int = 1
    variant: Variant = dataclasses.field(default_factory=Variant)

    @property
    def name(self) -> str:
        """Unique name within a group: label, resolution (if not the group's), variant."""
        res = 'x'.join(str(s) for s in self.input_shape[1:])
        return f'{self.spec.label} @{res} {self.variant.tag}'

    @property
    def unit(self) -> str:
        """``'img/s'`` or ``'clips/s'``."""
        return 'clips/s' if len(self.input_shape) == 4 else 'img/s'

    def to_dict(self) -> dict:
        """JSON-serialisable description (also what the RSS subprocess rebuilds from)."""
        return dict(spec=dataclasses.asdict(self.spec), input_shape=list(self.input_shape),
                    batch=self.batch, variant=dataclasses.asdict(self.variant))

    @classmethod
    def from_dict(cls, d: dict) -> 'Case':
        """Inverse of :meth:`to_dict`."""
        return cls(ModelSpec(**d['spec']), tuple(d['input_shape']), d['batch'],
                   Variant(**d['variant']))


@dataclasses.dataclass
class Group:
    """Cases measured together (interleaved), with ratios against one of them.

    Args:
        name (str): Identifier (``'video'``).
        title (str): Heading in the report.
        cases (list[Case]): What to run; cases whose toolbox is missing are skipped (noted).
        baseline (str): ``spec.key`` of the case ratios refer to (its reference variant, or its
            first case).
        warmup (int): Untimed passes per case after the first call (which also compiles) and
            the output check (a second pass for every case but the references).
        repeats (int): Timed passes per case.
        rss (bool | Sequence[str]): Also measure the RSS peak of each eager case (True) or of
            the reference cases of these ``spec.key`` s, in a subprocess per case.
        profile (Sequence[str]): ``spec.key`` s whose reference case is profiled (operator
            table and copy statistics kept in the report).
        note (str): Text shown under the heading.
    """
    name: str
    title: str
    cases: List[Case]
    baseline: str
    warmup: int = 1
    repeats: int = 5
    rss: Union[bool, Sequence[str]] = False
    profile: Sequence[str] = ()
    note: str = ''


# ----------------------------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------------------------
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
        env={k: os.environ[k] for k in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT',
                                        'KMP_BLOCKTIME', 'MKL_NUM_THREADS') if k in os.environ},
        versions={m: _version(m) for m in ('torch', 'mmengine', 'mmcv', 'mmpretrain', 'mmaction',
                                           'uniformer_mm')},
        date=datetime.datetime.now().isoformat(timespec='seconds'))


def load_average() -> List[float]:
    """``os.getloadavg()`` rounded: 1, 5 and 15-minute run-queue lengths."""
    return [round(v, 2) for v in os.getloadavg()]


# ----------------------------------------------------------------------------------------------
# Building models
# ----------------------------------------------------------------------------------------------
def build_model(type_: str, kwargs: Optional[dict] = None) -> nn.Module:
    """Build a scoped registry type (``'mmpretrain.ConvNeXt'``) in eval mode.

    The root registry resolves the scope prefix and imports the toolbox's registry, so no
    default scope is needed and the current one does not matter.
    """
    from mmengine.registry import MODELS
    if '.' not in type_:
        raise ValueError(f'give a scoped type such as uniformer_mm.UniFormer or '
                         f'mmpretrain.ConvNeXt, got {type_!r}')
    if type_.startswith('uniformer_mm.'):
        import uniformer_mm.models  # noqa: F401  (registers the types)
    model = MODELS.build(dict(type=type_, **(kwargs or {})))
    model.eval()  # some mmpretrain backbones' train() returns None: never chain it
    return model


@torch.no_grad()
def randomize_batchnorm_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random statistics and affine parameters (in place).

    Freshly built BatchNorms are identities in eval mode; trained ones are not, and an output
    comparison should exercise them.
    """
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            c = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(c, generator=g))
            module.running_var.copy_(0.5 + torch.rand(c, generator=g))
            if module.affine:
                module.weight.copy_(1 + 0.1 * torch.randn(c, generator=g))
                module.bias.copy_(0.1 * torch.randn(c, generator=g))
    return model


@torch.no_grad()
def spread_attention_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Re-draw every ``*.qkv`` Linear weight with std ``1/sqrt(in_features)`` and every
    ``cls_token`` with std 1 (in place).

    The official init (trunc-normal std 0.02; a zero class token) gives logits near 0, and the
    zero class token attends exactly uniformly. The light models rank tokens by that class
    attention, and uniform scores are exact ties:
    which tokens a block keeps then depends on the last bit of the arithmetic, so a compiled
    model (other summation order) may keep others and differ from eager by far more than
    rounding. Trained models attend selectively; so do these weights, which makes output
    checks meaningful. Speed does not depend on weight values.
    """
    g = torch.Generator().manual_seed(seed)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name.split('.')[-1] == 'qkv':
            w = torch.randn(module.weight.shape, generator=g) * module.in_features**-0.5
            module.weight.copy_(w)
    for name, param in model.named_parameters():
        if name.split('.')[-1] == 'cls_token':
            param.copy_(torch.randn(param.shape, generator=g))
    return model


def _explicit_attend(self: nn.Module, q: torch.Tensor, k: torch.Tensor,
                     v: torch.Tensor) -> torch.Tensor:
    """``MultiheadAttention.attend`` with the ``N x N`` probabilities materialised.

    The textbook formulation: logits, scale, softmax and the product with ``v`` as separate
    tensors, as attention was written before fused kernels; the reference of the memory target.
    """
    B, _, N, _ = q.shape
    attn = (q @ k.transpose(-2, -1)) * self.scale
    attn = attn.softmax(dim=-1)
    if self.training and self.attn_drop > 0:
        attn = torch.nn.functional.dropout(attn, self.attn_drop)
    x = (attn @ v).transpose(1, 2).reshape(B, N, self.num_heads * self.head_dim)
    return self.proj_drop(self.proj(x))


def use_explicit_softmax_attention(model: nn.Module) -> int:
    """Make every uniformer_mm ``MultiheadAttention`` of ``model`` use explicit softmax.

    Patches the instances (not the class), so other models are unaffected. The light models'
    ``LightAttention`` has its own ``forward`` and is left alone.

    Returns:
        int: The number of patched attention modules (0 means the model has none).
    """
    from uniformer_mm.models.hourglass import LightAttention
    from uniformer_mm.models.blocks import MultiheadAttention
    count = 0
    for module in model.modules():
        if isinstance(module, MultiheadAttention) and not isinstance(module, LightAttention):
            module.attend = types.MethodType(_explicit_attend, module)
            count += 1
    return count


def _to_channels_last_(model: nn.Module) -> nn.Module:
    """Put 4-D parameters in ``channels_last`` and 5-D ones in ``channels_last_3d``."""
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
        elif p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
    return model


def build_spec(spec: ModelSpec, others: Optional[Dict[str, nn.Module]] = None,
               seed: int = 0) -> nn.Module:
    """Build ``spec`` (eval mode, random BatchNorm statistics, its attention and weights)."""
    torch.manual_seed(seed)
    model = build_model(spec.type, spec.kwargs)
    randomize_batchnorm_(model, seed)
    if spec.ours:
        spread_attention_(model, seed)
    if spec.weights_from is not None:
        if others is None or spec.weights_from not in others:
            raise KeyError(f'{spec.key}: weights_from={spec.weights_from!r} is not built yet')
        model.load_state_dict(others[spec.weights_from].state_dict(), strict=True)
    if spec.attention == 'explicit':
        if not use_explicit_softmax_attention(model):
            raise ValueError(f'{spec.key}: attention="explicit" needs a uniformer_mm model with '
                             'MultiheadAttention modules')
    elif spec.attention != 'sdpa':
        raise ValueError(f"attention must be 'sdpa' or 'explicit', got {spec.attention!r}")
    return model


# ----------------------------------------------------------------------------------------------
# UniFormer3D vs mmaction2's UniFormer (shared with tools/analysis/compare_mmaction_uniformer.py)
# ----------------------------------------------------------------------------------------------
#: Video backbone settings by name; ``tiny`` is for quick runs and tests only.
VIDEO_ARCHS: Dict[str, dict] = {
    'small': dict(depths=[3, 4, 8, 3], embed_dims=[64, 128, 320, 512], head_dim=64),
    'base': dict(depths=[5, 8, 20, 7], embed_dims=[64, 128, 320, 512], head_dim=64),
    'tiny': dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16),
}


def mmaction_uniformer_kwargs(arch: dict) -> dict:
    """Constructor arguments of mmaction2's ``UniFormer`` for one of our video archs."""
    return dict(depth=list(arch['depths']), embed_dim=list(arch['embed_dims']),
                head_dim=arch['head_dim'], pretrained2d=False, pretrained=None)


def build_mmaction_pair(arch: str = 'small', checkpoint: Optional[str] = None,
                        seed: int = 0) -> Tuple[nn.Module, nn.Module]:
    """Our ``UniFormer3D`` and mmaction2's ``UniFormer`` with identical weights, in eval mode.

    Our state_dict loads into mmaction2's model unchanged (``strict=True``): both use the
    official module names.

    Args:
        arch (str): A key of :data:`VIDEO_ARCHS`.
        checkpoint (str, optional): Weights for ours (any file our ``Pretrained`` init reads;
            2D files are inflated). Without one the official random init is used, with random
            BatchNorm statistics and affine parameters so that they take part in comparisons.
        seed (int): Seed of the random init.

    Returns:
        tuple: ``(ours, theirs)``.
    """
    from mmengine.logging import MMLogger
    from uniformer_mm.models import UniFormer3D
    settings = VIDEO_ARCHS[arch]
    torch.manual_seed(seed)
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    ours = UniFormer3D(arch=dict(settings), init_cfg=init_cfg)
    # init_weights reports every parameter at INFO level; nobody wants that here.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    try:
        ours.init_weights()
    finally:
        logger.setLevel(level)
    if checkpoint is None:
        randomize_batchnorm_(ours, seed)
    theirs = build_model('mmaction.UniFormer', mmaction_uniformer_kwargs(settings))
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

    mmaction2's attention blocks use LayerNorm eps 1e-5, the official model and ours 1e-6.

    Returns:
        dict: ``scale`` (max |output| of ours), ``max_abs_diff`` and ``max_rel_diff`` (as
        built), ``max_abs_diff_eps_aligned`` and ``max_rel_diff_eps_aligned``.
    """
    (a, ) = ours(x)
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


# ----------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------
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


def _profiler(**kwargs: Any):
    from torch.profiler import ProfilerActivity, profile
    return profile(activities=[ProfilerActivity.CPU], **kwargs)


@torch.no_grad()
def torch_peak_memory(fn: Callable[[], object]) -> Optional[int]:
    """Peak bytes held by tensors allocated while ``fn()`` runs (see the module docstring).

    Returns:
        int | None: The peak, or None if this torch's profiler does not expose allocation events.
    """
    with _profiler(profile_memory=True) as prof:
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


def _sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of ``scaled_dot_product_attention(q, k, v)``: ``q k^T`` and ``attn v``."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(t) for t in inputs[:3])
    batch = 1
    for s in q[:-2]:
        batch *= s
    n, d, m, dv = q[-2], q[-1], k[-2], v[-1]
    return batch * n * m * (d + dv)


@torch.no_grad()
def count_flops(model: nn.Module, x: torch.Tensor) -> Tuple[Optional[float], List[str]]:
    """FLOPs (multiply-adds) of ``model(x)`` with :class:`mmengine.analysis.FlopAnalyzer`.

    Returns:
        tuple: The total (None if tracing failed) and the names of operators the analyzer skipped
        (counted as 0; elementwise ops, mostly).
    """
    from mmengine.analysis import FlopAnalyzer
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # tracer warnings of data-dependent code
            analyzer = FlopAnalyzer(model, (x, ))
            analyzer.set_op_handle('aten::scaled_dot_product_attention', _sdpa_flop_jit)
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = float(analyzer.total())
            skipped = sorted(analyzer.unsupported_ops())
    except Exception as e:  # report, do not abort a long run
        return None, [f'tracing failed: {type(e).__name__}: {str(e)[:200]}']
    return total, skipped


@torch.no_grad()
def profile_ops(fn: Callable[[], object], memory: bool = False):
    """Run ``fn()`` once under ``torch.profiler`` (CPU; with ``memory``, allocations are
    recorded too, for :func:`peak_from_profile`) and return the profiler."""
    with _profiler(profile_memory=memory) as prof:
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


def make_input(case: Case, seed: int = 0) -> torch.Tensor:
    """A random batch for ``case`` (channels-last if the variant asks for it)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.batch, *case.input_shape, generator=g)
    if case.variant.channels_last:
        fmt = torch.channels_last if x.dim() == 4 else torch.channels_last_3d
        x = x.contiguous(memory_format=fmt)
    return x


class PreparedCase:
    """A model and input ready to run as ``case`` asks: ``prepared()`` runs one forward pass."""

    def __init__(self, case: Case, model: nn.Module, x: torch.Tensor) -> None:
        self.case, self.x = case, x
        self.model = model
        v = case.variant
        self.fn = (torch.compile(model, fullgraph=True, backend=v.compile) if v.compile
                   else model)

    def __call__(self) -> Any:
        ctx = (torch.autocast('cpu', dtype=torch.bfloat16) if self.case.variant.dtype == 'bf16'
               else contextlib.nullcontext())
        with torch.no_grad(), ctx:
            return self.fn(self.x)


# ----------------------------------------------------------------------------------------------
# RSS in a fresh process
# ----------------------------------------------------------------------------------------------
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
        _to_channels_last_(model)
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
    cmd = [sys.executable, '-m', 'uniformer_mm.utils.benchmark', '--rss-case',
           json.dumps(case.to_dict())]
    # A fixed glibc mmap threshold: every large tensor is mmapped and returned to the system
    # when freed. With glibc's default (dynamic) threshold, freeing a large block raises the
    # threshold, later blocks of that size come from the heap and stay resident, and the
    # measured growth then depends on what the warm-up pass happened to leave behind.
    env = dict(os.environ, PYTHONWARNINGS='ignore', MALLOC_MMAP_THRESHOLD_='131072')
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return dict(error=f'timeout after {timeout:.0f} s')
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith('{')]
    if res.returncode != 0 or not lines:
        return dict(error=f'exit {res.returncode}: {res.stderr.strip()[-300:]}')
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------------------------
# Running a group
# ----------------------------------------------------------------------------------------------
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
                models[(spec.key, v.channels_last)] = _to_channels_last_(model)
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
        and p.case.spec.weights_from is None}
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
    times = time_interleaved(dict(prepared), group.warmup, group.repeats) if prepared else {}
    for name, ts in times.items():
        entries[name].update(_summary(ts, names[name].batch))

    for name, p in prepared.items():
        # One profiled pass gives the peak and, for the cases asked for, the operator table
        # (recording allocations adds little to the operators' times).
        prof = profile_ops(p, memory=True)
        peak = peak_from_profile(prof)
        entries[name]['torch_peak_mb'] = round(peak / MB, 1) if peak is not None else None
        if p.case.spec.key in group.profile and p.case.variant.is_reference:
            entries[name]['profile'] = dict(table=profile_table(prof), top=top_ops(prof),
                                            copies=copy_stats(prof))
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
            if wanted and 'error' not in entry and case.variant.compile is None:
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


# ----------------------------------------------------------------------------------------------
# Suites
# ----------------------------------------------------------------------------------------------
#: ImageNet-1k top-1 (%) at the resolution given: UniFormer from the official releases (as in
#: configs/cls), peers from mmpretrain's metafiles (its own or third-party weights).
TOP1: Dict[Tuple[str, int], float] = {
    ('uniformer_xxs', 128): 76.8, ('uniformer_xxs', 160): 79.1, ('uniformer_xxs', 192): 79.9,
    ('uniformer_xxs', 224): 80.6, ('uniformer_xs', 192): 81.5, ('uniformer_xs', 224): 82.0,
    ('uniformer_s', 224): 82.9,
    ('mobilevit_xxs', 256): 69.0, ('mobilevit_xs', 256): 74.8, ('mobilevit_s', 256): 78.3,
    ('efficientnet_b0', 224): 76.7, ('mobilenetv3_l', 224): 74.0,
    ('swin_t', 224): 81.2, ('convnext_t', 224): 82.1,
}


#: "Similar accuracy" for the verdict on the paper's claim: UniFormer's top-1 is at least the
#: peer's and at most this many points higher.
SIMILAR_TOP1 = 3.0


def _spec(key: str, label: str, type_: str, ours: bool = False, **kwargs: Any) -> ModelSpec:
    return ModelSpec(key=key, label=label, type=type_, kwargs=kwargs, ours=ours)


def uniformer_s_cls() -> ModelSpec:
    """UniFormer-S, classification backbone (final BatchNorm)."""
    return _spec('uniformer_s', 'UniFormer-S', 'uniformer_mm.UniFormer', True, arch='small')


def peer_specs(kind: str) -> List[ModelSpec]:
    """Peers for ``kind``: ``'image'`` (S-size, ~4 GFLOPs), ``'light'`` (mobile models),
    ``'video'`` (mmaction2) or ``'dense'`` (multi-scale outputs for detection)."""
    if kind == 'image':
        return [_spec('swin_t', 'Swin-T', 'mmpretrain.SwinTransformer', arch='tiny'),
                _spec('convnext_t', 'ConvNeXt-T', 'mmpretrain.ConvNeXt', arch='tiny'),
                _spec('poolformer_s12', 'PoolFormer-S12', 'mmpretrain.PoolFormer', arch='s12'),
                _spec('poolformer_s24', 'PoolFormer-S24', 'mmpretrain.PoolFormer', arch='s24')]
    if kind == 'light':
        return [_spec('mobilevit_xxs', 'MobileViT-XXS', 'mmpretrain.MobileViT', arch='xx_small'),
                _spec('mobilevit_xs', 'MobileViT-XS', 'mmpretrain.MobileViT', arch='x_small'),
                _spec('mobilevit_s', 'MobileViT-S', 'mmpretrain.MobileViT', arch='small'),
                _spec('efficientnet_b0', 'EfficientNet-B0', 'mmpretrain.EfficientNet',
                      arch='b0'),
                _spec('mobilenetv3_l', 'MobileNetV3-L', 'mmpretrain.MobileNetV3',
                      arch='large')]
    if kind == 'video':
        return [_spec('mvit_s', 'MViTv2-S', 'mmaction.MViT', arch='small'),
                _spec('swin3d_t', 'Video Swin-T', 'mmaction.SwinTransformer3D', arch='tiny',
                      pretrained=None)]
    if kind == 'dense':
        return [_spec('swin_t', 'Swin-T', 'mmpretrain.SwinTransformer', arch='tiny',
                      out_indices=(0, 1, 2, 3)),
                _spec('convnext_t', 'ConvNeXt-T', 'mmpretrain.ConvNeXt', arch='tiny',
                      out_indices=(0, 1, 2, 3), gap_before_final_norm=False)]
    raise ValueError(f"kind must be 'image', 'light', 'video' or 'dense', got {kind!r}")


def _cases(specs: Sequence[ModelSpec], shape: Tuple[int, ...], batch: int,
           layouts: Sequence[bool] = (False, )) -> List[Case]:
    return [Case(s, shape, batch, Variant(channels_last=cl)) for s in specs for cl in layouts]


def video_group(frames: int = 16, size: int = 224, repeats: int = 5) -> Group:
    """UniFormer3D-S vs mmaction2's UniFormer (same weights), MViTv2-S and Video Swin-T."""
    arch = VIDEO_ARCHS['small']
    ours = _spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
                 arch='small')
    theirs = ModelSpec('mmaction_uniformer_s', 'mmaction2 UniFormer-S', 'mmaction.UniFormer',
                       mmaction_uniformer_kwargs(arch), weights_from='uniformer3d_s')
    shape = (3, frames, size, size)
    return Group('video', f'Video backbones, 1 x {frames}x{size}², CPU fp32',
                 _cases([ours, theirs, *peer_specs('video')], shape, 1), 'uniformer3d_s',
                 warmup=0, repeats=repeats, profile=('uniformer3d_s', 'mmaction_uniformer_s'),
                 note='mmaction2 UniFormer-S runs with the weights of ours (its LayerNorm eps '
                      '1e-5 vs the official 1e-6 is the only model difference).')


def image_group(size: int = 224, batch: int = 8, repeats: int = 5) -> Group:
    """UniFormer-S vs Swin-T, ConvNeXt-T and PoolFormer-S12/S24 (classification backbones)."""
    cases = _cases([uniformer_s_cls()], (3, size, size), batch)
    for peer in peer_specs('image'):
        # Swin is made of Linear layers on tokens: channels-last changes nothing for it.
        layouts = (False, ) if peer.key == 'swin_t' else (False, True)
        cases += _cases([peer], (3, size, size), batch, layouts=layouts)
    return Group('image', f'Image backbones (ImageNet size), {batch} x {size}², CPU fp32',
                 cases, 'uniformer_s', warmup=0, repeats=repeats,
                 note='ConvNeXt and PoolFormer also run channels-last (+cl: input and '
                      'weights); UniFormer converts to channels-last internally.')


def dense_group(height: int = 800, width: int = 1333, window: int = 14, repeats: int = 3,
                peers: bool = False) -> Group:
    """Dense UniFormer-S (4 outputs) at detection size: global (fused attention), global with
    explicit softmax (same weights), window and hybrid attention."""
    kw = dict(arch='small', out_indices=(0, 1, 2, 3), final_norm=False)
    specs = [
        _spec('global', 'UniFormer-S global', 'uniformer_mm.UniFormer', True, **kw),
        ModelSpec('global_explicit', 'UniFormer-S global, explicit softmax',
                  'uniformer_mm.UniFormer', dict(kw), ours=True, weights_from='global',
                  attention='explicit'),
        _spec('window', f'UniFormer-S window {window}', 'uniformer_mm.UniFormer', True,
              attn_type='window', window_size=window, **kw),
        _spec('hybrid', f'UniFormer-S hybrid {window}', 'uniformer_mm.UniFormer', True,
              attn_type='hybrid', window_size=window, **kw),
    ]
    if peers:
        specs += peer_specs('dense')
    return Group('dense', f'Dense UniFormer-S, 1 x {width}x{height} (detection), CPU fp32',
                 _cases(specs, (3, height, width), 1), 'global', warmup=0, repeats=repeats,
                 rss=('global', 'global_explicit'),
                 profile=('global', 'global_explicit', 'window', 'hybrid'),
                 note='Stage 3 sees 50 x 83 = 4150 tokens (the input / 16, floored); '
                      'window and hybrid blocks pad that map to multiples of the window.')


def _light_specs() -> Dict[str, ModelSpec]:
    return dict(xxs=_spec('uniformer_xxs', 'UniFormer-XXS', 'uniformer_mm.UniFormerLight', True,
                          arch='xxs'),
                xs=_spec('uniformer_xs', 'UniFormer-XS', 'uniformer_mm.UniFormerLight', True,
                         arch='xs'))


def light_group(size: int, batch: int = 16, repeats: int = 5,
                peer_keys: Optional[Sequence[str]] = None) -> Group:
    """UniFormer-XXS (and XS where released: 192, 224) vs mobile models at ``size``."""
    ours = _light_specs()
    specs = [ours['xxs']] + ([ours['xs']] if size >= 192 else [])
    peers = [p for p in peer_specs('light') if peer_keys is None or p.key in peer_keys]
    # UniFormer models run channels-last internally; the peers get both memory formats.
    cases = _cases(specs, (3, size, size), batch)
    cases += _cases(peers, (3, size, size), batch, layouts=(False, True))
    return Group(f'light{size}', f'Efficient models, {batch} x {size}², CPU fp32', cases,
                 'uniformer_xxs', warmup=1, repeats=repeats,
                 note='Peers in both memory formats (+cl: channels-last input and weights); '
                      'UniFormer models convert to channels-last internally.')


def light_matched_group(batch: int = 16, repeats: int = 5) -> Group:
    """Each model at the resolution its published accuracy was measured at (see :data:`TOP1`):
    the paper's "similar accuracy" comparison, on this CPU."""
    ours = _light_specs()
    peers = {p.key: p for p in peer_specs('light')}
    plan = [(ours['xxs'], 128), (ours['xxs'], 160), (ours['xxs'], 192), (ours['xs'], 192),
            (peers['mobilevit_xs'], 256), (peers['mobilevit_s'], 256),
            (peers['efficientnet_b0'], 224), (peers['mobilenetv3_l'], 224)]
    # Peers channels-last only: the same-resolution groups show it is their faster format.
    cases = [Case(s, (3, r, r), batch, Variant(channels_last=not s.ours)) for s, r in plan]
    return Group('light_matched', f'Efficient models at their accuracy resolutions, batch '
                 f'{batch}, CPU fp32', cases, 'uniformer_xxs', warmup=1, repeats=repeats,
                 note='Top-1 (ImageNet-1k) from the official releases and mmpretrain '
                      'metafiles. Peers run channels-last (+cl), their faster format in the '
                      'same-resolution groups.')


def variants_group(which: str, repeats: int = 5, compile_backend: str = 'inductor') -> Group:
    """fp32 eager vs channels-last input, bf16 autocast and ``torch.compile(fullgraph=True)``
    for one of our models: ``'s'`` (UniFormer-S 8x224², compiled in fp32), ``'xxs'``
    (UniFormer-XXS 16x224², compiled in fp32 and under bf16 autocast) or ``'3d'``
    (UniFormer3D-S 1x16x224², eager only; :func:`compile_suite` compiles it)."""
    variants = [Variant(), Variant(channels_last=True), Variant('bf16')]
    if which == 's':
        spec, shape, batch = uniformer_s_cls(), (3, 224, 224), 8
        variants += [Variant(compile=compile_backend)]
    elif which == 'xxs':
        spec, shape, batch = _light_specs()['xxs'], (3, 224, 224), 16
        variants += [Variant(compile=compile_backend), Variant('bf16', compile=compile_backend)]
    elif which == '3d':
        spec = _spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
                     arch='small')
        shape, batch = (3, 16, 224, 224), 1
    else:
        raise ValueError(f"which must be 's', 'xxs' or '3d', got {which!r}")
    return Group(f'variants_{which}', f'{spec.label}: dtype, memory format and torch.compile, '
                 f'{batch} x {"x".join(map(str, shape[1:]))}', [Case(spec, shape, batch, v)
                                                                 for v in variants],
                 spec.key, warmup=2, repeats=repeats,
                 note='For compiled variants the first call is the compilation '
                      '(fullgraph=True: a graph break is an error, not a silent fallback). It '
                      'reuses inductor\'s on-disk cache of earlier runs; a cold compile takes '
                      'about a minute per model here.')


def compile_suite(backend: str = 'inductor', repeats: int = 3) -> List[Group]:
    """``torch.compile(fullgraph=True)`` with ``backend`` on every backbone family not compiled
    by :func:`default_suite` (dense global / window / hybrid, 3D, light dense, light 3D): one
    group per model, eager fp32 vs compiled fp32 and bf16 autocast."""
    dense = dict(arch='small', out_indices=(0, 1, 2, 3), final_norm=False)
    plan = [
        (_spec('dense_global', 'UniFormer-S dense global', 'uniformer_mm.UniFormer', True,
               **dense), (3, 512, 512), 1),
        (_spec('dense_window', 'UniFormer-S dense window 14', 'uniformer_mm.UniFormer', True,
               attn_type='window', window_size=14, **dense), (3, 512, 512), 1),
        (_spec('dense_hybrid', 'UniFormer-S dense hybrid 14', 'uniformer_mm.UniFormer', True,
               attn_type='hybrid', window_size=14, **dense), (3, 512, 512), 1),
        (_spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
               arch='small'), (3, 8, 224, 224), 1),
        (_spec('light_dense_xxs', 'UniFormer-XXS dense', 'uniformer_mm.UniFormerLight', True,
               arch='xxs', final_norm=False, out_indices=(0, 1, 2, 3)), (3, 512, 512), 1),
        (_spec('light3d_xxs', 'UniFormerLight3D-XXS', 'uniformer_mm.UniFormerLight3D', True,
               arch='xxs'), (3, 8, 160, 160), 2),
    ]
    return [Group(f'compile_{spec.key}', f'{spec.label}: torch.compile({backend}, '
                  f'fullgraph=True), {batch} x {"x".join(map(str, shape[1:]))}',
                  [Case(spec, shape, batch, v) for v in
                   (Variant(), Variant(compile=backend), Variant('bf16', compile=backend))],
                  spec.key, warmup=1, repeats=repeats) for spec, shape, batch in plan]


def default_suite() -> List[Group]:
    """What ``make benchmark`` runs (about 10-15 minutes on 2 cores)."""
    return [video_group(), image_group(), dense_group(), light_group(224), light_group(128),
            light_matched_group(), variants_group('s'), variants_group('xxs'),
            variants_group('3d')]


def quick_suite() -> List[Group]:
    """Tiny models, a few seconds: for tests and a smoke run of the tool."""
    tiny2d = dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16)
    kw = dict(arch=tiny2d, out_indices=(0, 1, 2, 3), final_norm=False)
    dense = [
        _spec('global', 'tiny global', 'uniformer_mm.UniFormer', True, **kw),
        ModelSpec('global_explicit', 'tiny global, explicit softmax', 'uniformer_mm.UniFormer',
                  dict(kw), ours=True, weights_from='global', attention='explicit'),
        _spec('window', 'tiny window 4', 'uniformer_mm.UniFormer', True, attn_type='window',
              window_size=4, **kw),
    ]
    light = _spec('light', 'tiny light', 'uniformer_mm.UniFormerLight', True,
                  arch=dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16))
    return [
        Group('dense', 'quick dense', _cases(dense, (3, 200, 136), 1), 'global', warmup=0,
              repeats=2, rss=True, profile=('global', 'window')),
        Group('variants', 'quick variants',
              [Case(light, (3, 64, 64), 2, v) for v in
               (Variant(), Variant(channels_last=True), Variant('bf16'))], 'light', warmup=0,
              repeats=2),
    ]


def compare_group(spec: ModelSpec, input_shape: Tuple[int, ...], batch: int,
                  variant: Variant, compare: bool = False, warmup: int = 1,
                  repeats: int = 5, rss: bool = False) -> Group:
    """One model (any variant), with ``compare`` its peers at the same input (fp32 eager)."""
    cases = [Case(spec, input_shape, batch, variant)]
    if compare:
        if len(input_shape) == 4:
            kind = 'video'
        elif spec.type.endswith('Light'):
            kind = 'light'
        elif spec.kwargs.get('final_norm') is False or spec.kwargs.get('out_indices', (3, )) \
                not in ((3, ), 3, (-1, ), -1):
            kind = 'dense'
        else:
            kind = 'image'
        peers = peer_specs(kind)
        if kind == 'video' and spec.type == 'uniformer_mm.UniFormer3D':
            arch = spec.kwargs.get('arch', 'small')
            if isinstance(arch, str) and arch.lower() in ('s', 'small', 'b', 'base'):
                settings = VIDEO_ARCHS['small' if arch.lower() in ('s', 'small') else 'base']
                peers.insert(0, ModelSpec('mmaction_uniformer', 'mmaction2 UniFormer',
                                          'mmaction.UniFormer',
                                          mmaction_uniformer_kwargs(settings),
                                          weights_from=spec.key))
        cases += [Case(p, input_shape, batch, Variant()) for p in peers if p.key != spec.key]
    return Group('custom', f'{spec.label}, {batch} x {"x".join(map(str, input_shape[1:]))}',
                 cases, spec.key, warmup=warmup, repeats=repeats, rss=rss, profile=(spec.key, ))


# ----------------------------------------------------------------------------------------------
# Targets and the light-model claim
# ----------------------------------------------------------------------------------------------
def _group(report: dict, name: str) -> Optional[dict]:
    return next((g for g in report['groups'] if g['name'] == name), None)


def _case(group: dict, key: str, reference: bool = True) -> Optional[dict]:
    for c in group['cases']:
        v = c['variant']
        is_ref = v['dtype'] == 'fp32' and not v['channels_last'] and not v['compile']
        if c['key'] == key and (is_ref or not reference) and 'error' not in c:
            return c
    return None


def evaluate_targets(report: dict) -> List[dict]:
    """The performance targets of issue 8, judged on the measured numbers."""
    targets = []
    video = _group(report, 'video')
    if video:
        ours, theirs = _case(video, 'uniformer3d_s'), _case(video, 'mmaction_uniformer_s')
        if ours and theirs and 'times_s' in ours and 'times_s' in theirs:
            r = paired_ratio(ours['times_s'], theirs['times_s'])
            best = theirs['min_s'] / ours['min_s']
            targets.append(dict(
                name='UniFormer3D-S at 16x224² >= 1.3x the throughput of mmaction2 UniFormer '
                     '(same weights)', measured=f'{r:.2f}x (paired median; fastest runs '
                     f'{best:.2f}x)', value=round(r, 3), threshold=1.3, met=r >= 1.3,
                profiles=[ours['name'], theirs['name']]))
    dense = _group(report, 'dense')
    if dense:
        fused, explicit = _case(dense, 'global'), _case(dense, 'global_explicit')
        if fused and explicit and fused.get('torch_peak_mb') and explicit.get('torch_peak_mb'):
            r = fused['torch_peak_mb'] / explicit['torch_peak_mb']
            rss = ''
            fr, er = fused.get('rss', {}), explicit.get('rss', {})
            if 'rss_peak_mb' in fr and 'rss_peak_mb' in er and er['rss_peak_mb']:
                rss = (f'; RSS peak {fr["rss_peak_mb"]:.0f} vs {er["rss_peak_mb"]:.0f} MB '
                       f'({fr["rss_peak_mb"] / er["rss_peak_mb"]:.2f}x)')
            size = 'x'.join(str(d) for d in fused['input'][-1:-3:-1])
            targets.append(dict(
                name=f'{fused["label"]} at {size}: peak memory <= 0.5x that of '
                     'explicit-softmax attention (same weights)',
                measured=f'torch peak {fused["torch_peak_mb"]:.0f} vs '
                         f'{explicit["torch_peak_mb"]:.0f} MB ({r:.2f}x){rss}',
                value=round(r, 3), threshold=0.5, met=r <= 0.5,
                profiles=[fused['name'], explicit['name']]))
        glob = _case(dense, 'global')
        for key in ('window', 'hybrid'):
            c = _case(dense, key)
            if not (c and glob and 'profile' in c and 'profile' in glob):
                continue
            extra = c['profile']['copies']['layout_copies'] - \
                glob['profile']['copies']['layout_copies']
            n_win = _window_blocks(c)
            per_block = extra / n_win if n_win else float('nan')
            # Per window block with a padded map: pad (1 copy), partition (1), reverse (1).
            # Anything beyond those three is avoidable.
            targets.append(dict(
                name=f'{c["label"]}: no avoidable copies (<= 3 layout copies per window block: '
                     'pad, partition, reverse)',
                measured=f'{extra} more layout copies than global over {n_win} window blocks '
                         f'({per_block:.1f} per block); layout copies take '
                         f'{c["profile"]["copies"]["layout_copy_ms"]:.0f} ms = '
                         f'{100 * c["profile"]["copies"]["layout_share"]:.1f}% of the forward '
                         f'(global: {100 * glob["profile"]["copies"]["layout_share"]:.1f}%)',
                value=round(per_block, 2), threshold=3, met=per_block <= 3,
                profiles=[c['name']]))
    for g in report['groups']:
        if not g['name'].startswith(('variants_', 'compile_')):
            continue
        compiled = [c for c in g['cases'] if c['variant']['compile']]
        if compiled:
            backend = compiled[0]['variant']['compile']
            targets.append(dict(
                name=f'{compiled[0]["label"]}: torch.compile({backend}, fullgraph=True) runs '
                     'and matches eager in the same dtype (fp32 < 1e-4; bf16 autocast < 5e-2, '
                     'or as close to fp32 as eager bf16)',
                measured='; '.join(_compiled_summary(c) for c in compiled), value=None,
                threshold=None, met=all(_compiled_ok(c) for c in compiled), profiles=[]))
    return targets


def _compiled_ok(case: dict) -> bool:
    """fp32: within 1e-4 of eager. bf16: within 5e-2 of eager bf16, or no further from the
    fp32 output than eager bf16 is (x1.5): rounding may flip a light model's token selection,
    differently in either, without either being wrong."""
    check = case.get('check', {})
    diff = check.get('max_rel_diff')
    if 'error' in case or diff is None:
        return False
    if case['variant']['dtype'] == 'fp32':
        return diff < 1e-4
    fp32, eager_fp32 = check.get('max_rel_diff_fp32'), check.get('eager_bf16_max_rel_diff_fp32')
    return diff < 5e-2 or (fp32 is not None and eager_fp32 is not None
                           and fp32 <= 1.5 * eager_fp32)


def _compiled_summary(case: dict) -> str:
    if 'error' in case:
        return f'{case["variant"]["dtype"]}: {case["error"]}'
    check = case['check']
    extra = ''
    if 'max_rel_diff_fp32' in check:
        extra = (f' (vs fp32: {check["max_rel_diff_fp32"]:.1e}; eager bf16 vs fp32: '
                 f'{check["eager_bf16_max_rel_diff_fp32"]:.1e})')
    return (f'{case["variant"]["dtype"]}: max rel diff {check["max_rel_diff"]:.1e} '
            f'vs {check["reference"].rsplit(" ", 2)[-2]} eager{extra}, '
            f'{_fmt(case.get("rel_throughput"), ".2f")}x eager fp32, compiled in '
            f'{case["first_call_s"]:.0f} s')


def _window_blocks(case: dict) -> int:
    """Window blocks of a dense UniFormer case (stage 3 only; hybrid: every 4th is global)."""
    from uniformer_mm.models.backbones.uniformer import UniFormer
    kwargs = case['model']['kwargs']
    arch = kwargs.get('arch', 'small')
    depth = (UniFormer.arch_zoo[arch] if isinstance(arch, str) else arch)['depths'][2]
    kind = kwargs.get('attn_type', 'global')
    if kind == 'window':
        return depth
    if kind == 'hybrid':
        return sum(1 for i in range(depth) if (i + 1) % 4 != 0)
    return 0


def light_claim(report: dict) -> List[str]:
    """Sentences comparing UniFormer-XXS/XS with the mobile models, from the measurements.

    Per light group and UniFormer model: its throughput over each peer's (each model in its
    faster memory format; paired ratio over the interleaved rounds). For the group at the
    published accuracies, a verdict on the paper's claim over the pairs where UniFormer is at
    least as accurate as the peer.
    """
    lines = []
    for g in report['groups']:
        if not g['name'].startswith('light'):
            continue
        best: Dict[Tuple[str, int], dict] = {}
        for c in g['cases']:
            if 'times_s' not in c:
                continue
            k = (c['key'], c['input'][-1])
            if k not in best or c['throughput'] > best[k]['throughput']:
                best[k] = c
        ours = {k: c for k, c in best.items() if c['ours']}
        peers = {k: c for k, c in best.items() if not c['ours']}
        if not ours or not peers:
            continue
        matched = g['name'] == 'light_matched'
        fair: List[Tuple[float, str]] = []
        for (ok, ores), oc in sorted(ours.items()):
            acc = TOP1.get((ok, ores))
            parts = []
            for (pk, pres), pc in sorted(peers.items(), key=lambda kv: -kv[1]['throughput']):
                r = paired_ratio(oc['times_s'], pc['times_s'])
                pacc = TOP1.get((pk, pres))
                res = '' if pres == ores else f'@{pres}'
                parts.append(f'{r:.2f}x {pc["label"]}{res}'
                             + (f' ({pacc:.1f}%)' if pacc and matched else ''))
                if (matched and acc is not None and pacc is not None
                        and 0 <= acc - pacc <= SIMILAR_TOP1):
                    fair.append((r, f'{oc["label"]}@{ores} vs {pc["label"]}@{pres}'))
            acc_txt = f' ({acc:.1f}%)' if acc and matched else ''
            lines.append(f'[{g["name"]}] {oc["label"]}@{ores}{acc_txt}, '
                         f'{oc["throughput"]:.1f} img/s: ' + ', '.join(parts))
        if fair:
            fair.sort()
            n2 = sum(r >= 2 for r, _ in fair)
            lines.append(
                f'[{g["name"]}] verdict: over the {len(fair)} pairs of similar accuracy '
                f'(UniFormer at most {SIMILAR_TOP1:g} points more accurate, never less), its '
                f'throughput is {fair[0][0]:.2f}x ({fair[0][1]}) to '
                f'{fair[-1][0]:.2f}x ({fair[-1][1]}) the peer\'s; {n2} of {len(fair)} reach the '
                f'2x of the paper\'s GPU claim, {sum(r >= 1 for r, _ in fair)} are at least 1x.')
    return lines


# ----------------------------------------------------------------------------------------------
# Output: console, markdown, chart
# ----------------------------------------------------------------------------------------------
def _fmt(v: Any, spec: str = '.1f', none: str = '-') -> str:
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
        lines.append(f'{c["name"][:52]:52s} {_fmt(c.get("gflops"), ".2f"):>7s} '
                     f'{_fmt(c.get("throughput"), ".2f"):>8s} '
                     f'{_fmt(100 * c["spread"] if "spread" in c else None, ".0f"):>6s}% '
                     f'{_fmt(c.get("rel_throughput"), ".2f"):>6s} '
                     f'{_fmt(c.get("torch_peak_mb"), ".0f"):>8s} '
                     f'{_fmt(c.get("rel_memory"), ".2f"):>6s} {_fmt(chk, ".1e"):>8s}')
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
            (f' +{v["compile"]}' if v['compile'] else '')
        lo = c['batch'] / c['max_s'] if 'max_s' in c else None
        hi = c['batch'] / c['min_s'] if 'min_s' in c else None
        row = [label, inp, tag, _fmt(c.get('gflops'), '.2f'), _fmt(c.get('params_m'), '.1f'),
               _fmt(c.get('throughput'), '.2f'), f'{_fmt(lo, ".2f")}-{_fmt(hi, ".2f")}',
               _fmt(c.get('rel_throughput'), '.2f'), _fmt(c.get('torch_peak_mb'), '.0f'),
               _fmt(c.get('rel_memory'), '.2f')]
        if rss:
            r = c.get('rss', {})
            row.append(_fmt(r.get('rss_peak_mb'), '.0f') if 'error' not in r else 'error')
        row.append(_fmt(c.get('check', {}).get('max_rel_diff'), '.1e'))
        out.append('| ' + ' | '.join(row) + ' |')
    out += ['', f'Baseline (rel. = 1): {group.get("baseline_case")}; {group["warmup"]} warm-up '
            f'+ {group["repeats"]} interleaved rounds; load average {group["load_before"]} '
            f'before, {group.get("load_after")} after; {group.get("wall_s")} s.', '']
    for s in group.get('skipped', []):
        out.append(f'* skipped: {s}')
    return out


def render_markdown(report: dict, chart: Optional[str] = None) -> str:
    """``docs/benchmark.md`` from a report of :func:`run_suite`."""
    m = report['machine']
    v = m['versions']
    out = [
        '# Benchmark: UniFormer next to its peers', '',
        '<!-- Generated by `make benchmark` (tools/analysis/benchmark.py) from '
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
        '+inductor: `torch.compile(fullgraph=True)`.',
        '* The machine is shared. torch\'s OpenMP threads spin at every barrier by default; when '
        'other jobs occupy the cores, a spinning thread waits for a descheduled one, and '
        'multi-threaded CPU runs of op-heavy models become several times slower (2-3x measured '
        'here for UniFormer-XXS at a load average of 4-5). `make benchmark` therefore sets '
        '`OMP_WAIT_POLICY=PASSIVE` (waiting threads sleep), which keeps timings close to what '
        'the model costs; on an idle machine it can cost a few percent.', '']
    out += ['Other runs of the same tool:', '',
            '* one group of this page: `python tools/analysis/benchmark.py --groups dense` '
            '(`--list` shows the groups and cases)',
            '* any backbone next to its peers: `python tools/analysis/benchmark.py --model '
            'uniformer_mm.UniFormer --arch small --input 3x224x224 --batch 8 --compare` '
            '(or `--config CONFIG`; `--dtype bf16`, `--channels-last`, `--compile inductor`, '
            '`--attention explicit`, `--rss`)',
            '* inductor on every other backbone family (minutes per model): '
            '`python tools/analysis/benchmark.py --suite compile`',
            '* the same weights in mmaction2, with output differences: '
            '`python tools/analysis/compare_mmaction_uniformer.py --profile`', '']
    if chart:
        out += [f'![throughput]({chart})', '']
    out += ['## Targets', '', '| target | measured | met |', '|---|---|---|']
    for t in report.get('targets', []):
        out.append(f'| {t["name"]} | {t["measured"]} | {"yes" if t["met"] else "**no**"} |')
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


def iter_cases(groups: Sequence[Group]) -> Iterator[Case]:
    """Every case of ``groups`` (for listing what a suite will run)."""
    for g in groups:
        yield from g.cases


def _main(argv: Optional[Sequence[str]] = None) -> int:
    """Subprocess entry point: ``python -m uniformer_mm.utils.benchmark --rss-case JSON``."""
    import argparse
    parser = argparse.ArgumentParser(description='RSS measurement of one benchmark case')
    parser.add_argument('--rss-case', required=True)
    args = parser.parse_args(argv)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('uniformer_mm_benchmark', log_level='WARNING')
    print(json.dumps(_rss_child(args.rss_case)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(_main())

