"""Export UniFormer models to ONNX, and check the files with onnxruntime.

What deploys on its own:

* an mmpretrain classifier (UniFormer, token labeling, light): ``input -> logits`` with the
  head's *evaluation* rule (token labeling: ``fc(mean) + 0.5 * max_tokens(aux_fc)``; light:
  the pooled classifier only); ``softmax(logits)`` is mmpretrain's ``pred_score``;
* an mmaction2 recognizer: one clip ``B x C x T x H x W -> logits``; the toolbox's test-time
  averaging over clips/crops (the config's ``average_clips``) is left to the caller;
* the backbone alone (``part='backbone'``, the default for mmdet / mmseg / mmpose configs):
  ``input -> the maps of out_indices``, for downstream detectors and segmentors. Detection /
  segmentation heads with their post-processing belong to mmdeploy.

The input is the *normalised* tensor (what the config's data preprocessor produces); mean,
std and the channel order are written into the ONNX file's metadata (``metadata_props``).

Dynamic shapes: batch always; height and width for every 2D model; time, height and width
for video models. The window attention of the dense backbone pads each map to a multiple of
the window inside the graph, so any size >= 32 works.
"""
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = ['ExportSpec', 'export_spec', 'default_shape', 'example_inputs', 'export_model',
           'run_onnxruntime', 'check_onnx', 'max_difference', 'export_torchscript']

Tensor = torch.Tensor
FAMILIES = ('classifier', 'recognizer', 'backbone')
#: Smallest input side every UniFormer accepts (total stride 32).
MIN_SIZE = 32


def _flatten(outputs: Any) -> List[Tensor]:
    """Tensors of a (nested) tuple/list of outputs, in order."""
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, (tuple, list)):
        return [t for o in outputs for t in _flatten(o)]
    raise TypeError(f'cannot export an output of type {type(outputs).__name__}; the exported '
                    'part must return tensors')


class _Flat(nn.Module):
    """Runs ``fn(x)`` and returns its tensors as a flat tuple (what ONNX outputs are)."""

    def __init__(self, model: nn.Module, family: str) -> None:
        super().__init__()
        self.model = model
        self.family = family

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        m = self.model
        if self.family == 'classifier':
            # mmpretrain's tensor mode: head(extract_feat(x)), the head in eval mode (its
            # evaluation rule), before the softmax of predict().
            out = m(x, mode='tensor')
        elif self.family == 'recognizer':
            feats = m.backbone(x)
            if getattr(m, 'with_neck', False):
                feats, _ = m.neck(feats)
            out = m.cls_head(feats)
        else:
            out = m(x)
        return tuple(_flatten(out))


@dataclass
class ExportSpec:
    """What is exported and how its input may vary.

    Attributes:
        module (nn.Module): ``x -> tuple of tensors``, in eval mode.
        family (str): ``'classifier'``, ``'recognizer'`` or ``'backbone'``.
        ndim (int): 2 (images ``B x C x H x W``) or 3 (clips ``B x C x T x H x W``).
        in_channels (int): Input channels.
        output_names (list[str]): One name per output tensor.
        output_ranks (list[int]): Their numbers of dimensions.
        metadata (dict): Written into the ONNX file (preprocessing, family, outputs).
    """

    module: nn.Module
    family: str
    ndim: int
    in_channels: int
    output_names: List[str]
    output_ranks: List[int]
    metadata: Dict[str, str] = field(default_factory=dict)

    @property
    def axis_names(self) -> List[str]:
        """Names of the input axes: batch, channels, (time,) height, width."""
        return ['batch', 'channels'] + (['time'] if self.ndim == 3 else []) + ['height', 'width']


def _is_3d(backbone: nn.Module) -> bool:
    from uniformer_mm.models.backbones import UniFormer3D, UniFormerLight3D
    return isinstance(backbone, (UniFormer3D, UniFormerLight3D))


def _preprocess_meta(model: nn.Module) -> Dict[str, str]:
    """Mean / std / channel order of the model's data preprocessor, for the file's metadata."""
    dp = getattr(model, 'data_preprocessor', None)
    meta: Dict[str, str] = {}
    for key in ('mean', 'std'):
        value = getattr(dp, key, None)
        if isinstance(value, Tensor):
            meta[key] = json.dumps([round(float(v), 6) for v in value.flatten()])
    for key in ('to_rgb', '_channel_conversion', 'channel_conversion'):
        if hasattr(dp, key):
            meta['bgr_to_rgb'] = json.dumps(bool(getattr(dp, key)))
            break
    return meta


def export_spec(model: nn.Module, part: str = 'auto') -> ExportSpec:
    """Choose what of ``model`` is exported.

    Args:
        model (nn.Module): A built model: an mmpretrain classifier, an mmaction2 recognizer, a
            detector / segmentor / pose estimator with a UniFormer backbone, or a backbone.
        part (str): ``'auto'`` (classifier / recognizer whole, any other model's backbone),
            ``'model'`` (the whole classifier or recognizer) or ``'backbone'``.

    Returns:
        ExportSpec: The module to export (in eval mode) and its description.
    """
    from uniformer_mm.apis.inference import inner_model
    from uniformer_mm.models.backbones import UniFormer, UniFormer3D, UniFormerLight, \
        UniFormerLight3D
    if part not in ('auto', 'model', 'backbone'):
        raise ValueError(f"part must be 'auto', 'model' or 'backbone', got {part!r}")
    model = inner_model(model).eval()
    ours = (UniFormer, UniFormer3D, UniFormerLight, UniFormerLight3D)
    backbone = model if isinstance(model, ours) else getattr(model, 'backbone', None)
    if not isinstance(backbone, nn.Module):
        raise TypeError(f'{type(model).__name__} has no backbone; export_spec takes a built '
                        'uniformer_mm model (classifier, recognizer, detector, segmentor, pose '
                        'model) or a UniFormer backbone')
    # The toolbox whose model class this is or derives from (our TokenLabelClassifier is an
    # mmpretrain ImageClassifier).
    scopes = [c.__module__.split('.')[0] for c in type(model).__mro__]
    scope = next((s for s in scopes if s in ('mmpretrain', 'mmaction', 'mmdet', 'mmseg',
                                             'mmpose')), scopes[0])
    if scope == 'mmpretrain' and hasattr(model, 'head') and part != 'backbone':
        family = 'classifier'
    elif scope == 'mmaction' and hasattr(model, 'cls_head') and part != 'backbone':
        family = 'recognizer'
    elif part == 'model' and model is not backbone:
        raise ValueError(f'{type(model).__name__} ({scope}) is exported as its backbone only '
                         "(part='backbone'): its task heads and post-processing are mmdeploy's "
                         'to export')
    else:
        family = 'backbone'
    target = backbone if family == 'backbone' else model
    ndim = 3 if _is_3d(backbone) else 2
    meta = _preprocess_meta(model)
    meta.update(family=family, input='input: ' + ' x '.join(
        ['batch', 'channels'] + (['time'] if ndim == 3 else []) + ['height', 'width']) +
        ', normalised by the config\'s data preprocessor (mean/std here)')
    module = _Flat(target, family).eval()
    with torch.no_grad():  # the outputs' number and ranks
        probe = torch.zeros((1, int(backbone.in_channels)) + (4, ) * (ndim - 2) + (64, 64))
        ranks = [o.dim() for o in module(probe)]
    n_out = len(ranks)
    if family == 'backbone':
        indices = getattr(backbone, 'out_indices', None)
        if isinstance(indices, (tuple, list)) and len(indices) == n_out:
            names = [f'stage{i + 1}' for i in indices]
        else:  # the light backbones' classification mode: (pooled, cls_token)
            names = ['pooled', 'cls_token'] if n_out == 2 else [f'out{i}' for i in range(n_out)]
        meta['outputs'] = ', '.join(names)
    else:
        names = ['logits']
        meta['outputs'] = ('logits: the evaluation rule of the head before softmax'
                           + ('' if family == 'classifier' else
                              ' (one clip; average over clips as the config\'s average_clips)'))
    return ExportSpec(module, family, ndim, int(backbone.in_channels), names, ranks, meta)


def _pipeline_value(cfg: Any, types: Sequence[str], key: str) -> Any:
    """``key`` of the first transform of ``types`` in the config's test pipeline."""
    pipeline = cfg.get('test_pipeline') or cfg.get('test_dataloader', {}).get(
        'dataset', {}).get('pipeline', [])
    for t in pipeline or []:
        if str(t.get('type', '')).split('.')[-1] in types and key in t:
            return t[key]
    return None


def default_shape(cfg: Any, spec: ExportSpec) -> Tuple[int, ...]:
    """The input size a config tests at: ``(H, W)`` or ``(T, H, W)``.

    Classifiers and recognizers: the test pipeline's centre crop (and clip length); pose
    models: ``codec.input_size``; other dense models: 512 x 512 (any size works).
    """
    crop = _pipeline_value(cfg, ('CenterCrop', 'ThreeCrop', 'TenCrop'), 'crop_size')
    if isinstance(crop, int):
        hw = (crop, crop)
    elif isinstance(crop, (tuple, list)):
        hw = (int(crop[1]), int(crop[0]))  # (w, h) in both toolboxes
    elif cfg.get('codec', {}).get('input_size'):
        w, h = cfg.codec.input_size
        hw = (int(h), int(w))
    else:
        hw = (224, 224) if spec.family != 'backbone' else (512, 512)
    if spec.ndim == 2:
        return hw
    clip = _pipeline_value(cfg, ('SampleFrames', 'UniformSample', 'UniformSampleFrames'),
                           'clip_len')
    return (int(clip or 16), ) + hw


def example_inputs(spec: ExportSpec, shape: Sequence[int], batch: int = 2,
                   seed: int = 0) -> Tensor:
    """A reproducible normal input ``batch x C x shape``."""
    if len(shape) != spec.ndim:
        raise ValueError(f'a {spec.ndim}D {spec.family} takes shape '
                         f'{"(H, W)" if spec.ndim == 2 else "(T, H, W)"}, got {tuple(shape)}')
    if min(shape[-2:]) < MIN_SIZE:
        raise ValueError(f'height and width must be >= {MIN_SIZE} (total stride), got '
                         f'{tuple(shape)}')
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch, spec.in_channels) + tuple(int(s) for s in shape), generator=gen)


def _dynamic_shapes(spec: ExportSpec, dynamic: bool) -> Optional[tuple]:
    """``torch.export`` dynamic_shapes of the single input."""
    if not dynamic:
        return None
    from torch.export import Dim
    dims = {0: Dim('batch', min=1, max=4096)}
    if spec.ndim == 3:
        dims[2] = Dim('time', min=2, max=4096)
    dims[spec.ndim] = Dim('height', min=MIN_SIZE, max=16384)
    dims[spec.ndim + 1] = Dim('width', min=MIN_SIZE, max=16384)
    return (dims, )


def _dynamic_axes(spec: ExportSpec, dynamic: bool) -> Optional[dict]:
    """The TorchScript exporter's dynamic_axes: every axis but channels, inputs and outputs."""
    if not dynamic:
        return None
    axes = {'input': {i: n for i, n in enumerate(spec.axis_names) if n != 'channels'}}
    for name, rank in zip(spec.output_names, spec.output_ranks):
        axes[name] = {0: 'batch', **{d: f'{name}_{d}' for d in range(2, rank)}}
    return axes


def export_model(spec: ExportSpec, inputs: Tensor, out: str, dynamic: bool = True,
                 dynamo: bool = False, opset: Optional[int] = None) -> str:
    """Export ``spec.module`` traced at ``inputs`` to the ONNX file ``out``.

    Two exporters write the same graph (both are tested, with dynamic shapes, against
    onnxruntime):

    * ``dynamo=False`` (default): the TorchScript exporter (``torch.onnx.export(...,
      dynamo=False)``), the route mmdeploy takes. Sizes are traced symbolically, so the graph
      stays valid for other batches and sizes. It takes about a second for a tiny model.
    * ``dynamo=True``: ``torch.export`` plus onnxscript, PyTorch's newer exporter. It proves
      shape relations symbolically, which costs minutes on CPU for the window and light models.

    Args:
        spec (ExportSpec): From :func:`export_spec`.
        inputs (Tensor): Example input; use a batch of at least 2 and height != width for
            dynamic exports, so that no axis is mistaken for a constant or for another axis.
        out (str): Output path.
        dynamic (bool): Dynamic batch and spatial (and temporal) axes.
        dynamo (bool): Use the ``torch.export``-based exporter.
        opset (int, optional): ONNX opset (default: 17 for the TorchScript exporter, the
            dynamo exporter's own otherwise).

    Returns:
        str: ``out``.
    """
    import warnings
    module = spec.module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated, and the tracer that Python
        # checks of input sizes (the backbones' input validation) are not recorded. Whether
        # the graph generalises is proven by running it at other sizes (check_onnx).
        warnings.simplefilter('ignore', FutureWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        if not dynamo:
            torch.onnx.export(module, (inputs, ), out, dynamo=False, input_names=['input'],
                              output_names=spec.output_names, opset_version=opset or 17,
                              dynamic_axes=_dynamic_axes(spec, dynamic))
        else:
            program = torch.onnx.export(module, (inputs, ), dynamo=True,
                                        input_names=['input'],
                                        output_names=spec.output_names, opset_version=opset,
                                        dynamic_shapes=_dynamic_shapes(spec, dynamic),
                                        external_data=False, verbose=False)
            program.save(out, external_data=False)
    _write_metadata(out, spec)
    return out


def _write_metadata(path: str, spec: ExportSpec) -> None:
    import onnx
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    props.update(spec.metadata)
    onnx.helper.set_model_props(model, props)
    onnx.save(model, path)


def run_onnxruntime(path: str, inputs: Tensor) -> List[Tensor]:
    """Run an exported ONNX file in onnxruntime (CPU) on ``inputs``."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return [torch.from_numpy(o) for o in session.run(None, {name: inputs.numpy()})]


def max_difference(outs: Sequence[Tensor], refs: Sequence[Tensor]) -> Tuple[float, float]:
    """Max absolute difference over all outputs, and the largest reference magnitude."""
    if len(outs) != len(refs):
        raise AssertionError(f'{len(outs)} outputs, expected {len(refs)}')
    err = scale = 0.
    for o, r in zip(outs, refs):
        if tuple(o.shape) != tuple(r.shape):
            raise AssertionError(f'output shape {tuple(o.shape)}, PyTorch gives '
                                 f'{tuple(r.shape)}')
        err = max(err, (o.float() - r.float()).abs().max().item())
        scale = max(scale, r.abs().max().item())
    return err, scale


def export_torchscript(spec: ExportSpec, inputs: Tensor, out: str,
                       check_inputs: Sequence[Tensor] = ()
                       ) -> List[Dict[str, Union[float, tuple]]]:
    """Trace ``spec.module`` at ``inputs`` with :func:`torch.jit.trace`, save it to ``out``
    and, for ``check_inputs``, compare the saved archive with PyTorch.

    Sizes are read from tensors inside the models (window padding, token selection, the light
    models' token counts), so the traced graph serves other batches and sizes as the ONNX one
    does; a second size in ``check_inputs`` proves it. The export metadata (family, outputs,
    preprocessing) is stored in the archive as ``extra/uniformer_mm.json``
    (``torch.jit.load(out, _extra_files={'uniformer_mm.json': ''})``).

    The check reads back only the archive this call has just written: ``torch.jit.load`` runs
    an archive's code by design, so uniformer_mm offers no loader of TorchScript files.

    Returns:
        list[dict]: Per checked input, as :func:`check_onnx`.
    """
    import warnings
    with torch.no_grad(), warnings.catch_warnings():
        # Python-side input checks of the backbones are not recorded: see export_model.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        traced = torch.jit.trace(spec.module.eval(), (inputs, ), check_trace=False)
    torch.jit.save(traced, out, _extra_files={'uniformer_mm.json': json.dumps(spec.metadata)})
    if not check_inputs:
        return []
    saved = torch.jit.load(out, map_location='cpu')

    def run(x: Tensor) -> List[Tensor]:
        with torch.no_grad():
            return list(saved(x))
    return _compare(spec, run, check_inputs)


def _compare(spec: ExportSpec, run: Callable[[Tensor], List[Tensor]],
             inputs: Sequence[Tensor]) -> List[Dict[str, Union[float, tuple]]]:
    """Run the export (``run``) and the PyTorch module on each input; report differences."""
    report = []
    for x in inputs:
        with torch.no_grad():
            refs = list(spec.module(x))
        err, scale = max_difference(run(x), refs)
        report.append(dict(shape=tuple(x.shape), max_abs_diff=err, scale=scale,
                           relative=err / max(scale, 1e-12)))
    return report


def check_onnx(spec: ExportSpec, path: str,
               inputs: Sequence[Tensor]) -> List[Dict[str, Union[float, tuple]]]:
    """Run the exported file in onnxruntime and the PyTorch module on each input; report the
    differences.

    Returns:
        list[dict]: Per input: ``shape``, ``max_abs_diff``, ``scale`` (largest PyTorch output
        magnitude) and ``relative`` (their ratio).
    """
    return _compare(spec, lambda x: run_onnxruntime(path, x), inputs)
