"""Config editing behind the tools' flags (``--work-dir``, ``--amp``, ``--auto-scale-lr``,
``--show-dir``, ``--tta``, ``--out``) and the run settings every training gets (fp32 without
an accelerator, interruptible runs)."""
import logging
import os.path as osp
from copy import deepcopy
from typing import Optional

from mmengine.config import Config, ConfigDict

from ..apis.config import class_names, toolbox_of

__all__ = ['set_work_dir', 'enable_amp', 'fall_back_to_fp32_without_accelerator',
           'make_interruptible', 'make_crash_safe', 'check_train_cfg',
           'enable_auto_scale_lr', 'enable_visualization', 'enable_tta',
           'add_dump_results']


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str) -> None:
    """``--work-dir`` > ``work_dir`` in the file > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mmengine's ``AmpOptimWrapper`` (dynamic loss scale)."""
    if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        return
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def fall_back_to_fp32_without_accelerator(cfg: Config, amp_requested: bool = False) -> bool:
    """On a machine without GPU (or NPU/MLU/MUSA), train an AMP config in fp32.

    The paper's configs use mmengine's ``AmpOptimWrapper``, which asserts an accelerator as
    soon as it is built; without one, the config's mixed precision cannot run, but its fp32
    equivalent can (same optimizer, no loss scaling). A warning says so. An explicit ``--amp``
    on such a machine is refused instead, since the user asked for what cannot be done.

    Args:
        cfg (Config): The training config (changed in place).
        amp_requested (bool): ``--amp`` was given.

    Returns:
        bool: Whether the optimizer wrapper was switched to fp32.
    """
    from mmengine.device import get_device
    from mmengine.logging import print_log
    if cfg.get('optim_wrapper', {}).get('type') != 'AmpOptimWrapper' or get_device() != 'cpu':
        return False
    if amp_requested:
        raise ValueError('--amp needs a GPU (or NPU/MLU/MUSA) and this machine has none; '
                         'drop --amp to train in fp32')
    cfg.optim_wrapper.type = 'OptimWrapper'
    for key in ('loss_scale', 'dtype', 'use_fsdp'):  # AmpOptimWrapper-only arguments
        cfg.optim_wrapper.pop(key, None)
    print_log('no GPU found: this config trains with mixed precision (AmpOptimWrapper), '
              'which mmengine runs on an accelerator only; training in fp32 instead',
              logger='current', level=logging.WARNING)
    return True


def make_interruptible(cfg: Config) -> None:
    """Let a run stop on a signal without losing work, and resume exactly where it stopped.

    Epoch-based configs (mmengine's ``EpochBasedTrainLoop``, or ``by_epoch=True``) get
    :class:`~uniformer_mm.engine.EpochBasedTrainLoop` (same arguments; resumes mid-epoch), and
    every run gets :class:`~uniformer_mm.engine.PreemptionCheckpointHook` unless the config
    already has one.
    """
    train_cfg = cfg.get('train_cfg')
    if train_cfg is not None:
        loop = train_cfg.get('type')
        if loop == 'EpochBasedTrainLoop' or (loop is None and train_cfg.get('by_epoch')):
            cfg.train_cfg = ConfigDict({k: v for k, v in train_cfg.items()
                                        if k not in ('type', 'by_epoch', '_scope_')},
                                       type='uniformer_mm.EpochBasedTrainLoop')
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('PreemptionCheckpointHook') for h in hooks):
        cfg.custom_hooks = [*hooks, dict(type='uniformer_mm.PreemptionCheckpointHook')]


def make_crash_safe(cfg: Config) -> None:
    """Checkpoints that survive a kill at any moment, and a stop on a diverged loss.

    The config's checkpoint hook (mmengine's ``CheckpointHook``, what every toolbox's
    ``default_runtime`` uses) becomes :class:`~uniformer_mm.engine.CheckpointHook` (same
    arguments; atomic writes, old checkpoints removed only after the new one is complete),
    and every run gets :class:`~uniformer_mm.engine.NonFiniteLossHook` unless the config
    already has one. A checkpoint hook of another type is left alone.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if isinstance(hook, dict) and str(hook.get('type', '')).split('.')[-1] == 'CheckpointHook' \
            and not str(hook.get('type')).startswith('uniformer_mm.'):
        hook['type'] = 'uniformer_mm.CheckpointHook'
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('NonFiniteLossHook') for h in hooks):
        cfg.custom_hooks = [*hooks, dict(type='uniformer_mm.NonFiniteLossHook')]


def check_train_cfg(cfg: Config) -> None:
    """Refuse a training schedule that would end at once (``max_iters=-5`` trained nothing and
    exited 0).

    Raises:
        ValueError: Naming the setting, its value and the fix.
    """
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict):
        raise ValueError('the config has no train_cfg (e.g. train_cfg = dict(by_epoch=True, '
                         'max_epochs=300, val_interval=1)); it cannot be trained')
    for key in ('max_iters', 'max_epochs'):
        if key not in train_cfg:
            continue
        value = train_cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(
                f'train_cfg.{key}={value!r}: the length of training must be a positive '
                f'integer; fix the config or pass e.g. --cfg-options train_cfg.{key}=100')
    interval = train_cfg.get('val_interval', 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise ValueError(f'train_cfg.val_interval={interval!r}: must be a positive integer '
                         '(validate every N epochs / iterations)')


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr`` (the config must state its ``base_batch_size``)."""
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise ValueError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config '
            '(the total batch size its learning rate was tuned for)')
    cfg.auto_scale_lr.enable = True


def enable_visualization(cfg: Config, show_dir: str, interval: int = 1) -> None:
    """Make the toolbox's visualization hook write drawn predictions into ``show_dir``."""
    if cfg.get('default_scope') == 'mmaction':
        # mmaction2 1.2's VisualizationHook cannot draw NCTHW clips (and its default_runtime
        # has none); our hook draws the decoded video file with its top-5 classes instead.
        from ..engine import visualization  # noqa: F401  (registers the hook)
        # The hook reads the video file again, so the packed samples must carry its name.
        for step in cfg.test_dataloader.dataset.get('pipeline', []):
            if step.get('type', '').split('.')[-1] == 'PackActionInputs':
                keys = tuple(step.get('meta_keys', ('img_shape', 'img_key', 'video_id',
                                                    'timestamp')))
                step['meta_keys'] = keys + (('filename', ) if 'filename' not in keys else ())
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(
            type='uniformer_mm.VideoTopkVisualizationHook', out_dir=show_dir,
            interval=interval, classes=class_names(cfg))]
        return
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError('--show-dir needs default_hooks.visualization in the config '
                         "(every toolbox's default_runtime.py defines it)")
    scope = toolbox_of(cfg)
    if scope in ('mmdet', 'mmseg'):
        hook.draw = True
        hook.interval = interval
        cfg.visualizer.save_dir = show_dir
        if scope == 'mmdet':
            hook.test_out_dir = osp.abspath(show_dir)
    else:  # mmpretrain, mmpose
        hook.enable = True
        hook.out_dir = show_dir
        hook.interval = interval


def enable_tta(cfg: Config) -> None:
    """Wrap the model in the config's ``tta_model`` and use ``tta_pipeline`` for testing."""
    scope = toolbox_of(cfg)
    if scope not in ('mmdet', 'mmseg', 'mmpretrain'):
        raise ValueError(f'--tta is not available for {scope} (test-time augmentation in '
                         'mmpose/mmaction2 is set in the test pipeline / test_cfg)')
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError('--tta needs `tta_model` and `tta_pipeline` in the config')
    cfg.model = ConfigDict(**deepcopy(cfg.tta_model), module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def add_dump_results(cfg: Config, out: str) -> None:
    """``--out``: also save the raw predictions, in the form each toolbox's own test.py uses.

    mmseg writes one prediction PNG per image into the directory ``out`` (its ``IoUMetric``
    ``output_dir``); mmdet pickles COCO-style results (``DumpDetResults``); the other
    toolboxes pickle the data samples (mmengine ``DumpResults``).
    """
    scope = toolbox_of(cfg)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    if scope == 'mmseg':
        for ev in evaluators:
            ev['output_dir'] = out
            ev['keep_results'] = True
        return
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {out!r}: the results are pickled, use a .pkl file name '
                         '(mmseg configs take a directory for the prediction PNGs)')
    dump = dict(type='DumpDetResults' if scope == 'mmdet' else 'DumpResults',
                out_file_path=out)
    cfg.test_evaluator = [*evaluators, dump]
