"""Shared logic of ``tools/train.py`` and ``tools/test.py`` for all five toolboxes.

The config's ``default_scope`` selects the toolbox; everything else is mmengine's Runner, so
the flags behave as in each toolbox's own scripts.
"""
import os
import os.path as osp
import re
from copy import deepcopy
from typing import Optional

from mmengine.config import Config, ConfigDict

from ..registry import TOOLBOXES, MissingToolboxError, require_toolbox

__all__ = ['load_config', 'toolbox_of', 'set_work_dir', 'enable_amp', 'enable_auto_scale_lr',
           'enable_visualization', 'enable_tta']

# default_scope -> import name of the toolbox (they coincide for the five toolboxes)
_SCOPES = {'mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction'}


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, turning the usual failures into errors that say what to do.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MissingToolboxError: The config inherits from, or runs under, a toolbox that is not
            installed.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file {path!r} does not exist (working directory: {os.getcwd()}); '
            'configs live in configs/{cls,det,seg,pose,video}/')
    # `_base_ = 'mmdet::...'` needs the toolbox installed before mmengine can resolve it.
    with open(path, encoding='utf-8') as f:
        for scope in sorted(set(re.findall(r'[\'"](mm[a-z]+)::', f.read()))):
            if scope in _SCOPES:
                require_toolbox(scope, f'config {path!r} (it inherits from {scope}::)')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope in _SCOPES:
        require_toolbox(scope, f"config {path!r} (default_scope='{scope}')")
    return cfg


def toolbox_of(cfg: Config) -> str:
    """The toolbox a config runs under (its ``default_scope``)."""
    scope = cfg.get('default_scope')
    if scope not in TOOLBOXES:
        raise MissingToolboxError(
            f'config default_scope={scope!r} is not one of the supported toolboxes '
            f'{sorted(TOOLBOXES)}; set default_scope in the config')
    return scope


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


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr`` (the config must state its ``base_batch_size``)."""
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise ValueError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config '
            '(the total batch size its learning rate was tuned for)')
    cfg.auto_scale_lr.enable = True


def enable_visualization(cfg: Config, show_dir: str, interval: int = 1) -> None:
    """Make the toolbox's visualization hook write drawn predictions into ``show_dir``."""
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
    else:  # mmpretrain, mmpose, mmaction
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
