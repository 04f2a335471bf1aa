"""Plumbing of the command-line tools (``tools/*.py``), one module per concern.

* :mod:`.errors` -- a user's mistake as one ``error: ...`` line (:func:`exit_on_error`).
* :mod:`.launch` -- the launch flags train.py and test.py share; CPU distributed runs.
* :mod:`.console` -- known third-party messages kept off the tools' console.
* :mod:`.config` -- config editing behind the flags (``--amp``, ``--show-dir``, ``--tta``, ...).
* :mod:`.data` -- dataset paths checked before any toolbox code runs.
* :mod:`.resume` -- which checkpoint ``--resume`` continues from, checked before reading.
* :mod:`.lock` -- one training run per work dir.
* :mod:`.checks` -- config checks: the class count set in one place, necks that fit the
  backbone.

Reading configs and building / loading models is :mod:`uniformer_mm.apis`. Importing this
package takes seconds (torch, mmengine): tools import it after parsing their arguments where
``--help`` should stay instant.
"""
import os

from .checks import check_config, scale_log_interval
from .config import (add_dump_results, check_train_cfg, enable_amp, enable_auto_scale_lr,
                     enable_tta, enable_visualization, fall_back_to_fp32_without_accelerator,
                     make_crash_safe, make_interruptible, set_work_dir)
from .console import quiet_known_messages
from .data import check_data_paths
from .errors import USER_ERRORS, exit_on_error
from .launch import apply_launch_args, parse_cfg_options, setup_cpu_distributed
from .lock import WorkDirInUseError, work_dir_lock
from .resume import (ResumeError, check_resume_file, explain_resume_failures,
                     find_resume_checkpoint)

# mmpose imports albumentations (RTMPose's augmentations) when it is installed, and
# albumentations 1.4 then asks PyPI for a newer version on every import: a network request and
# a warning the user cannot act on (the stack pins 1.4.24). Our tools turn the check off.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

__all__ = ['USER_ERRORS', 'exit_on_error', 'parse_cfg_options', 'apply_launch_args',
           'setup_cpu_distributed', 'set_work_dir', 'enable_amp',
           'fall_back_to_fp32_without_accelerator', 'make_interruptible', 'make_crash_safe',
           'check_train_cfg',
           'enable_auto_scale_lr', 'enable_visualization', 'enable_tta', 'add_dump_results',
           'check_data_paths', 'find_resume_checkpoint', 'check_resume_file',
           'explain_resume_failures', 'ResumeError', 'work_dir_lock', 'WorkDirInUseError',
           'quiet_known_messages', 'check_config', 'scale_log_interval']
