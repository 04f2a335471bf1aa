"""What a benchmark runs: a model (:class:`ModelSpec`), how it runs (:class:`Variant`), one
measured configuration (:class:`Case`) and cases measured together (:class:`Group`);
:class:`PreparedCase` runs a case's forward pass."""
import contextlib
import dataclasses
import importlib.util
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = ['ModelSpec', 'Variant', 'Case', 'Group', 'make_input', 'PreparedCase']


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
        official_layout (bool): Run a uniformer_mm model in the memory layout of the official
            code: channels-first input to the stem and contiguous channels-first maps after
            every patch embedding (see :func:`use_official_layout`). Values are unchanged.
    """
    key: str
    label: str
    type: str
    kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)
    ours: bool = False
    weights_from: Optional[str] = None
    attention: str = 'sdpa'
    official_layout: bool = False

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
        freezing (bool): With ``compile='inductor'``: the inference mode of
            :func:`uniformer_mm.deploy.compile_model` (inductor weight freezing).
        runtime (str): ``'torch'``, or ``'onnxruntime'``: the model exported to ONNX with
            dynamic shapes (:mod:`uniformer_mm.deploy`, the default TorchScript exporter) and
            run by onnxruntime's CPU provider with torch's thread count (fp32 only).
    """
    dtype: str = 'fp32'
    channels_last: bool = False
    compile: Optional[str] = None
    freezing: bool = False
    runtime: str = 'torch'

    def __post_init__(self) -> None:
        if self.dtype not in ('fp32', 'bf16'):
            raise ValueError(f"dtype must be 'fp32' or 'bf16' (autocast), got {self.dtype!r}")
        if self.freezing and self.compile != 'inductor':
            raise ValueError(f'freezing is an inductor option; got compile={self.compile!r}')
        if self.runtime not in ('torch', 'onnxruntime'):
            raise ValueError(f"runtime must be 'torch' or 'onnxruntime', got {self.runtime!r}")
        if self.runtime == 'onnxruntime' and (self.dtype != 'fp32' or self.compile
                                              or self.channels_last):
            raise ValueError('the onnxruntime runtime runs the fp32 exported graph: no '
                             'dtype, compile or channels_last variant')

    @property
    def is_reference(self) -> bool:
        """fp32, eager PyTorch, default memory format: the reference of the output checks."""
        return (self.dtype == 'fp32' and not self.channels_last and self.compile is None
                and self.runtime == 'torch')

    @property
    def tag(self) -> str:
        """Short text such as ``'bf16 +cl +inductor'``."""
        parts = [self.dtype]
        if self.channels_last:
            parts.append('+cl')
        if self.compile:
            parts.append(f'+{self.compile}' + (' freezing' if self.freezing else ''))
        if self.runtime != 'torch':
            parts.append(f'+{self.runtime}')
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
        profile (Sequence[str]): ``spec.key`` s whose reference case and fp32 compiled case
            are profiled (operator table and copy statistics kept in the report).
        note (str): Text shown under the heading.
        gemm_probe (tuple[int, int, int] | None): ``(M, K, N)`` of the matrix product that
            dominates the baseline model's FLOPs; this CPU's float32 rate at that shape is
            timed in the rounds next to the cases (a ceiling for every implementation calling
            the same kernels, see ``targets.py``).
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
    gemm_probe: Optional[Tuple[int, int, int]] = None


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
        if v.runtime == 'onnxruntime':
            self.fn = _onnxruntime_fn(model, x)
        elif v.compile:
            options = None
            if v.freezing:
                from uniformer_mm.deploy import inference_options
                options = inference_options(freezing=True)
            self.fn = torch.compile(model, fullgraph=True, backend=v.compile, options=options)
            if v.freezing:
                from uniformer_mm.deploy import with_freezing
                self.fn = with_freezing(self.fn)  # the option alone freezes nothing
        else:
            self.fn = model

    def __call__(self) -> Any:
        ctx = (torch.autocast('cpu', dtype=torch.bfloat16) if self.case.variant.dtype == 'bf16'
               else contextlib.nullcontext())
        with torch.no_grad(), ctx:
            return self.fn(self.x)


def _onnxruntime_fn(model: nn.Module, x: torch.Tensor):
    """Export ``model`` (a backbone) to ONNX with dynamic shapes, traced at ``x``, and return
    a function that runs it in onnxruntime (outputs as tensors, for the output checks)."""
    import os
    import tempfile

    import onnxruntime as ort

    from uniformer_mm.deploy import export_model, export_spec
    spec = export_spec(model, part='backbone')
    with tempfile.TemporaryDirectory(prefix='uniformer_mm_bench_') as tmp:
        path = os.path.join(tmp, 'model.onnx')
        export_model(spec, x, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        # Idle workers sleep instead of spinning (as OMP_WAIT_POLICY=PASSIVE does for torch):
        # a spinning pool would take a core from the case timed after this one.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name

    def run(inputs: torch.Tensor) -> List[torch.Tensor]:
        return [torch.from_numpy(o)
                for o in session.run(None, {name: inputs.contiguous().numpy()})]
    return run
