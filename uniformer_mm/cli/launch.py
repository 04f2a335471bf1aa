"""What the launch flags of ``tools/train.py`` and ``tools/test.py`` (``--cfg-options``,
``--launcher``, ``--local-rank``) do once parsed, and distributed runs on a machine without
CUDA (gloo, CPU DDP).

The tools declare these flags with plain ``argparse`` and import this module only after
parsing, so that ``--help`` and argument errors take no heavy import (torch, mmengine).
"""
import argparse
import os
from typing import Any, Optional, Sequence

import torch.nn as nn

from mmengine.config import Config, ConfigDict

__all__ = ['parse_cfg_options', 'apply_launch_args', 'setup_cpu_distributed']


def parse_cfg_options(options: Optional[Sequence[str]]) -> Optional[dict]:
    """``--cfg-options KEY=VALUE ...`` as a dict, read by mmengine's ``DictAction`` rules.

    Values are parsed as that action does (``a=1`` an int, ``a=[1,2]`` a list, ``a=x,y`` a
    tuple of strings, ...), so the flag behaves as in the toolboxes' own scripts.

    Args:
        options (Sequence[str], optional): The ``KEY=VALUE`` strings, as given.

    Returns:
        dict | None: The overrides; None when there are none.

    Raises:
        ValueError: An option without ``=``.
    """
    if not options:
        return None
    bad = [o for o in options if '=' not in o]
    if bad:
        raise ValueError(f'--cfg-options {bad[0]!r}: expected KEY=VALUE, e.g. '
                         'train_dataloader.batch_size=4')
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='options')(None, namespace, list(options))
    return namespace.options


def apply_launch_args(args: argparse.Namespace) -> argparse.Namespace:
    """After parsing: ``args.cfg_options`` becomes a dict (:func:`parse_cfg_options`) and
    ``--local-rank`` is exported as ``LOCAL_RANK`` (for launchers that pass it as a flag).

    Raises:
        ValueError: A malformed ``--cfg-options`` entry.
    """
    args.cfg_options = parse_cfg_options(args.cfg_options)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def setup_cpu_distributed(cfg: Config) -> bool:
    """Make ``--launcher pytorch`` work on a machine without CUDA (gloo, CPU DDP).

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and its DDP wrapper always
    passes ``device_ids=[LOCAL_RANK]``; both fail without a GPU. On such a machine this
    initialises the process group with gloo itself (mmengine then skips ``init_dist``), sets
    ``env_cfg.dist_cfg.backend='gloo'`` and wraps the model in a DDP without ``device_ids``.
    Nothing changes when CUDA is available or when not launched distributed.

    Returns:
        bool: Whether CPU distributed mode was set up.
    """
    import torch
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher} needs GPUs; without CUDA only --launcher '
                         'pytorch (tools/dist_train.sh / dist_test.sh, gloo on CPU) is supported')
    import datetime

    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    env_cfg.setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    if not dist.is_initialized():
        timeout = env_cfg.dist_cfg.get('timeout', 1800)
        dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=timeout))
    if 'CPUDistributedDataParallel' not in MODEL_WRAPPERS.module_dict:

        class CPUDistributedDataParallel(MMDistributedDataParallel):
            """mmengine's DDP wrapper for CPU modules (torch refuses ``device_ids`` there)."""

            def __init__(self, module: nn.Module, device_ids: Any = None, **kwargs: Any):
                super().__init__(module=module, device_ids=None, **kwargs)

        MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel)
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None or wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'CPUDistributedDataParallel'):
        wrapper = ConfigDict(wrapper or dict(broadcast_buffers=False))
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        wrapper.type = 'CPUDistributedDataParallel'
        cfg.model_wrapper_cfg = wrapper
    return True
