"""Deployment: ONNX / ``torch.export`` export with onnxruntime parity checks, and the compiled
(inductor, frozen weights) inference mode.

* :func:`export_model` (ONNX) and :func:`export_torchscript` (``torch.jit.trace``) export
  the part of a built model that deploys on its own -- the image classifier (with its
  evaluation rule), the video recognizer (one clip), or the backbone alone for detectors,
  segmentors and pose models -- with dynamic batch and input sizes; :func:`check_onnx` and
  ``export_torchscript(..., check_inputs=...)`` run the file against PyTorch.
  ``tools/deployment/export.py`` is the command line.
* :func:`compile_model` turns a built model into its fast CPU inference form; ``tools/test.py
  --compile`` and the inference API use it.
* :func:`keep_freed_cpu_memory` stops glibc from returning freed tensor memory to the kernel
  after every pass (page-fault churn that costs CPU inference up to a third of its speed);
  ``tools/test.py`` applies it on CPU.

Nothing here imports onnx / onnxruntime until it is needed (``pip install uniformer_mm[deploy]``).
"""
from .allocator import keep_freed_cpu_memory
from .compile import compile_model, inference_options, linear_kernel, with_freezing
from .export import (ExportSpec, check_onnx, example_inputs, export_model, export_spec,
                     export_torchscript, run_onnxruntime)

__all__ = ['keep_freed_cpu_memory', 'compile_model', 'inference_options', 'linear_kernel',
           'with_freezing', 'ExportSpec', 'export_spec', 'example_inputs', 'export_model',
           'run_onnxruntime', 'check_onnx', 'export_torchscript']
