"""The fast inference mode: inductor compilation with frozen weights.

``torch.compile`` with inductor's ``freezing`` treats the parameters of a model in eval mode as
constants: BatchNorms are folded into the preceding convolutions, convolution and linear
weights are pre-packed for oneDNN (float32 linears: see :func:`linear_kernel`), and pointwise
chains (LayerNorm, GELU, residual adds, layer scale) are fused into generated C++ (CPU) or
Triton (GPU) kernels. Outputs equal eager ones to float32 rounding.

What is compiled is the backbone (and a neck, if any): the tensor-in / tensors-out part where
the time goes. The task heads, their post-processing and the data preprocessor stay eager,
so everything the toolboxes do with data samples is unchanged.

Costs and limits:

* Every new input shape compiles once (seconds to a minute on CPU); later calls of that
  shape are fast. Shapes are static (``dynamic=False``): with frozen weights, inductor's
  symbolic-size graphs give oneDNN convolutions wrong strides on batch-1 inputs (torch 2.14,
  an ``assert_size_stride`` failure at run time), so :func:`compile_model` refuses that
  combination. After ``torch._dynamo.config.recompile_limit`` (8) shapes of one model, dynamo
  runs further shapes eagerly (with a warning): the mode suits fixed test sizes
  (classification, video, pose, segmentation's sliding windows), not detection's
  image-dependent sizes.
* Several models may be compiled in one process: each compiled part has a code object of its
  own (:func:`own_call`), so dynamo keeps their graphs and recompilation budgets apart, and
  static shapes keep it from retracing a second UniFormer, whose blocks share code with the
  first, with symbolic sizes.
* Freezing applies under ``torch.no_grad()`` (as every toolbox's test loop runs); weights
  changed after the first forward are not seen. It is an inference mode: never train a
  compiled model.
* Inductor compiles C++ on CPU: a C++ compiler (``g++``) must be installed.
"""
import contextlib
import functools
import types
import warnings
from typing import Any, Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ['compile_model', 'inference_options', 'own_call', 'with_freezing', 'linear_kernel',
           'COMPILED_PARTS', 'LINEAR_KERNELS']

#: Submodules of a task model that are compiled, where present.
COMPILED_PARTS: Tuple[str, ...] = ('backbone', 'neck')


def inference_options(freezing: bool = True, max_autotune: bool = False) -> dict:
    """The inductor options of the inference mode (``torch.compile(..., options=...)``)."""
    return {'freezing': bool(freezing), 'max_autotune': bool(max_autotune)}


#: Kernels a frozen graph may run its float32 linear layers with (see :func:`linear_kernel`).
LINEAR_KERNELS = ('onednn', 'mkl')


def _check_linear(kind: str, argument: str) -> None:
    if kind not in LINEAR_KERNELS:
        raise ValueError(f'{argument}={kind!r}: choose one of {LINEAR_KERNELS}')


@functools.lru_cache(maxsize=None)
def _linear_packing_hook() -> Optional[type]:
    """Inductor's CPU device op whose methods pack linear weights, or None (with one warning)
    where this torch release has no such private hook. Looked up once, not on every call."""
    try:
        from torch._inductor.fx_passes.mkldnn_fusion import CpuMkldnnDeviceOp as op
    except ImportError:
        op = None
    if not (hasattr(op, 'pack_linear_weight') and hasattr(op, 'pack_linear')):
        warnings.warn(f'torch {torch.__version__}: inductor has no CPU linear packing hook to '
                      "patch; frozen float32 linears use inductor's default kernel (MKL)")
        return None
    return op


@contextlib.contextmanager
def linear_kernel(kind: str = 'onednn') -> Iterator[None]:
    """Within the block, inductor's freezing pass packs float32 linear weights for ``kind``.

    Inductor's own choice for float32 is MKL's packed sgemm (``mkl._mkl_linear``); it uses
    oneDNN's packed matmul (``mkldnn._linear_pointwise``, the kernel of its bf16 / fp16
    linears and of every convolution) only for reduced precision. oneDNN computes the same
    float32 products and, on its node, inductor also fuses a following GELU or residual add
    into the matmul. Measured side by side on a 2-core AMD EPYC (torch 2.14): 188 GFLOP/s
    for oneDNN against 153 for MKL at UniFormer-S's stage-3 MLP shape (1568 x 320 -> 1280),
    and the compiled UniFormer-S classifier 1.17x faster; outputs within 1e-6 of eager.

    The choice is made where inductor builds the packed nodes (its CPU ``mkldnn_fusion``
    device op), which only the pattern pass of compilation calls; outside compilation the
    block costs two attribute swaps. Where that private hook is missing (another torch
    release), inductor's choice stands, with one warning.

    Args:
        kind (str): ``'onednn'`` or ``'mkl'`` (inductor's default, nothing patched).
    """
    _check_linear(kind, 'linear_kernel')
    op = _linear_packing_hook() if kind == 'onednn' else None
    if op is None:
        yield
        return
    pack_weight, pack = op.pack_linear_weight, op.pack_linear

    # The private methods take ``is_lp_weight`` ("low precision weight") as their second
    # argument: True selects oneDNN's packing and matmul, whatever the dtype.
    def onednn_weight(self, graph, is_lp_weight, *args):  # type: ignore[no-untyped-def]
        return pack_weight(self, graph, True, *args)

    def onednn_linear(self, graph, is_lp_weight, *args):  # type: ignore[no-untyped-def]
        return pack(self, graph, True, *args)

    op.pack_linear_weight, op.pack_linear = onednn_weight, onednn_linear
    try:
        yield
    finally:
        op.pack_linear_weight, op.pack_linear = pack_weight, pack


def with_freezing(compiled: Callable[..., Any],
                  linear: str = 'onednn') -> Callable[..., Any]:
    """``compiled`` (a ``torch.compile`` result) called with inductor's ``freezing`` switched on
    in the global config, where dynamo reads it, and float32 linears packed for ``linear``
    (see :func:`linear_kernel`).

    Whether parameters become constants of the traced graph -- the precondition of every
    freezing pass (BatchNorm folding, oneDNN / MKL weight pre-packing) -- is decided by dynamo
    when it traces (at the first call, and at every recompilation) from the *global*
    ``torch._inductor.config.freezing``; ``torch.compile(..., options={'freezing': True})``
    patches that config for inductor only, after tracing. With the option alone the
    parameters stay graph inputs and nothing is frozen (torch 2.14: the compiled graph ran
    plain ``addmm`` and unfused convolutions). The patch is scoped to the call, so other
    compiled code in the process is unaffected.
    """

    _check_linear(linear, 'linear')

    @functools.wraps(compiled)
    def call(*args: Any, **kwargs: Any) -> Any:
        with torch._inductor.config.patch(freezing=True), linear_kernel(linear):
            return compiled(*args, **kwargs)

    return call


def own_call(module: nn.Module) -> Callable[..., Any]:
    """``module``'s call (hooks included) as a function whose code object is its own.

    Dynamo stores compiled graphs, and counts them against
    ``torch._dynamo.config.recompile_limit``, per code object. ``nn.Module.compile`` compiles
    ``Module._call_impl``, whose code every module shares, and graphs traced without a graph
    break do not tell module instances apart in that count: the compiled models of a process
    would share one budget of 8 graphs, and the ninth model or shape would silently run
    eagerly. A code object per compiled module gives each module its own budget.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return module._call_impl(*args, **kwargs)

    name = f'compiled_{type(module).__name__}_{id(module):x}'
    code = call.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, call.__globals__, name, call.__defaults__, call.__closure__)


def compile_model(model: nn.Module, freezing: bool = True, dynamic: Optional[bool] = False,
                  max_autotune: bool = False, linear: str = 'onednn') -> nn.Module:
    """Compile ``model`` in place for inference (inductor, weights frozen).

    Args:
        model (nn.Module): A built task model (classifier, recognizer, detector, segmentor,
            pose model; wrappers such as DDP are looked through) or a bare backbone, with its
            weights loaded.
        freezing (bool): Inductor weight freezing (constant folding, pre-packed weights).
            Defaults to True.
        dynamic (bool, optional): ``torch.compile``'s ``dynamic``. False (default) compiles
            each input shape statically. True (symbolic sizes from the start) and None
            (symbolic after a second shape) need ``freezing=False``: see the module notes.
        max_autotune (bool): Let inductor benchmark kernel choices while compiling (much
            longer compilation, sometimes faster kernels). Defaults to False.
        linear (str): Kernel of the frozen float32 linear layers: ``'onednn'`` (default,
            faster where measured, see :func:`linear_kernel`) or ``'mkl'`` (inductor's own
            choice). Used only with ``freezing``.

    Returns:
        nn.Module: ``model`` itself, in eval mode, with the parts of :data:`COMPILED_PARTS`
        (or the whole backbone) compiled; parameter names and ``state_dict`` are unchanged.

    Raises:
        ValueError: ``freezing=True`` with symbolic sizes (``dynamic`` True or None).
    """
    _check_linear(linear, 'linear')
    if freezing and dynamic is not False:
        raise ValueError(
            f'compile_model(freezing=True, dynamic={dynamic!r}): with frozen weights, '
            "inductor's symbolic-size graphs give oneDNN convolutions wrong strides on "
            'batch-1 inputs (torch 2.14: assert_size_stride fails at run time). Use '
            'dynamic=False (one static compilation per input shape, the default) or '
            'freezing=False.')
    from uniformer_mm.checkpoint.protocol import inner_model
    target = inner_model(model)
    options = inference_options(freezing, max_autotune)
    parts = [getattr(target, name) for name in COMPILED_PARTS
             if isinstance(getattr(target, name, None), nn.Module)]
    if not parts:  # a bare backbone
        parts = [target]
    model.eval()
    for part in parts:
        # Compiled in place, as nn.Module.compile does (it sets _compiled_call_impl, which
        # __call__ prefers): attribute paths, state_dict keys and hooks stay as they are
        # (torch.compile(module) would wrap the module in _orig_mod). See own_call for why
        # not nn.Module.compile itself, and with_freezing for the freezing switch.
        compiled = torch.compile(own_call(part), backend='inductor', dynamic=dynamic,
                                 options=options)
        part._compiled_call_impl = with_freezing(compiled, linear) if freezing else compiled
    return model
