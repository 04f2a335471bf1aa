"""Reading checkpoint files safely: ``torch.load(weights_only=True)`` plus a minimal allow-list.

A pickled checkpoint can run arbitrary code while it is read unless ``torch.load`` is restricted
to tensors and plain containers (``weights_only=True``). Official UniFormer releases pickle a
few non-tensor objects besides their weights, so exactly those are allowed here and nothing
else; ``weights_only=False`` is never used.
"""
import argparse
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, Dict, List, Union

import torch

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'official_checkpoint_globals', 'load_checkpoint_file'
]

PathLike = Union[str, 'os.PathLike[str]']


class CheckpointError(RuntimeError):
    """Base class of the errors raised while reading or loading a UniFormer checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """The file pickles an object outside the allow-list, so it is refused unread."""


class CorruptCheckpointError(CheckpointError):
    """The file is truncated, empty or not a PyTorch checkpoint at all."""


def official_checkpoint_globals() -> List[Any]:
    """The non-tensor globals that official UniFormer and OpenMMLab checkpoints pickle.

    * ``argparse.Namespace``: ``ckpt['args']`` of the DeiT-style ImageNet files
      (``uniformer_*_in1k.pth``) and of the timm ``CheckpointSaver`` token-labeling files.
    * numpy arrays, scalars and dtypes: mmcv 1.x runners (the mmdet 2.x / mmseg 0.x / mmpose
      0.x releases) store evaluation scores such as ``meta['hook_msgs']['best_score']`` as numpy
      floats, and mmengine runners store them in ``message_hub``.
    * ``mmengine.logging.HistoryBuffer`` (and a ``getattr`` restricted to its statistics
      methods): ``message_hub`` of checkpoints written by an mmengine ``Runner`` (fine-tuning
      from one's own runs); see :func:`uniformer_mm.compat.mmengine_checkpoint_globals`.

    SlowFast video files need nothing extra: their ``cfg`` is stored as a dumped YAML string,
    and ``meta['config']`` of mmcv 1.x files is a string as well. ``OrderedDict``, ``torch.Size``
    and tensors are allowed by torch itself.
    """
    # Imported here so that reading a plain file never needs the compat machinery at import.
    from uniformer_mm.compat import mmengine_checkpoint_globals
    return [argparse.Namespace, *mmengine_checkpoint_globals()]


_UNSUPPORTED_GLOBAL = re.compile(r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)')
_REASON = re.compile(r'WeightsUnpickler error:\s*(.+?)(?:\n\n|$)', re.S)
# Reasons of torch's weights-only unpickler that mean "an object outside the allow-list";
# the others (unknown opcode, overlong string, bad append, ...) mean a damaged stream.
_UNSAFE_MARKERS = ('GLOBAL', 'allowlisted', 'add_safe_globals', 'must be imported')


def _is_refusal(err: Exception) -> bool:
    match = _REASON.search(str(err))
    reason = match.group(1) if match else str(err)
    return any(marker in reason for marker in _UNSAFE_MARKERS)


def _refusal(filename: str, err: Exception) -> UnsafeCheckpointError:
    """Turn torch's weights-only refusal into an error that names the global and says why."""
    msg = str(err)
    match = _UNSUPPORTED_GLOBAL.search(msg)
    if match:
        what = f'the global {match.group(1)!r}'
    else:  # e.g. a disallowed REDUCE/BUILD target: keep torch's own reason
        reason = _REASON.search(msg)
        what = f'an object torch refuses ({(reason.group(1) if reason else msg).strip()})'
    # Entries are classes/functions or (replacement, 'module.name') pairs.
    names = {f'{g[1]} (restricted)' if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
             for g in official_checkpoint_globals()}
    # The numpy entries are a dozen dtype classes; one word says it.
    allowed = ', '.join(sorted({'numpy arrays/scalars' if n.startswith('numpy') else n
                                for n in names}))
    return UnsafeCheckpointError(
        f'Refusing to read {filename!r}: it pickles {what}. uniformer_mm reads checkpoints with '
        'torch.load(weights_only=True) so that opening a file can never execute code from it, '
        'and only allows the few objects that official UniFormer / OpenMMLab releases contain '
        f'({allowed}). If you trust this file, re-save its weights as plain tensors in a '
        'trusted environment, e.g. torch.save({"state_dict": ckpt["state_dict"]}, "clean.pth").')


def _corrupt(filename: str, err: Exception) -> CorruptCheckpointError:
    size = osp.getsize(filename) if osp.isfile(filename) else 0
    reason = str(err).splitlines()[0] if str(err) else 'no message'
    return CorruptCheckpointError(
        f'Cannot read checkpoint {filename!r} ({size} bytes): the file is truncated, corrupted '
        f'or not a PyTorch checkpoint ({type(err).__name__}: {reason}). '
        'Download it again and compare its size/checksum with the release.')


def _local_path(filename: str) -> str:
    """Resolve ``filename`` to a local file, downloading ``http(s)://`` URLs into torch's cache."""
    if filename.startswith(('http://', 'https://')):
        # Downloaded once into the torch hub cache, then read by the same safe loader as local
        # files (torch.hub.load_state_dict_from_url would not apply our allow-list).
        cache = osp.join(torch.hub.get_dir(), 'checkpoints')
        os.makedirs(cache, exist_ok=True)
        dst = osp.join(cache, osp.basename(filename.split('?')[0]))
        if not osp.isfile(dst):
            torch.hub.download_url_to_file(filename, dst, progress=True)
        return dst
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    return filename


def load_checkpoint_file(filename: PathLike,
                         map_location: Union[str, torch.device, Callable, None] = 'cpu'
                         ) -> Dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and the official-release allow-list.

    Args:
        filename (str | PathLike): A local path or an ``http(s)://`` URL (downloaded once into
            ``torch.hub.get_dir()/checkpoints``).
        map_location (str | torch.device | callable, optional): As in :func:`torch.load`.
            Defaults to ``'cpu'``.

    Returns:
        dict: The unpickled checkpoint, as stored (not unwrapped; see
        :func:`~uniformer_mm.checkpoint.unwrap_state_dict`).

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file pickles something outside
            :func:`official_checkpoint_globals`; the message names it.
        CorruptCheckpointError: The file is empty, truncated or not a checkpoint.
    """
    filename = _local_path(os.fspath(filename))
    try:
        with torch.serialization.safe_globals(official_checkpoint_globals()):
            ckpt = torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch wraps every failure of its weights-only unpickler in one message; only the
        # reasons that name a refused object are a refusal, the rest is a damaged stream.
        if 'Weights only load failed' in str(e) and _is_refusal(e):
            raise _refusal(filename, e) from None
        raise _corrupt(filename, e) from e
    except (RuntimeError, EOFError, KeyError, ValueError, zipfile.BadZipFile,
            UnicodeDecodeError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise _corrupt(filename, e) from e
    if not isinstance(ckpt, dict):
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} holds a {type(ckpt).__name__}, not a dict; expected a '
            "state_dict or a dict wrapping one ('model', 'state_dict', 'model_state')")
    return ckpt
