"""``--resume``: which checkpoint a run continues from, checked before mmengine reads it."""
import contextlib
import logging
import os
import os.path as osp
import re
from typing import Any, Iterator, List, Optional

from ..checkpoint import CheckpointError

__all__ = ['find_resume_checkpoint', 'check_resume_file', 'explain_resume_failures',
           'ResumeError']

_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


class ResumeError(CheckpointError):
    """The checkpoint given to ``--resume`` cannot continue this config's training."""


def _read_pointer(pointer: str) -> Optional[str]:
    """The path ``last_checkpoint`` names; None (with a warning) if it holds no usable path."""
    from mmengine.logging import print_log
    with open(pointer, 'rb') as f:
        raw = f.read()
    try:
        named = raw.decode('utf-8').strip()
    except UnicodeDecodeError:
        named = None
    if named is not None and named and '\0' not in named and '\n' not in named:
        return named
    if raw.strip():
        print_log(f'--resume: {pointer!r} holds no valid path ({len(raw)} bytes that are not '
                  'a file name; damaged): ignored, looking at the checkpoint files instead',
                  logger='current', level=logging.WARNING)
    return None


def _problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from (None: a complete checkpoint)."""
    import zipfile

    from ..checkpoint.io import check_archive
    if not osp.exists(path):
        return 'missing'
    if not osp.isfile(path):
        return 'not a file'
    if not zipfile.is_zipfile(path):
        return 'incomplete'
    try:
        check_archive(path, verify_crc=True)
    except CheckpointError:
        return 'corrupted: CRC mismatch'
    return None


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest *complete* checkpoint of a work dir, for ``--resume`` without a path.

    mmengine's own lookup trusts ``<work_dir>/last_checkpoint``. After a kill with mmengine's
    ``CheckpointHook`` that is not always a complete file (it writes in place, and deletes the
    oldest checkpoint first; ``uniformer_mm.CheckpointHook``, which ``tools/train.py`` uses,
    writes atomically), and a file can be damaged later. Here the candidates are the file named
    by ``last_checkpoint`` (ignored, with a warning, if it holds garbage) and every
    ``iter_*.pth`` / ``epoch_*.pth``, newest first (by modification time); the first one that
    is a complete zip archive whose CRCs match wins. Skipped files are reported.

    When checkpoints exist but none is complete (a kill during the very first write), they
    are set aside (renamed ``<name>.incomplete``) with a warning and the run starts fresh:
    otherwise a requeued job would fail the same way forever.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint to resume from; None for a fresh start.
    """
    from mmengine.logging import print_log

    if not osp.isdir(work_dir):
        return None
    candidates = [osp.join(work_dir, n) for n in os.listdir(work_dir) if _CKPT_NAME.match(n)]
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = _read_pointer(pointer) if osp.isfile(pointer) else None
    if named and named not in candidates:
        candidates.append(named)
    if not candidates:
        return None
    candidates.sort(key=lambda p: osp.getmtime(p) if osp.exists(p) else -1.0, reverse=True)
    skipped: List[str] = []
    for path in candidates:
        problem = _problem(path)
        if problem is None:
            if skipped:
                print_log(f'--resume: skipping {"; ".join(skipped)}; resuming from {path}',
                          logger='current', level=logging.WARNING)
            return path
        skipped.append(f'{path} ({problem})')
    moved = []
    for path in candidates:
        if osp.isfile(path) and osp.dirname(osp.abspath(path)) == osp.abspath(work_dir):
            os.replace(path, path + '.incomplete')
            moved.append(osp.basename(path) + '.incomplete')
    print_log(f'--resume: {work_dir!r} has checkpoints but none is complete '
              f'({"; ".join(skipped)}): starting from scratch. The files were set aside as '
              f'{", ".join(moved) or "nothing (none was in the work dir)"}.',
              logger='current', level=logging.WARNING)
    return None


def check_resume_file(path: str) -> None:
    """Check a ``--resume PATH`` before training starts: a complete training checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: It is a directory or FIFO, damaged (incl. CRC), refused by the safe
            loader, or a weights file (official release, converted file: no training state),
            each named with the fix.
    """
    from ..checkpoint import load_checkpoint_file
    if '://' in path:
        return  # remote: mmengine reads it (through the same safe loaders)
    try:
        ckpt = load_checkpoint_file(path, verify_crc=True, mmap=True)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'--resume: {e} (use --resume without a value to continue '
                                'from the newest checkpoint of the work dir)') from None
    meta = ckpt.get('meta')
    # What mmengine's Runner.resume reads besides the weights.
    if not (isinstance(meta, dict) and 'iter' in meta and 'optimizer' in ckpt
            and 'message_hub' in ckpt):
        has = ', '.join(sorted(map(str, ckpt))[:6])
        raise ResumeError(
            f'--resume {path!r}: this is a weights file (keys: {has}), not a checkpoint written '
            'by training (no meta / optimizer / message_hub state to continue from). To start training from '
            f'these weights use --cfg-options load_from={path} (or the backbone\'s '
            f"init_cfg=dict(type='Pretrained', checkpoint='{path}')) without --resume.")


@contextlib.contextmanager
def explain_resume_failures(checkpoint: Optional[str], runner: Any) -> Iterator[None]:
    """Turn torch's optimizer errors while resuming ``checkpoint`` into a :class:`ResumeError`.

    mmengine restores the optimizer with ``Optimizer.load_state_dict``, whose ``ValueError``
    ("loaded state dict has a different number of parameter groups") names neither the file
    nor the setting behind it.
    """
    try:
        yield
    except ValueError as e:
        if checkpoint is None or 'parameter group' not in str(e):
            raise
        groups = _file_param_groups(checkpoint)
        try:
            built = len(runner.optim_wrapper.optimizer.param_groups)
        except AttributeError:
            built = '?'
        raise ResumeError(
            f'--resume {checkpoint!r}: its optimizer has {groups} parameter groups, the '
            f'config builds {built} ({e}). The optimizer settings changed since the checkpoint '
            'was written (optim_wrapper.paramwise_cfg, its constructor, layer decay, or the '
            'model). Resume with the config the run was started with, or start a new run from '
            f'its weights: --cfg-options load_from={checkpoint} without --resume.') from None


def _file_param_groups(checkpoint: str) -> Any:
    from ..checkpoint import load_checkpoint_file
    try:
        optim = load_checkpoint_file(checkpoint, mmap=True).get('optimizer', {})
        return len(optim['param_groups'])
    except Exception:  # noqa: BLE001  (only for the message)
        return '?'
