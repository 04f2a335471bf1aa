#!/usr/bin/env python
"""Train any uniformer_mm config with its toolbox's runner (the config's default_scope decides).

Examples::

    python tools/train.py configs/cls/uniformer_s_in1k.py
    tools/dist_train.sh configs/det/mask_rcnn_uniformer_b.py 8 --amp
    python tools/train.py CONFIG --resume            # continue from the latest checkpoint
"""
import argparse
import os

from uniformer_mm import apis, cli


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (the same flags as the OpenMMLab toolboxes' train.py)."""
    parser = argparse.ArgumentParser(description='Train a UniFormer model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or (no value / "auto") from the '
                        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the LR by (total batch) / auto_scale_lr.base_batch_size')
    cli.add_launch_args(parser)
    return cli.parse_launch_args(parser, argv)


def main(argv=None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)
    import uniformer_mm  # noqa: F401  (runtime fixes; registries)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from uniformer_mm.checkpoint import CheckpointError

    # configuration mistakes: one clear line instead of a traceback from deep inside
    with cli.exit_on_error(*cli.USER_ERRORS):
        cfg = apis.load_config(args.config, args.cfg_options)
        cli.check_data_paths(cfg, ('train', 'val'))
        cli.check_config(cfg, ('train', 'val'))  # class count in one place; neck vs backbone
        if args.resume not in (None, 'auto') and '://' not in args.resume and \
                not os.path.isfile(args.resume):
            raise FileNotFoundError(f'--resume {args.resume!r}: no such checkpoint file (use '
                                    '--resume without a value to continue from the latest '
                                    'checkpoint of the work dir)')
        cfg.launcher = args.launcher
        cli.setup_cpu_distributed(cfg)
        cli.set_work_dir(cfg, args.work_dir, args.config)
        if args.amp:
            cli.enable_amp(cfg)
        cli.fall_back_to_fp32_without_accelerator(cfg, amp_requested=args.amp)
        cli.make_interruptible(cfg)  # a stop signal saves a checkpoint; resume mid-epoch
        cli.scale_log_interval(cfg)  # progress lines a few times per epoch on small data
        if args.auto_scale_lr:
            cli.enable_auto_scale_lr(cfg)
    if args.resume == 'auto':
        # The newest complete checkpoint (mmengine would take last_checkpoint blindly, which
        # may name a deleted or half-written file after a kill); none: a fresh start.
        with cli.exit_on_error(FileNotFoundError):
            latest = cli.find_resume_checkpoint(cfg.work_dir)
        cfg.resume, cfg.load_from = latest is not None, latest
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    # Only checkpoint errors while training: a refused, damaged or mismatched file (--resume,
    # load_from, a Pretrained init_cfg) has a message that says which and what to do; any
    # other error inside the loop is a bug whose traceback is needed.
    with cli.exit_on_error(CheckpointError):
        runner.train()


if __name__ == '__main__':
    main()
