#!/usr/bin/env python
"""Print the versions of the whole uniformer_mm stack (attach the output to bug reports).

Usage::

    python tools/misc/collect_env.py
"""
import importlib
import platform
import sys
from collections import OrderedDict
from typing import Dict


def _version(module: str) -> str:
    """``module.__version__``, or why it is unavailable."""
    try:
        return getattr(importlib.import_module(module), '__version__', 'unknown')
    except Exception as e:  # any import failure is itself the information we want to show
        return f'not available ({type(e).__name__}: {e})'


def collect_env() -> Dict[str, str]:
    """Collect Python, torch, device, mmcv (with op status) and every toolbox's version."""
    info: Dict[str, str] = OrderedDict()
    info['Python'] = sys.version.replace('\n', '')
    info['Platform'] = platform.platform()
    info['CPU'] = platform.processor() or platform.machine()
    import torch
    info['PyTorch'] = torch.__version__
    info['PyTorch compiled CUDA'] = str(torch.version.cuda)
    info['CUDA available'] = str(torch.cuda.is_available())
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            info[f'GPU {i}'] = torch.cuda.get_device_name(i)
    info['CPU threads'] = str(torch.get_num_threads())
    info['TorchVision'] = _version('torchvision')
    info['NumPy'] = _version('numpy')
    info['OpenCV'] = _version('cv2')
    info['MMEngine'] = _version('mmengine')
    info['MMCV'] = _version('mmcv')
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
        info['MMCV ops'] = (f'compiled ({get_compiler_version()}, '
                            f'CUDA: {get_compiling_cuda_version()})')
    except Exception as e:
        info['MMCV ops'] = f'NOT compiled ({type(e).__name__}: {e})'
    for name, module in [('MMPretrain', 'mmpretrain'), ('MMDetection', 'mmdet'),
                         ('MMSegmentation', 'mmseg'), ('MMPose', 'mmpose'),
                         ('MMAction2', 'mmaction'), ('uniformer_mm', 'uniformer_mm')]:
        info[name] = _version(module)
    return info


def main() -> None:
    """Print :func:`collect_env` as ``name: value`` lines."""
    for key, value in collect_env().items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
