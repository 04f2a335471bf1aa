"""Plumbing of the command-line tools (``tools/*.py``), one module per concern.

* :mod:`.errors` -- a user's mistake as one ``error: ...`` line (:func:`exit_on_error`).
* :mod:`.launch` -- the launch flags train.py and test.py share; CPU distributed runs.
* :mod:`.config` -- config editing behind the flags (``--amp``, ``--show-dir``, ``--tta``, ...).
* :mod:`.data` -- dataset paths checked before any toolbox code runs.
* :mod:`.checks` -- config checks: the class count set in one place, necks that fit the
  backbone.
* :mod:`.resume` -- which checkpoint ``--resume`` continues from.

Reading configs and building / loading models is :mod:`uniformer_mm.apis`. Importing this
package takes seconds (torch, mmengine): tools import it after parsing their arguments where
``--help`` should stay instant.
"""
import os

from .checks import check_config, scale_log_interval
from .config import (add_dump_results, enable_amp, enable_auto_scale_lr, enable_tta,
                     enable_visualization, fall_back_to_fp32_without_accelerator,
                     make_interruptible, set_work_dir)
from .data import check_data_paths
from .errors import USER_ERRORS, exit_on_error
from .launch import add_launch_args, parse_launch_args, setup_cpu_distributed
from .resume import find_resume_checkpoint

# mmpose imports albumentations (RTMPose's augmentations) when it is installed, and
# albumentations 1.4 then asks PyPI for a newer version on every import: a network request and
# a warning the user cannot act on (the stack pins 1.4.24). Our tools turn the check off.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

__all__ = ['USER_ERRORS', 'exit_on_error', 'add_launch_args', 'parse_launch_args',
           'setup_cpu_distributed', 'set_work_dir', 'enable_amp',
           'fall_back_to_fp32_without_accelerator', 'make_interruptible',
           'enable_auto_scale_lr', 'enable_visualization', 'enable_tta', 'add_dump_results',
           'check_data_paths', 'find_resume_checkpoint', 'check_config',
           'scale_log_interval']
