#!/usr/bin/env python
"""Parameters and FLOPs of any uniformer_mm config, counted with mmengine's analyzer.

Usage::

    python tools/analysis/get_flops.py configs/cls/uniformer_s_in1k.py
    python tools/analysis/get_flops.py configs/det/mask_rcnn_uniformer_s.py --shape 800 1280
    python tools/analysis/get_flops.py configs/video/uniformer_s_16x4_k400.py --shape 16 224 224

Counting convention (the one of fvcore, which the official UniFormer code used through
``FlopCountAnalysis`` for its ImageNet and video numbers): one fused multiply-add is one FLOP;
convolutions, linear layers and matrix products are counted, plus the normalisation layers,
upsampling and adaptive pooling that mmengine's default handles count; element-wise
operations (activations, residual additions, softmax) are not. The counter is mmengine's
:class:`~mmengine.analysis.FlopAnalyzer`, the class behind
:func:`mmengine.analysis.get_model_complexity_info`, with one handle added
(:mod:`uniformer_mm.utils.flops`, shared with the benchmark): the attention products inside
:func:`torch.nn.functional.scaled_dot_product_attention`, which mmengine does not know (it
would skip them with an "unsupported operator" warning, and undercount UniFormer-S at 224 by
~0.2 GFLOPs and video models by far more).

Input sizes (the paper's, unless ``--shape`` is given): classification the test crop of the
config (224, 384, or the light models' 128-224); detection 800x1280; segmentation 512x2048;
pose the codec input size; video ``clip_len x crop x crop`` of the test pipeline, reported per
view and multiplied by the test views (clips x crops), as the official tables do. Detectors
are counted as mmdet's dummy forward (which the paper used): box heads on 1000 proposals,
mask heads on 100 (see :func:`cap_cascade_mask_rois`).
"""
from __future__ import annotations  # the annotations name torch types, imported lazily

import argparse
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

if __name__ == '__main__':  # as a script: the shared --cfg-options flag from tools/
    import os.path as osp
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

__all__ = ['count_complexity', 'default_input_shape', 'build_for_counting',
           'cap_cascade_mask_rois', 'complexity_of_config', 'main']

#: Paper input sizes (H, W) of the dense tasks.
DENSE_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 2048)}
#: RoIs the mask head sees when detectors are counted (mmdet's dummy forward convention).
MASK_ROIS = 100


def count_complexity(model: nn.Module, inputs: Tuple[Any, ...]) -> dict:
    """FLOPs, activations and parameters of ``model(*inputs)``.

    What :func:`mmengine.analysis.get_model_complexity_info` computes, plus the
    scaled-dot-product-attention handle (:func:`uniformer_mm.utils.flops.flop_analyzer`).

    Args:
        model (nn.Module): The model, in the mode to count (normally ``eval()``).
        inputs (tuple): Positional inputs of ``model.forward``.

    Returns:
        dict: ``flops``, ``activations``, ``params`` (ints), ``unsupported_ops`` (op name ->
        count, ops that were skipped) and ``table`` (mmengine's per-module table, str).
    """
    from mmengine.analysis import ActivationAnalyzer, parameter_count
    from mmengine.analysis.print_helper import complexity_stats_table

    from uniformer_mm.utils.flops import flop_analyzer as make_flop_analyzer

    flop_analyzer = make_flop_analyzer(model, inputs)
    act_analyzer = ActivationAnalyzer(model, inputs)
    act_analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    flops = flop_analyzer.total()
    return dict(
        flops=int(flops),
        activations=int(act_analyzer.total()),
        params=int(parameter_count(model)['']),
        unsupported_ops=dict(flop_analyzer.unsupported_ops()),
        table=complexity_stats_table(flop_analyzer, activations=act_analyzer, max_depth=2))


def _test_pipeline(cfg: Any) -> list:
    """The test pipeline of a config (dataset pipelines, or the top-level variable)."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {}) if loader else {}
    while isinstance(dataset, dict) and 'dataset' in dataset and 'pipeline' not in dataset:
        dataset = dataset['dataset']
    return list(dataset.get('pipeline') or cfg.get('test_pipeline') or [])


def default_input_shape(cfg: Any) -> Tuple[Tuple[int, ...], int]:
    """The paper's input shape for a config and the number of test views it is reported for.

    Returns:
        tuple: ``(shape, views)``; ``shape`` is ``(H, W)`` for images and ``(T, H, W)`` for
        videos; ``views`` is clips x crops of the video test protocol (1 otherwise).
    """
    scope = cfg.get('default_scope')
    if scope in DENSE_SHAPES:
        return DENSE_SHAPES[scope], 1
    if scope == 'mmpose':
        width, height = cfg.model.head.decoder.input_size
        return (height, width), 1
    pipeline = _test_pipeline(cfg)
    crop, clip_len, views = None, None, 1
    for t in pipeline:
        if t['type'] in ('CenterCrop', 'ThreeCrop'):
            size = t['crop_size']
            crop = size if isinstance(size, int) else size[0]
            views *= 3 if t['type'] == 'ThreeCrop' else 1
        # mmaction2's samplers and uniformer_mm.DenseSampleFrames (the official dense sampling)
        elif t['type'].split('.')[-1] in ('SampleFrames', 'UniformSample', 'DenseSampleFrames'):
            clip_len = t['clip_len']
            views *= t.get('num_clips', 1)
    if scope == 'mmaction':
        if crop is None or clip_len is None:
            raise ValueError('cannot read the clip length / crop size from the test pipeline; '
                             'pass --shape T H W')
        return (clip_len, crop, crop), views
    return (crop or 224, crop or 224), 1


def cap_cascade_mask_rois(roi_head: nn.Module, cap: int = MASK_ROIS) -> None:
    """Make a cascade RoI head's tensor forward run its mask heads on ``cap`` RoIs, in place.

    The paper's detection FLOPs come from mmdet 2.x's dummy forward, which runs the box heads
    on all (1000) proposals but the mask head on the first 100 only, in every cascade stage.
    mmdet 3.x's ``StandardRoIHead.forward`` keeps that cap, ``CascadeRoIHead.forward`` does
    not (its three mask heads would then count ~1400 GFLOPs at 800x1280 that inference never
    spends). The remaining rows are zero-filled (not counted) so the head's bookkeeping holds.

    Args:
        roi_head (nn.Module): An mmdet cascade RoI head (``_mask_forward(stage, x, rois)``).
        cap (int): RoIs per forward.
    """
    import torch
    original = roi_head._mask_forward

    def capped(stage: int, x: Tuple[torch.Tensor, ...], rois: torch.Tensor) -> dict:
        results = original(stage, x, rois[:cap])
        preds = results['mask_preds']
        if rois.shape[0] > cap:
            filler = preds.new_zeros((rois.shape[0] - cap, *preds.shape[1:]))
            results = dict(results, mask_preds=torch.cat([preds, filler]))
        return results

    roi_head._mask_forward = capped


def _tensor_forward(model: nn.Module, data_samples: Optional[list] = None,
                    **kwargs: Any) -> nn.Module:
    """``model(inputs, data_samples, mode='tensor')`` as a one-input module for tracing
    (defined here so that importing this file, and ``--help``, need no torch)."""
    import torch.nn as nn

    class TensorForward(nn.Module):

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs: torch.Tensor) -> Any:
            return self.model(inputs, data_samples, mode='tensor', **kwargs)

    return TensorForward()


def build_for_counting(cfg: Any, shape: Sequence[int]) -> Tuple[nn.Module, Tuple[Any, ...]]:
    """Build the config's model (no pretrained loading, SyncBN -> BN, eval mode) and its input.

    Args:
        cfg (Config): A uniformer_mm config.
        shape (Sequence[int]): ``(H, W)``, or ``(T, H, W)`` for video configs.

    Returns:
        tuple: ``(module, inputs)`` with ``module(*inputs)`` running the model's tensor mode
        (backbone, neck and heads; no post-processing).
    """
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope

    from uniformer_mm.apis import build_model

    scope = cfg.get('default_scope')
    # Counting leaves the caller's default scope as it was (build_model sets the config's).
    with DefaultScope.overwrite_default_scope(scope):
        model = revert_sync_batchnorm(build_model(cfg)).eval()

    kwargs: dict = {}
    data_samples = None
    if scope == 'mmaction':
        if len(shape) != 3:
            raise ValueError(f'video configs need --shape T H W, got {tuple(shape)}')
        inputs = torch.rand(1, 1, 3, *shape)  # N, views, C, T, H, W
        kwargs['stage'] = 'head'
    else:
        if len(shape) != 2:
            raise ValueError(f'image configs need --shape H W, got {tuple(shape)}')
        inputs = torch.rand(1, 3, *shape)
        if scope == 'mmdet':
            from mmdet.structures import DetDataSample
            roi_head = getattr(model, 'roi_head', None)
            if getattr(roi_head, 'num_stages', 1) > 1 and getattr(roi_head, 'with_mask', False):
                cap_cascade_mask_rois(roi_head)
            size = tuple(shape)
            data_samples = [DetDataSample(metainfo=dict(
                img_shape=size, ori_shape=size, pad_shape=size, batch_input_shape=size,
                scale_factor=(1., 1.)))]
    return _tensor_forward(model, data_samples, **kwargs), (inputs, )


def complexity_of_config(config: str, shape: Optional[Sequence[int]] = None,
                         cfg_options: Optional[dict] = None) -> dict:
    """Count parameters and FLOPs of a config's model at the paper's (or a given) input size.

    Args:
        config (str): Config file.
        shape (Sequence[int], optional): ``(H, W)`` / ``(T, H, W)``; a single int means a
            square image (or, for videos, keeps the clip length). Defaults to the paper's.
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: :func:`count_complexity`'s result plus ``shape``, ``views`` and
        ``flops_all_views``.
    """
    import torch
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    default_shape, views = default_input_shape(cfg)
    if shape is None:
        shape = default_shape
    elif len(shape) == 1:
        shape = ((default_shape[0], ) if len(default_shape) == 3 else ()) + (shape[0], shape[0])
    module, inputs = build_for_counting(cfg, tuple(shape))
    with torch.no_grad():
        result = count_complexity(module, inputs)
    result.update(shape=tuple(shape), views=views, flops_all_views=result['flops'] * views)
    return result


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (plain argparse: ``--help`` imports neither torch nor mmengine)."""
    from _launch_flags import add_cfg_options
    parser = argparse.ArgumentParser(description='Count the parameters and FLOPs of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='input size: S (square), H W, or T H W for videos (default: the '
                        "paper's size for the task)")
    parser.add_argument('--table', action='store_true', help='print the per-module table')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2, 3):
        parser.error('--shape takes 1, 2 or 3 integers')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print the parameters and FLOPs of a config."""
    args = parse_args(argv)
    from uniformer_mm import cli  # after parsing: --help stays fast
    cli.quiet_known_messages()
    args.cfg_options = cli.parse_cfg_options(args.cfg_options)

    with cli.exit_on_error(FileNotFoundError, ValueError):  # a wrong path or --shape
        result = complexity_of_config(args.config, args.shape, args.cfg_options)
    if args.table:
        print(result['table'])
    shape = 'x'.join(str(s) for s in result['shape'])
    print(f'Config:     {args.config}')
    print(f'Input:      {shape}' + (' (T x H x W, one view)' if len(result['shape']) == 3 else ''))
    print(f"Params:     {result['params'] / 1e6:.2f} M")
    print(f"FLOPs:      {result['flops'] / 1e9:.2f} G (one multiply-add = one FLOP)")
    if result['views'] > 1:
        print(f"FLOPs x {result['views']} test views: {result['flops_all_views'] / 1e9:.1f} G")
    if result['unsupported_ops']:
        skipped = ', '.join(f'{k} x{v}' for k, v in sorted(result['unsupported_ops'].items()))
        print(f'Not counted (element-wise or unsupported): {skipped}')
    return result


if __name__ == '__main__':
    main()
