"""Launch flags shared by ``tools/train.py`` and ``tools/test.py``, and distributed runs on a
machine without CUDA (gloo, CPU DDP)."""
import argparse  # noqa: F401  (type hints)
import os
from typing import Any, Optional

import torch.nn as nn

from mmengine.config import Config, ConfigDict

__all__ = ['add_launch_args', 'parse_launch_args', 'setup_cpu_distributed']


def add_launch_args(parser: 'argparse.ArgumentParser') -> None:
    """Add the flags train.py and test.py share: --cfg-options, --launcher, --local-rank."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. '
                        'train_dataloader.batch_size=4)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: 'argparse.ArgumentParser',
                      argv: Optional[list] = None) -> 'argparse.Namespace':
    """Parse, and export ``LOCAL_RANK`` for launchers that pass it as a flag."""
    args = parser.parse_args(argv)
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
