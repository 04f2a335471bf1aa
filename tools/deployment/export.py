#!/usr/bin/env python
"""Export a UniFormer model to ONNX (checked in onnxruntime) or TorchScript, against PyTorch.

What is exported (see uniformer_mm/deploy/export.py):
  * image classification configs (UniFormer, token labeling, light XXS/XS): input -> logits,
    with the head's evaluation rule;
  * video configs: one clip B x C x T x H x W -> logits (average over clips yourself);
  * detection / segmentation / pose configs (or --part backbone): the backbone alone,
    input -> the feature maps the neck takes.
The input is the normalised image/clip; the file's metadata has the mean, std and channel
order of the config's data preprocessor.

Batch, height and width (and time for videos) are dynamic unless --static. After exporting,
the file runs (onnxruntime, or torch.jit.load for TorchScript) on the export shape and on a
second shape with another batch and size, and the largest difference to PyTorch is printed;
the tool fails (exit code 1) if it exceeds --tolerance times the output scale. --format is
taken from the --out suffix (.onnx; .pt / .ts / .torchscript) unless given.

Examples::

    python tools/deployment/export.py configs/cls/uniformer_s_in1k.py uniformer_small_in1k.pth \\
        --out uniformer_s.onnx
    python tools/deployment/export.py configs/seg/fpn_uniformer_s.py fpn_s.pth \\
        --out backbone.onnx --shape 512 683
    python tools/deployment/export.py configs/video/uniformer_s_16x4_k400.py k400_s16.pth \\
        --out video.onnx --dynamo
    python tools/deployment/export.py configs/cls/uniformer_xxs_in1k_128.py xxs.pth \\
        --out xxs.pt
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple


#: --out suffixes that mean --format torchscript.
TORCHSCRIPT_SUFFIXES = ('.pt', '.ts', '.torchscript')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (parsed before the models are imported)."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Export a UniFormer model to ONNX or TorchScript and check it against PyTorch',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint: OpenMMLab 2.0 or official release file '
                        '(converted on the fly)')
    parser.add_argument('--out', required=True, help='output file (.onnx, or .pt / .ts / '
                        '.torchscript for TorchScript)')
    parser.add_argument('--format', choices=('onnx', 'torchscript'),
                        help='default: from the --out suffix')
    parser.add_argument('--part', choices=('auto', 'model', 'backbone'), default='auto',
                        help='auto: classifiers and recognizers whole, other models their '
                        'backbone; backbone: the backbone of any config')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input size H W (images) or T H W (videos); default: the '
                        'config\'s test crop (and clip length)')
    parser.add_argument('--batch', type=int, default=2,
                        help='batch of the example input (>= 2 for a dynamic batch axis)')
    parser.add_argument('--static', action='store_true',
                        help='fix batch and input size to the example input')
    parser.add_argument('--dynamo', action='store_true',
                        help='use the torch.export-based exporter (torch.onnx.export '
                        'dynamo=True) instead of the TorchScript one (dynamo=False, as mmdeploy); '
                        'same graph, minutes instead of seconds with dynamic shapes')
    parser.add_argument('--opset', type=int, help='ONNX opset (default: the exporter\'s)')
    parser.add_argument('--check-shape', type=int, nargs='+', action='append', metavar='N',
                        help='more input sizes to compare at (repeatable); default: a second '
                        'size with another batch for dynamic exports')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest accepted |exported - PyTorch| / output scale')
    parser.add_argument('--no-check', action='store_true', help='export only')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings (as tools/test.py)')
    args = parser.parse_args(argv)
    if args.format is None:
        suffix = osp.splitext(args.out)[1].lower()
        if suffix == '.onnx':
            args.format = 'onnx'
        elif suffix in TORCHSCRIPT_SUFFIXES:
            args.format = 'torchscript'
        else:
            parser.error(f'cannot tell the format from --out {args.out!r}: name it .onnx or '
                         f'{" / ".join(TORCHSCRIPT_SUFFIXES)}, or give --format')
    if args.format == 'torchscript' and (args.dynamo or args.opset):
        parser.error('--dynamo and --opset are ONNX options; TorchScript is traced '
                     '(torch.jit.trace)')
    if args.batch < 1:
        parser.error(f'--batch must be >= 1, got {args.batch}')
    return args


def other_shape(shape: Sequence[int]) -> Tuple[int, ...]:
    """A second input size that differs in every axis (sides not multiples of 32 or 224)."""
    *time, h, w = shape
    spatial = (h + 40, w - 24 if w >= 88 else w + 56)
    return tuple(t // 2 if t >= 8 else t + 2 for t in time) + spatial


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Export, then compare the exported file with PyTorch.

    Returns:
        list[dict]: Per checked input: shape, max_abs_diff, scale, relative.
    """
    args = parse_args(argv)
    import uniformer_mm  # noqa: F401  (runtime fixes; registries)
    from uniformer_mm import apis, cli
    cli.quiet_known_messages()
    from uniformer_mm.deploy import (check_onnx, example_inputs, export_model, export_spec,
                                     export_torchscript)
    from uniformer_mm.deploy.export import default_shape

    with cli.exit_on_error(*cli.USER_ERRORS):
        model = apis.init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
        spec = export_spec(model, args.part)
        shape = tuple(args.shape) if args.shape else default_shape(model.cfg, spec)
        inputs = example_inputs(spec, shape, batch=args.batch)
    dynamic = not args.static
    if dynamic and args.batch < 2 and args.format == 'onnx':
        print('note: a batch of 1 makes the batch axis static in torch.export; use --batch 2',
              file=sys.stderr)
    axes = ', '.join(n for n in spec.axis_names if n != 'channels')
    print(f'exporting the {spec.family} of {osp.basename(args.config)} '
          f'({"dynamic " + axes if dynamic else "static"}) at input {tuple(inputs.shape)} to '
          f'{args.out}')
    checks = []
    if not args.no_check:
        extra = [tuple(s) for s in args.check_shape or []]
        if dynamic and not extra:
            extra = [other_shape(shape)]
        checks = [inputs] + [example_inputs(spec, s, seed=1,
                                            batch=args.batch + 1 if dynamic else args.batch)
                             for s in extra]
    if args.format == 'onnx':
        export_model(spec, inputs, args.out, dynamic=dynamic, dynamo=args.dynamo,
                     opset=args.opset)
        report = check_onnx(spec, args.out, checks)
    else:
        report = export_torchscript(spec, inputs, args.out, check_inputs=checks)
    failed = False
    runtime = 'onnxruntime' if args.format == 'onnx' else 'TorchScript'
    for r in report:
        ok = r['relative'] <= args.tolerance
        failed |= not ok
        print(f'input {r["shape"]}: max |{runtime} - PyTorch| = {r["max_abs_diff"]:.3g} '
              f'(output scale {r["scale"]:.3g}, relative {r["relative"]:.3g}) '
              f'{"OK" if ok else "EXCEEDS --tolerance " + str(args.tolerance)}')
    if failed:
        sys.exit(1)
    return report


if __name__ == '__main__':
    main()
