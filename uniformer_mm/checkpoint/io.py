"""Reading checkpoint files safely: ``torch.load(weights_only=True)`` plus a minimal allow-list.

A pickled checkpoint can run arbitrary code while it is read unless ``torch.load`` is restricted
to tensors and plain containers (``weights_only=True``). Official UniFormer releases pickle a
few non-tensor objects besides their weights, so exactly those are allowed here and nothing
else; ``weights_only=False`` is never used.
"""
import argparse
import hashlib
import importlib
import os
import os.path as osp
import pickle
import re
import stat
import zipfile
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import torch

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'official_checkpoint_globals', 'mmengine_checkpoint_globals', 'load_checkpoint_file',
    'explain_load_error', 'check_archive', 'url_cache_name', 'download_checkpoint'
]

PathLike = Union[str, 'os.PathLike[str]']


class CheckpointError(RuntimeError):
    """Base class of the errors raised while reading or loading a UniFormer checkpoint."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The file pickles an object outside the allow-list, so it is refused unread.

    Also a :class:`pickle.UnpicklingError`, which is what torch raises for the same refusal,
    so code catching torch's error keeps working.
    """


class CorruptCheckpointError(CheckpointError):
    """The file is truncated, empty or not a PyTorch checkpoint at all."""


def _numpy_globals() -> List[Any]:
    """The globals numpy needs to unpickle arrays and scalars of plain dtypes."""
    try:  # numpy >= 1.25 exposes the dtype classes; numpy 2 renamed numpy.core
        from numpy import dtypes
        dtype_classes = [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    except ImportError:  # pragma: no cover - older numpy
        dtype_classes = []
    # numpy 1.26 ships a ``numpy._core`` stub (for reading numpy-2 pickles) whose
    # ``multiarray`` is not an attribute until imported, so import the submodule explicitly.
    major = int(np.__version__.split('.')[0])
    multiarray = importlib.import_module(
        'numpy._core.multiarray' if major >= 2 else 'numpy.core.multiarray')
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to the statistics methods of ``HistoryBuffer``.

    A pickled ``HistoryBuffer`` refers to its statistics methods (``HistoryBuffer.min`` ...)
    as ``getattr(HistoryBuffer, 'min')``. Allowing the real ``builtins.getattr`` would let a
    crafted file reach any attribute of any allowed object, so the unpickler gets this
    function under that name instead.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # ``_statistics_methods`` gets the four built-in methods only when a first HistoryBuffer
    # is constructed, which has not happened yet in a process that reads a checkpoint before
    # logging anything (tools/test.py), so they are named here too.
    allowed = set(HistoryBuffer._statistics_methods) | {'min', 'max', 'current', 'mean'}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only the statistics '
        'methods of mmengine HistoryBuffer are allowed')


def mmengine_checkpoint_globals() -> List[Any]:
    """Exactly what an mmengine Runner checkpoint pickles besides tensors and containers.

    ``message_hub`` holds :class:`~mmengine.logging.HistoryBuffer` objects whose histories are
    numpy arrays and which name their statistics methods through ``getattr``; numpy scalars
    appear in logged runtime info.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), *_numpy_globals()]



def official_checkpoint_globals() -> List[Any]:
    """The non-tensor globals that official UniFormer and OpenMMLab checkpoints pickle.

    * ``argparse.Namespace``: ``ckpt['args']`` of the DeiT-style ImageNet files
      (``uniformer_*_in1k.pth``) and of the timm ``CheckpointSaver`` token-labeling files.
    * numpy arrays, scalars and dtypes: mmcv 1.x runners (the mmdet 2.x / mmseg 0.x / mmpose
      0.x releases) store evaluation scores such as ``meta['hook_msgs']['best_score']`` as numpy
      floats, and mmengine runners store them in ``message_hub``.
    * ``mmengine.logging.HistoryBuffer`` (and a ``getattr`` restricted to its statistics
      methods): ``message_hub`` of checkpoints written by an mmengine ``Runner`` (fine-tuning
      from one's own runs); see :func:`mmengine_checkpoint_globals`.

    SlowFast video files need nothing extra: their ``cfg`` is stored as a dumped YAML string,
    and ``meta['config']`` of mmcv 1.x files is a string as well. ``OrderedDict``, ``torch.Size``
    and tensors are allowed by torch itself.
    """
    return [argparse.Namespace, *mmengine_checkpoint_globals()]


_UNSUPPORTED_GLOBAL = re.compile(r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)')
_REASON = re.compile(r'WeightsUnpickler error:\s*(.+?)(?:\n\n|$)', re.S)
# Reasons of torch's weights-only unpickler that mean "an object outside the allow-list";
# the others (unknown opcode, overlong string, bad append, ...) mean a damaged stream.
# 'refusing getattr' is the restricted getattr of uniformer_mm.compat refusing an attribute.
_UNSAFE_MARKERS = ('GLOBAL', 'allowlisted', 'add_safe_globals', 'must be imported',
                   'refusing getattr')


def _is_refusal(err: Exception) -> bool:
    match = _REASON.search(str(err))
    reason = match.group(1) if match else str(err)
    return any(marker in reason for marker in _UNSAFE_MARKERS)


def _refusal(filename: str, err: BaseException,
             allowed_globals: Optional[List[Any]] = None) -> UnsafeCheckpointError:
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
             for g in (official_checkpoint_globals() if allowed_globals is None
                       else allowed_globals)}
    # The numpy entries are a dozen dtype classes; one word says it.
    allowed = ', '.join(sorted({'numpy arrays/scalars' if n.startswith('numpy') else n
                                for n in names}))
    return UnsafeCheckpointError(
        f'Refusing to read {filename!r}: it pickles {what}. uniformer_mm reads checkpoints with '
        'torch.load(weights_only=True) so that opening a file can never execute code from it, '
        'and only allows the few objects that official UniFormer / OpenMMLab releases contain '
        f'({allowed}). If you trust this file, re-save its weights as plain tensors in a '
        'trusted environment, e.g. torch.save({"state_dict": ckpt["state_dict"]}, "clean.pth").')


def _corrupt(filename: str, err: BaseException) -> CorruptCheckpointError:
    size = osp.getsize(filename) if osp.isfile(filename) else 0
    reason = str(err).splitlines()[0] if str(err) else 'no message'
    return CorruptCheckpointError(
        f'Cannot read checkpoint {filename!r} ({size} bytes): the file is truncated, corrupted '
        f'or not a PyTorch checkpoint ({type(err).__name__}: {reason}). '
        'Download it again and compare its size/checksum with the release.')


#: Exceptions of ``torch.load`` that mean a damaged or foreign file (besides refusals).
# IndexError: what the legacy unpickler raises on some foreign files (a text file renamed .pth).
_DAMAGE = (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, ValueError,
           zipfile.BadZipFile, UnicodeDecodeError, OSError, IndexError)


def explain_load_error(filename: str, err: BaseException,
                       allowed_globals: Optional[List[Any]] = None) -> Optional[CheckpointError]:
    """Turn an exception of ``torch.load(weights_only=True)`` into a clear checkpoint error.

    Shared by :func:`load_checkpoint_file` and the mmengine loaders wrapped by
    :mod:`uniformer_mm.compat` (``--resume``, ``load_from``), so that a refused or damaged
    file reads the same whichever way it was opened.

    Args:
        filename (str): The file (or URL) being read, for the message.
        err (BaseException): What ``torch.load`` raised.
        allowed_globals (list, optional): The allow-list the load ran with, named in the
            message of a refusal; defaults to :func:`official_checkpoint_globals`.

    Returns:
        CheckpointError | None: :class:`UnsafeCheckpointError` for an object outside the
        allow-list, :class:`CorruptCheckpointError` for a truncated / damaged / foreign file,
        None for anything else (a missing file, an interrupt, a bug), which callers re-raise.
    """
    if isinstance(err, CheckpointError):
        return err
    if isinstance(err, pickle.UnpicklingError) and 'Weights only load failed' in str(err):
        # torch wraps every failure of its weights-only unpickler in one message; only the
        # reasons that name a refused object are a refusal, the rest is a damaged stream.
        return (_refusal(filename, err, allowed_globals) if _is_refusal(err)
                else _corrupt(filename, err))
    if isinstance(err, FileNotFoundError) or not isinstance(err, _DAMAGE):
        return None
    return _corrupt(filename, err)


#: A name carrying the start of the file's sha256 (torch hub's ``name-<hex>.pth`` convention).
_HASH_IN_NAME = re.compile(r'-([a-f0-9]{6,})\.')


def url_cache_name(url: str) -> str:
    """The cache file name of a checkpoint URL: unique per whole URL.

    ``http://a/model.pth`` and ``http://b/model.pth`` are different files, so the name is the
    URL's file name with a digest of the whole URL before its extension
    (``model.3fa2c1d0e5b6a7c8.pth``); a hash in the original name (``resnet50-0676ba61.pth``)
    stays where torch hub's check looks for it.
    """
    base = osp.basename(url.split('?')[0].split('#')[0]) or 'checkpoint.pth'
    stem, ext = osp.splitext(base)
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return f'{stem}.{key}{ext}'


def download_checkpoint(url: str, model_dir: Optional[str] = None) -> str:
    """Download ``url`` once into ``model_dir`` (default ``torch.hub.get_dir()/checkpoints``)
    under :func:`url_cache_name`, verifying the sha256 prefix its file name carries, if any.

    Returns:
        str: The local file.
    """
    cache = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(cache, exist_ok=True)
    dst = osp.join(cache, url_cache_name(url))
    if osp.isfile(dst):
        return dst
    match = _HASH_IN_NAME.search(osp.basename(url.split('?')[0]))
    try:
        torch.hub.download_url_to_file(url, dst, hash_prefix=match.group(1) if match else None,
                                       progress=True)
    except RuntimeError as e:
        if 'invalid hash value' not in str(e):
            raise
        raise CorruptCheckpointError(
            f'the file downloaded from {url} does not match the sha256 prefix '
            f'{match.group(1)!r} in its name ({e}): the download is damaged or the file on the '
            'server was replaced. Nothing was cached; download it again, or ask the publisher '
            'for the right file.') from None
    return dst


def _not_a_file(filename: str) -> Exception:
    """The error for a checkpoint path that is not a regular file (or does not exist)."""
    try:
        mode = os.stat(filename).st_mode
    except FileNotFoundError:
        # An official release file named as released (the configs' pretrained/ files,
        # mmpretrain's pretrained=True): the fix is its download link.
        from uniformer_mm.apis.model_zoo import official_file_hint
        return FileNotFoundError(f'checkpoint file {filename!r} does not exist'
                                 f'{official_file_hint(filename)}')
    except OSError as e:
        return CorruptCheckpointError(f'cannot access checkpoint {filename!r}: {e.strerror}')
    kind = ('a directory' if stat.S_ISDIR(mode) else 'a FIFO (named pipe)' if stat.S_ISFIFO(mode)
            else 'a socket' if stat.S_ISSOCK(mode) else 'a device' if
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else 'not a regular file')
    hint = ('; give the .pth file inside it' if stat.S_ISDIR(mode) else
            '; give a checkpoint file (a FIFO would be read forever)')
    return CorruptCheckpointError(f'checkpoint {filename!r} is {kind}, not a checkpoint file'
                                  f'{hint}')


def _local_path(filename: str) -> str:
    """Resolve ``filename`` to a local file, downloading ``http(s)://`` URLs into torch's cache."""
    if filename.startswith(('http://', 'https://')):
        # Downloaded once into the torch hub cache, then read by the same safe loader as local
        # files (torch.hub.load_state_dict_from_url would not apply our allow-list).
        return download_checkpoint(filename)
    if not osp.isfile(filename):
        raise _not_a_file(filename)
    return filename


#: A zip entry of a torch checkpoint is stored uncompressed, so the data an archive declares is
#: about its size; a deflate "zip bomb" declares orders of magnitude more. Generous bound:
MAX_DECLARED_RATIO = 8
_DECLARED_SLACK = 64 << 20  # and 64 MB, for tiny files


def check_archive(filename: str, verify_crc: bool = False) -> None:
    """Refuse a zip checkpoint that declares far more data than the file holds, or (with
    ``verify_crc``) whose data does not match the archive's CRCs.

    Both run before anything is unpickled. The CRC check reads the whole file: it is done
    where a checkpoint is trusted for resuming training (a flipped byte in a tensor would
    otherwise load and resume silently). Legacy (non-zip) files are not checked here.

    Raises:
        CorruptCheckpointError: Naming the file, what is wrong and what to do.
    """
    if not zipfile.is_zipfile(filename):
        return
    size = osp.getsize(filename)
    try:
        with zipfile.ZipFile(filename) as zf:
            declared = sum(info.file_size for info in zf.infolist())
            bomb = declared > MAX_DECLARED_RATIO * size + _DECLARED_SLACK
            bad = zf.testzip() if verify_crc and not bomb else None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
        raise _corrupt(filename, e) from e
    if bomb:
        raise CorruptCheckpointError(
            f'Refusing to read {filename!r}: the {size / 2**20:.1f} MB archive declares '
            f'{declared / 2**30:.2f} GB of data (compressed entries; PyTorch writes '
            'checkpoints uncompressed), so reading it would inflate far beyond the file: a '
            'damaged or malicious file. Download the checkpoint again from its release.')
    if bad is not None:
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} is corrupted: the data of {bad!r} does not match its '
            'CRC (a flipped byte on disk or in transfer). Resume from an older checkpoint '
            '(--resume PATH) or copy/download the file again.')


def load_checkpoint_file(filename: PathLike,
                         map_location: Union[str, torch.device, Callable, None] = 'cpu',
                         verify_crc: bool = False, mmap: bool = False) -> Dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and the official-release allow-list.

    Args:
        filename (str | PathLike): A local path or an ``http(s)://`` URL (downloaded once into
            ``torch.hub.get_dir()/checkpoints``).
        map_location (str | torch.device | callable, optional): As in :func:`torch.load`.
            Defaults to ``'cpu'``.
        verify_crc (bool): Check the archive's CRCs first (reads the file twice; for
            checkpoints trusted for resuming). Defaults to False.
        mmap (bool): Map tensors instead of reading them (cheap look at a file's structure).

    Returns:
        dict: The unpickled checkpoint, as stored (not unwrapped; see
        :func:`~uniformer_mm.checkpoint.unwrap_state_dict`).

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file pickles something outside
            :func:`official_checkpoint_globals`; the message names it.
        CorruptCheckpointError: The file is empty, truncated, not a checkpoint (a directory,
            a FIFO ...), declares far more data than it holds, or fails ``verify_crc``.
    """
    filename = _local_path(os.fspath(filename))
    check_archive(filename, verify_crc=verify_crc)
    try:
        with torch.serialization.safe_globals(official_checkpoint_globals()):
            ckpt = torch.load(filename, map_location=map_location, weights_only=True,
                              mmap=mmap and zipfile.is_zipfile(filename))
    except Exception as e:  # noqa: BLE001  (classified below; anything else is re-raised)
        err = explain_load_error(filename, e)
        if err is None:
            raise
        # A refusal needs no chained traceback: the message names the refused global.
        raise err from (None if isinstance(err, UnsafeCheckpointError) else e)
    if not isinstance(ckpt, dict):
        raise CorruptCheckpointError(
            f'checkpoint {filename!r} holds a {type(ckpt).__name__}, not a dict; expected a '
            "state_dict or a dict wrapping one ('model', 'state_dict', 'model_state')")
    return ckpt
