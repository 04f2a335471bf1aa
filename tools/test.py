#!/usr/bin/env python
"""Test (evaluate) any uniformer_mm config with its toolbox's runner and metrics.

CHECKPOINT may be an OpenMMLab 2.0 checkpoint (trained with tools/train.py, or converted by
tools/model_converters/uniformer_official2mm.py) or an official UniFormer release file as
downloaded (ImageNet, token labeling, COCO Mask/Cascade R-CNN of mmdet 2.11, ADE20K of
mmseg 0.13 / semantic FPN, COCO pose of mmpose 0.16, SlowFast video): those are converted on
the fly. A checkpoint of another architecture than the config's is refused, naming both.

Examples::

    python tools/test.py configs/cls/uniformer_s_in1k.py uniformer_small_in1k.pth
    python tools/test.py CONFIG CHECKPOINT --show-dir vis/ --out results.pkl
    python tools/test.py CONFIG CHECKPOINT --compile   # fast CPU inference (inductor)
    tools/dist_test.sh configs/det/mask_rcnn_uniformer_b.py CHECKPOINT 8 --tta
"""
import argparse
import json
import os.path as osp

# tools/_launch_flags.py: this script's folder is first on sys.path
from _launch_flags import add_launch_flags


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (the flags of the OpenMMLab toolboxes' test.py)."""
    parser = argparse.ArgumentParser(description='Test (evaluate) a UniFormer model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file: OpenMMLab 2.0 or official release')
    parser.add_argument('--work-dir', help='the dir for logs and test_metrics.json (default: '
                        './work_dirs/<config name>)')
    parser.add_argument('--out', help='also save the predictions: a .pkl file (mmseg: a '
                        'directory of prediction PNGs)')
    parser.add_argument('--show-dir', help='write drawn predictions (boxes, masks, keypoints, '
                        'segmentation, labels) into this directory')
    parser.add_argument('--show-interval', type=int, default=1,
                        help='draw every n-th test sample (with --show-dir)')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation '
                        '(the config\'s tta_model / tta_pipeline; mmdet, mmseg, mmpretrain)')
    parser.add_argument('--compile', action='store_true', help='fast inference: compile the '
                        'backbone (and neck) with inductor and frozen weights; the first batch '
                        'of each input size compiles (see docs/deploy.md)')
    parser.add_argument('--default-malloc', action='store_true', help='on CPU, keep glibc\'s '
                        'allocator defaults; by default freed tensor memory is kept for reuse, '
                        'which spares every pass its page faults (see docs/deploy.md)')
    parser.add_argument('--src-labels', help='class order of the checkpoint\'s classifier '
                        'rows: a registered order (official_k400, mmaction2_sthv2, ...), a label '
                        'file (or several joined by ","), or "none" to keep the rows; default: '
                        'official files are in the official order of the config\'s dataset, '
                        'OpenMMLab files in their meta["label_order"] (docs/labels.md)')
    parser.add_argument('--dst-labels', help='class order of the test data (default: the '
                        'config\'s label_order)')
    add_launch_flags(parser)  # --cfg-options, --launcher, --local-rank
    return parser.parse_args(argv)


def _trained_with_ema(cfg, checkpoint: str) -> bool:
    """Whether ``checkpoint`` was saved by a run with an EMA hook and ``cfg`` has one too."""
    if not any(str(h.get('type', '')).endswith('EMAHook') for h in cfg.get('custom_hooks', [])):
        return False
    from uniformer_mm.checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(checkpoint)
    return isinstance(ckpt, dict) and isinstance(ckpt.get('ema_state_dict'), dict)


def main(argv=None) -> dict:
    """Build the runner, load (converting if needed) the checkpoint and run the test loop."""
    args = parse_args(argv)  # first: --help and argument errors need no heavy import
    from uniformer_mm import cli
    cli.quiet_known_messages()
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from uniformer_mm import apis
    from uniformer_mm.checkpoint import CheckpointError
    from uniformer_mm.data_errors import DataSampleError

    malloc_note = None
    if not args.default_malloc:
        import torch
        if not torch.cuda.is_available():  # before any large allocation
            from uniformer_mm.deploy.allocator import keep_freed_cpu_memory
            malloc_note = keep_freed_cpu_memory()

    with cli.exit_on_error(*cli.USER_ERRORS):
        cli.apply_launch_args(args)
        # (A directory or FIFO is reported as such when the checkpoint is read below.)
        if not args.checkpoint.startswith(('http://', 'https://')) and not osp.exists(
                args.checkpoint):
            raise FileNotFoundError(f'checkpoint file {args.checkpoint!r} does not exist')
        cfg = apis.load_config(args.config, args.cfg_options)
        cli.check_data_paths(cfg, ('test', ))
        cli.check_config(cfg, ('test', ), training=False)  # class count; neck vs backbone
        scope = apis.toolbox_of(cfg)
        cfg.launcher = args.launcher
        cli.setup_cpu_distributed(cfg)
        cli.set_work_dir(cfg, args.work_dir, args.config)
        # The checkpoint is loaded below (with conversion and architecture checks), not by
        # the runner, whose loader knows neither official layouts nor weights_only files.
        cfg.load_from = None
        cfg.resume = False
        if _trained_with_ema(cfg, args.checkpoint):
            # mmengine swaps the weights when it saves: 'state_dict' holds the EMA weights and
            # 'ema_state_dict' the raw ones. The config's EMAHook decides which are tested
            # (raw for the DeiT-style recipe, both for the light and token-labeling ones, as
            # the official code evaluated), once the runner's loader has shown it the file:
            # its after_load_checkpoint puts the raw weights in the model, the EMA ones in its
            # copy. (The file was already checked by load_test_checkpoint below.)
            cfg.load_from = args.checkpoint
        if args.show_dir:
            cli.enable_visualization(cfg, args.show_dir, args.show_interval)
        if args.tta:
            cli.enable_tta(cfg)
        if args.out:
            cli.add_dump_results(cfg, args.out)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if malloc_note:
        runner.logger.info(f'{malloc_note} (--default-malloc: glibc\'s defaults)')
    # A refused or mismatched checkpoint (another architecture or toolbox, missing keys of an
    # official layout) is the user's to fix; the message names the file and the config.
    with cli.exit_on_error(CheckpointError, ValueError, KeyError):
        apis.load_test_checkpoint(runner.model, args.checkpoint, args.config, scope=scope,
                                  logger=runner.logger, src_labels=args.src_labels,
                                  dst_labels=args.dst_labels or cfg.get('label_order'))
    if args.compile:
        from uniformer_mm.deploy import compile_model
        compile_model(runner.model)
        runner.logger.info('backbone compiled (inductor, frozen weights): the first batch of '
                           'each input size compiles; after 8 sizes, new ones run eagerly '
                           '(docs/deploy.md)')
    # A sample that cannot be read (an empty image, a damaged video): one line naming it.
    with cli.exit_on_error(DataSampleError):
        metrics = runner.test()
    if runner.rank == 0:
        # One machine-readable place for the numbers (the log has them too).
        path = osp.join(cfg.work_dir, 'test_metrics.json')
        with open(path, 'w') as f:
            json.dump({k: float(v) if isinstance(v, (int, float)) else str(v)
                       for k, v in metrics.items()}, f, indent=1)
        runner.logger.info(f'metrics written to {path}')
    return metrics


if __name__ == '__main__':
    main()
