"""The fast inference mode: inductor compilation with frozen weights.

``torch.compile`` with inductor's ``freezing`` treats the parameters of a model in eval mode as
constants: BatchNorms are folded into the preceding convolutions, convolution and linear
weights are pre-packed for oneDNN / MKL, and pointwise chains (LayerNorm, GELU, residual adds,
layer scale) are fused into generated C++ (CPU) or Triton (GPU) kernels. Outputs equal eager
ones to float32 rounding.

What is compiled is the backbone (and a neck, if any): the tensor-in / tensors-out part where
the time goes. The task heads, their post-processing and the data preprocessor stay eager,
so everything the toolboxes do with data samples is unchanged.

Costs and limits:

* The first forward of each new input shape compiles (seconds to a minute on CPU); later ones
  are fast. Varying sizes (detection, segmentation) are compiled once with symbolic sizes
  after the second distinct shape (``dynamic=None``, PyTorch's default).
* Freezing applies under ``torch.no_grad()`` (as every toolbox's test loop runs); weights
  changed after the first forward are not seen. It is an inference mode: never train a
  compiled model.
* Inductor compiles C++ on CPU: a C++ compiler (``g++``) must be installed.
"""
import functools
from typing import Any, Callable, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ['compile_model', 'inference_options', 'with_freezing', 'COMPILED_PARTS']

#: Submodules of a task model that are compiled, where present.
COMPILED_PARTS: Tuple[str, ...] = ('backbone', 'neck')


def inference_options(freezing: bool = True, max_autotune: bool = False) -> dict:
    """The inductor options of the inference mode (``torch.compile(..., options=...)``)."""
    return {'freezing': bool(freezing), 'max_autotune': bool(max_autotune)}


def with_freezing(compiled: Callable[..., Any]) -> Callable[..., Any]:
    """``compiled`` (a ``torch.compile`` result) called with inductor's ``freezing`` switched on
    in the global config, where dynamo reads it.

    Whether parameters become constants of the traced graph -- the precondition of every
    freezing pass (BatchNorm folding, oneDNN / MKL weight pre-packing) -- is decided by dynamo
    when it traces (at the first call, and at every recompilation) from the *global*
    ``torch._inductor.config.freezing``; ``torch.compile(..., options={'freezing': True})``
    patches that config for inductor only, after tracing. With the option alone the
    parameters stay graph inputs and nothing is frozen (torch 2.14: the compiled graph ran
    plain ``addmm`` and unfused convolutions). The patch is scoped to the call, so other
    compiled code in the process is unaffected.
    """

    @functools.wraps(compiled)
    def call(*args: Any, **kwargs: Any) -> Any:
        with torch._inductor.config.patch(freezing=True):
            return compiled(*args, **kwargs)

    return call


def compile_model(model: nn.Module, freezing: bool = True, dynamic: Optional[bool] = None,
                  max_autotune: bool = False) -> nn.Module:
    """Compile ``model`` in place for inference (inductor, weights frozen).

    Args:
        model (nn.Module): A built task model (classifier, recognizer, detector, segmentor,
            pose model; wrappers such as DDP are looked through) or a bare backbone, with its
            weights loaded.
        freezing (bool): Inductor weight freezing (constant folding, pre-packed weights).
            Defaults to True.
        dynamic (bool, optional): ``torch.compile``'s ``dynamic``: None (default) compiles
            the first shape statically and recompiles with symbolic sizes when the shape
            changes; True starts symbolic; False recompiles for every shape.
        max_autotune (bool): Let inductor benchmark kernel choices while compiling (much
            longer compilation, sometimes faster kernels). Defaults to False.

    Returns:
        nn.Module: ``model`` itself, in eval mode, with the parts of :data:`COMPILED_PARTS`
        (or the whole backbone) compiled; parameter names and ``state_dict`` are unchanged.
    """
    from uniformer_mm.apis.inference import inner_model
    target = inner_model(model)
    options = inference_options(freezing, max_autotune)
    parts = [getattr(target, name) for name in COMPILED_PARTS
             if isinstance(getattr(target, name, None), nn.Module)]
    if not parts:  # a bare backbone
        parts = [target]
    model.eval()
    for part in parts:
        # nn.Module.compile compiles the module's call in place: attribute paths, state_dict
        # keys and hooks stay as they are (torch.compile(module) would wrap it in _orig_mod).
        part.compile(backend='inductor', dynamic=dynamic, options=options)
        if freezing:
            # nn.Module.compile stores torch.compile(module._call_impl) here; see with_freezing.
            part._compiled_call_impl = with_freezing(part._compiled_call_impl)
    return model
