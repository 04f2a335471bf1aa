"""One training run per work dir: a second one is refused, naming the first.

Two runs started with the same ``--work-dir`` would interleave their checkpoints, logs and
``last_checkpoint``. The lock is an ``flock`` on ``<work_dir>/.train.lock`` held by the main
process (rank 0) for the whole run; the file records who holds it (pid, host, start time,
command) for the message. The kernel releases the lock when the process ends however it
ends (SIGKILL included), so a lock left by a dead run is never stale: the next run takes it
over. On a file system without ``flock`` support the run goes ahead with a warning.
"""
import contextlib
import errno
import json
import logging
import os
import os.path as osp
import socket
import sys
import time
from typing import Iterator, Optional

__all__ = ['WorkDirInUseError', 'work_dir_lock']

LOCK_NAME = '.train.lock'


class WorkDirInUseError(RuntimeError):
    """Another training run holds the work dir."""


def _rank(launcher: str) -> int:
    """This process's global rank before ``torch.distributed`` is set up (0 if alone)."""
    names = ['RANK', 'OMPI_COMM_WORLD_RANK']
    if launcher == 'slurm':
        names.insert(0, 'SLURM_PROCID')
    for name in names:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        info = json.loads(raw.decode('utf-8'))
        return (f"pid {info['pid']} on host {info['host']}, started "
                f"{info['started']}: {info['command']}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return 'a process that left no details'


@contextlib.contextmanager
def work_dir_lock(work_dir: str, launcher: str = 'none') -> Iterator[Optional[str]]:
    """Hold the work dir's training lock for the duration (main process only).

    Yields:
        str | None: The lock file (None on other ranks or without lock support).

    Raises:
        WorkDirInUseError: Another run holds it; the message names it and the fix.
    """
    import fcntl

    from mmengine.logging import print_log
    if _rank(launcher) != 0 or '://' in work_dir:
        yield None
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WorkDirInUseError(
                    f'work dir {work_dir!r} is in use by another training run ({_holder(fd)}). '
                    'Two runs would interleave their checkpoints and logs. Wait for it to end '
                    'or stop it, or train with another --work-dir.') from None
            print_log(f'cannot lock {path!r} ({e.strerror}): a second run in this work dir '
                      'would not be detected', logger='current', level=logging.WARNING)
            yield None
            return
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(dict(
            pid=os.getpid(), host=socket.gethostname(),
            started=time.strftime('%Y-%m-%d %H:%M:%S'),
            command=' '.join([osp.basename(sys.executable)] + sys.argv))).encode('utf-8'))
        yield path
    finally:
        os.close(fd)  # releases the lock
