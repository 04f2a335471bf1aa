"""Crash-consistent checkpoints: a kill at any moment leaves a complete checkpoint to resume.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint beyond ``max_keep_ckpts``
*before* writing the new one, writes the new file in place (``LocalBackend.put`` opens the
final name for writing) and then ``last_checkpoint`` in place. A kill during the write (the
out-of-memory killer, a node failure, a scheduler without grace period) leaves a truncated
newest file; with ``max_keep_ckpts=1`` the previous one is already gone and the run's work is
lost.

:class:`CheckpointHook` (``uniformer_mm.CheckpointHook``; same arguments as mmengine's, which
``tools/train.py`` replaces by it in every config) orders the steps so that every moment is
safe:

1. the checkpoint is written to a temporary file in the same directory, flushed to disk
   (``fsync``) and renamed to its name (``os.replace``, atomic on POSIX), then the directory
   is synced: ``iter_N.pth`` either does not exist or is complete;
2. ``last_checkpoint`` is replaced the same way, after the file it names;
3. only then are the checkpoints beyond ``max_keep_ckpts`` removed (a new best checkpoint is
   likewise complete before the previous best is removed).

A kill leaves at most a stray temporary file (``.iter_N.pth.tmp<pid>``), which no resume
looks at and the next run removes. Remote ``out_dir`` (object stores, whose put is atomic)
keeps mmengine's write; the order of the steps is the same. A failed write (disk full, a
read-only work dir) raises :class:`CheckpointSaveError`, whose message names the file and the
fix; the checkpoints already written are untouched.
"""
import contextlib
import os
import os.path as osp
import re
from typing import Any, Callable, Iterator, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import print_log

from ..checkpoint import CheckpointError
from ..registry import HOOKS

__all__ = ['CheckpointHook', 'CheckpointSaveError', 'save_checkpoint_atomically',
           'write_last_checkpoint', 'write_atomically']

#: Temporary files of an interrupted write: ``.<name>.tmp<pid>``.
_TEMP = re.compile(r'^\..+\.tmp\d+$')


class CheckpointSaveError(CheckpointError):
    """A checkpoint (or ``last_checkpoint``) could not be written: disk full, read-only dir."""


def _temp_path(path: str) -> str:
    return osp.join(osp.dirname(path), f'.{osp.basename(path)}.tmp{os.getpid()}')


def _sync_file(path: str) -> None:
    """Flush a written file's data to disk (``fsync`` on any descriptor of the file does)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(tmp: str, path: str) -> None:
    """Give the complete ``tmp`` its final name, durably (the rename and the directory)."""
    os.replace(tmp, path)
    try:
        fd = os.open(osp.dirname(path) or '.', os.O_RDONLY)
    except OSError:  # e.g. a file system without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


def write_atomically(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` a temporary file next to ``path``, sync it and rename it to ``path``.

    Readers see either the old ``path`` (or none) or the complete new one, whatever moment the
    process is killed at. The temporary file is removed if writing fails.
    """
    tmp = _temp_path(path)
    try:
        write(tmp)
        _sync_file(tmp)
        _commit(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _save_error(path: str, err: OSError, what: str = 'checkpoint') -> CheckpointSaveError:
    folder = osp.dirname(path) or '.'
    reason = err.strerror or str(err)
    if err.errno in (28, 122):  # ENOSPC, EDQUOT
        fix = (f'free space on the disk of {folder!r} (or raise the quota), or train with '
               '--work-dir on another disk')
    elif err.errno in (13, 30, 1):  # EACCES, EROFS, EPERM
        fix = (f'make {folder!r} writable, or train with --work-dir pointing at a writable '
               'directory')
    else:
        fix = f'check {folder!r} (or train with another --work-dir)'
    return CheckpointSaveError(
        f'could not write the {what} {path!r}: {reason} (errno {err.errno}). Fix: {fix}. '
        'The checkpoints written before are untouched; --resume continues from the newest.')


def _runner_save(runner: Any, out_dir: str, filename: str, **kwargs: Any) -> None:
    # The class's method: a save made while _atomic_runner_saves() is active is not
    # made atomic twice.
    type(runner).save_checkpoint(runner, out_dir, filename, **kwargs)


def save_checkpoint_atomically(runner: Any, out_dir: str, filename: str, **kwargs: Any) -> str:
    """``runner.save_checkpoint(out_dir, filename, **kwargs)``, atomically for local dirs.

    Only the main process writes (``Runner.save_checkpoint`` is ``master_only``).

    Returns:
        str: The checkpoint's path.

    Raises:
        CheckpointSaveError: The file could not be written (nothing was replaced).
    """
    path = osp.join(out_dir, filename)
    if not is_main_process():
        return path
    if '://' in str(out_dir):  # object storage: its put is atomic; no rename there
        _runner_save(runner, out_dir, filename, **kwargs)
        return path
    try:
        write_atomically(path, lambda tmp: _runner_save(runner, out_dir, osp.basename(tmp),
                                                        **kwargs))
    except OSError as e:
        raise _save_error(path, e) from e
    return path


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Point ``<work_dir>/last_checkpoint`` at ``checkpoint`` (atomically; main process)."""
    if not is_main_process():
        return
    pointer = osp.join(work_dir, 'last_checkpoint')

    def write(tmp: str) -> None:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(checkpoint)

    try:
        write_atomically(pointer, write)
    except OSError as e:
        raise _save_error(pointer, e, 'pointer file') from e


def remove_stale_temp_files(folder: str) -> List[str]:
    """Remove the temporary files interrupted writes left in ``folder``; returns them."""
    removed = []
    if '://' in str(folder) or not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        if _TEMP.match(name) and osp.isfile(osp.join(folder, name)):
            with contextlib.suppress(OSError):
                os.remove(osp.join(folder, name))
                removed.append(name)
    return removed


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-consistent writes.

    See the module docstring: the new checkpoint is complete on disk before
    ``last_checkpoint`` names it, and both before an old checkpoint is removed. Used by
    ``tools/train.py`` in place of mmengine's; elsewhere write
    ``default_hooks = dict(checkpoint=dict(type='uniformer_mm.CheckpointHook', ...))``.
    """

    def before_train(self, runner: Any) -> None:
        """mmengine's set-up, then remove what a killed write left behind."""
        super().before_train(runner)
        if is_main_process():
            removed = remove_stale_temp_files(self.out_dir)
            if removed:
                print_log(f'removed {len(removed)} incomplete checkpoint file(s) of an '
                          f'interrupted run: {", ".join(removed)}', logger='current')

    def _save_checkpoint_with_step(self, runner: Any, step: int, meta: dict) -> None:
        """Write ``filename_tmpl.format(step)``, then ``last_checkpoint``, then prune."""
        stale: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            # mmengine's bookkeeping, but the files leave the disk only after the new one is
            # complete, and the checkpoint records them as still kept: a run resumed from it
            # after a kill before the removal removes them (mmengine's before_train prunes
            # the recorded list down to max_keep_ckpts).
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           stale + list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        save_checkpoint_atomically(
            runner, self.out_dir, filename, file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_last_checkpoint(runner.work_dir, self.last_ckpt)
        for old in stale:
            _remove_checkpoint(self.file_backend,
                               self.file_backend.join_path(self.out_dir,
                                                           self.filename_tmpl.format(old)))
        if stale:
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

    def _save_best_checkpoint(self, runner: Any, metrics: dict) -> None:
        """mmengine's best-checkpoint logic with atomic writes; the previous best is removed
        after the new one is complete."""
        with _atomic_runner_saves(runner), self._removals_deferred():
            super()._save_best_checkpoint(runner, metrics)

    @contextlib.contextmanager
    def _removals_deferred(self) -> Iterator[None]:
        backend = self.file_backend
        removals: List[str] = []
        self.file_backend = _DeferRemovals(backend, removals)
        try:
            yield
        finally:
            self.file_backend = backend
        for path in removals:
            _remove_checkpoint(backend, path)


def _remove_checkpoint(backend: Any, path: str) -> None:
    if backend.isfile(path):
        backend.remove(path)
    elif backend.isdir(path):  # checkpoints saved by DeepSpeed are directories
        backend.rmtree(path)


class _DeferRemovals:
    """A file backend whose ``remove`` / ``rmtree`` only record the path (done later)."""

    def __init__(self, backend: Any, removals: List[str]) -> None:
        self._backend = backend
        self._removals = removals

    def remove(self, path: str) -> None:
        self._removals.append(path)

    rmtree = remove

    def isfile(self, path: str) -> bool:
        return path not in self._removals and self._backend.isfile(path)

    def isdir(self, path: str) -> bool:
        return path not in self._removals and self._backend.isdir(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@contextlib.contextmanager
def _atomic_runner_saves(runner: Any) -> Iterator[None]:
    """Make ``runner.save_checkpoint`` atomic for the duration (the best-checkpoint logic of
    mmengine calls it directly)."""

    def save(out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:
        if args:  # mmengine passes file_client_args positionally
            kwargs['file_client_args'] = args[0]
        save_checkpoint_atomically(runner, out_dir, filename, **kwargs)

    runner.save_checkpoint = save
    try:
        yield
    finally:
        del runner.save_checkpoint  # the class's method again


def newest_checkpoint(runner: Any) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names in the run's work dir (None if none)."""
    pointer = osp.join(runner.work_dir, 'last_checkpoint')
    try:
        with open(pointer, encoding='utf-8') as f:
            return f.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None
