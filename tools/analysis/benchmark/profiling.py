"""Operator profiles of one forward pass (torch.profiler): the top operators and the data
copies, told apart from the bias copies GEMMs make."""
import os
from typing import Any, Callable, List, Sequence

import torch

__all__ = [
    'quiet_profiler', 'cpu_profiler', 'profile_ops', 'profile_table', 'top_ops', 'COPY_OPS',
    'GEMM_OPS', 'copy_stats', 'OP_FAMILIES', 'op_family', 'family_breakdown'
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
def profile_ops(fn: Callable[[], object], memory: bool = False, shapes: bool = False):
    """Run ``fn()`` once under ``torch.profiler`` (CPU; with ``memory``, allocations are
    recorded too, for :func:`peak_from_profile`; with ``shapes``, input shapes, for
    :func:`family_breakdown`) and return the profiler."""
    with cpu_profiler(profile_memory=memory, record_shapes=shapes) as prof:
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


#: Operator families of :func:`op_family`, in the order reports list them.
OP_FAMILIES = ('linear GEMM', 'attention', 'depthwise conv', 'other conv',
               'inductor kernels', 'pointwise & norms', 'copies', 'other')

#: Extern kernels: what compilation calls as they are (it fuses what lies between them).
EXTERN_FAMILIES = ('linear GEMM', 'attention', 'depthwise conv', 'other conv')

_POINTWISE = ('aten::gelu', 'aten::add', 'aten::add_', 'aten::mul', 'aten::mul_', 'aten::div',
              'aten::sub', 'aten::native_layer_norm', 'aten::native_batch_norm',
              'aten::sigmoid', 'aten::mean', 'aten::sum', 'aten::fill_', 'aten::zero_')


def op_family(name: str, input_shapes: Sequence = ()) -> str:
    """The family of an operator (one of :data:`OP_FAMILIES`), from its name and, for
    convolutions, its input shapes (depthwise: a ``C x 1 x k...`` weight with a kernel > 1;
    eager ``aten::`` and inductor's pre-packed ``mkldnn::`` ops alike)."""
    if 'scaled_dot_product' in name or name in ('aten::bmm', 'aten::baddbmm', 'aten::_softmax',
                                                  'aten::softmax'):
        return 'attention'
    if name in ('aten::addmm', 'aten::mm', 'mkl::_mkl_linear', 'mkldnn::_linear_pointwise'):
        return 'linear GEMM'
    if 'convolution' in name:
        for shape in list(input_shapes)[1:3]:
            if (len(shape) >= 4 and shape[1] == 1 and shape[0] > 1
                    and any(d > 1 for d in shape[2:])):
                return 'depthwise conv'
        return 'other conv'
    if name.startswith('## Call CompiledFxGraph'):
        return 'inductor kernels'  # self time of a compiled graph = its generated kernels
    if name in COPY_OPS or name == 'aten::clone':
        return 'copies'
    if name in _POINTWISE:
        return 'pointwise & norms'
    return 'other'


def family_breakdown(prof: Any) -> dict:
    """Self CPU time per operator family (:func:`op_family`) of a profile recorded with
    shapes: ``{family: {'ms', 'share'}}``, plus ``extern_share`` (GEMMs, attention and
    convolutions: the kernels compilation does not change) and ``total_ms``."""
    times = {f: 0. for f in OP_FAMILIES}
    for e in prof.key_averages(group_by_input_shape=True):
        times[op_family(e.key, e.input_shapes or ())] += e.self_cpu_time_total
    total = sum(times.values()) or 1.
    out = {f: dict(ms=round(t / 1e3, 1), share=round(t / total, 4)) for f, t in times.items()}
    return dict(families=out, total_ms=round(total / 1e3, 1),
                extern_share=round(sum(times[f] for f in EXTERN_FAMILIES) / total, 4))
