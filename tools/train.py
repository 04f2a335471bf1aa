#!/usr/bin/env python
"""Train any uniformer_mm config with its toolbox's runner (the config's default_scope decides).

Examples::

    python tools/train.py configs/cls/uniformer_s_in1k.py
    tools/dist_train.sh configs/det/mask_rcnn_uniformer_b.py 8 --amp
    python tools/train.py CONFIG --resume            # continue from the latest checkpoint
"""
import argparse

# tools/_launch_flags.py: this script's folder is first on sys.path
from _launch_flags import add_launch_flags


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
    add_launch_flags(parser)  # --cfg-options, --launcher, --local-rank
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Build the runner from the config and train."""
    args = parse_args(argv)  # first: --help and argument errors need no heavy import
    from uniformer_mm import apis, cli
    cli.quiet_known_messages()

    # configuration mistakes: one clear line instead of a traceback from deep inside
    with cli.exit_on_error(*cli.USER_ERRORS):
        cli.apply_launch_args(args)
        cfg = apis.load_config(args.config, args.cfg_options)
        cli.check_train_cfg(cfg)
        cli.check_data_paths(cfg, ('train', 'val'))
        cli.check_config(cfg, ('train', 'val'))  # class count in one place; neck vs backbone
        cfg.launcher = args.launcher
        cli.setup_cpu_distributed(cfg)
        cli.set_work_dir(cfg, args.work_dir, args.config)
        if args.amp:
            cli.enable_amp(cfg)
        cli.fall_back_to_fp32_without_accelerator(cfg, amp_requested=args.amp)
        cli.make_interruptible(cfg)  # a stop signal saves a checkpoint; resume mid-epoch
        cli.make_crash_safe(cfg)  # atomic checkpoints; a diverged loss stops the run
        cli.scale_log_interval(cfg)  # progress lines a few times per epoch on small data
        if args.auto_scale_lr:
            cli.enable_auto_scale_lr(cfg)
    # One run per work dir (a second one would interleave checkpoints and logs).
    with cli.exit_on_error(cli.WorkDirInUseError), cli.work_dir_lock(cfg.work_dir,
                                                                     args.launcher):
        _train(cfg, args)


def _train(cfg, args: argparse.Namespace) -> None:
    """Resolve ``--resume``, build the runner and train (under the work dir's lock)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from uniformer_mm import cli
    from uniformer_mm.checkpoint import CheckpointError
    from uniformer_mm.data_errors import DataSampleError

    if args.resume == 'auto':
        # The newest complete checkpoint (mmengine would take last_checkpoint blindly, which
        # may name a deleted or half-written file after a kill); none: a fresh start.
        latest = cli.find_resume_checkpoint(cfg.work_dir)
        cfg.resume, cfg.load_from = latest is not None, latest
    elif args.resume is not None:
        # A directory, FIFO, damaged file or weights-only file: one line naming it and the fix.
        with cli.exit_on_error(FileNotFoundError, CheckpointError):
            cli.check_resume_file(args.resume)
        cfg.resume, cfg.load_from = True, args.resume
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    # Only checkpoint and data errors while training: a refused, damaged or mismatched file
    # (--resume, load_from, a Pretrained init_cfg), one that could not be written, a sample
    # that cannot be read; each message names the file and what to do. Any other error inside
    # the loop is a bug whose traceback is needed.
    with cli.exit_on_error(CheckpointError, DataSampleError), \
            cli.explain_resume_failures(cfg.get('load_from') if cfg.get('resume') else None,
                                        runner):
        runner.train()


if __name__ == '__main__':
    main()
