"""``--resume`` without a path: the newest complete checkpoint of a work dir."""
import os
import os.path as osp
import re
from typing import Optional

__all__ = ['find_resume_checkpoint']

_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest *complete* checkpoint of a work dir, for ``--resume`` without a path.

    mmengine's own lookup trusts ``<work_dir>/last_checkpoint``. After a kill that is not
    always a complete file: ``CheckpointHook`` deletes the oldest checkpoint (beyond
    ``max_keep_ckpts``) *before* writing the new one and writes the new file in place, so a
    kill during the write leaves a truncated ``iter_N.pth``, and with ``max_keep_ckpts=1``
    ``last_checkpoint`` then names a deleted file. Here the candidates are the file named by
    ``last_checkpoint`` and every ``iter_*.pth`` / ``epoch_*.pth``, newest first (by
    modification time); the first one that is a complete zip archive (a torch checkpoint
    whose end-of-archive directory was written) wins. Skipped files are reported.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint to resume from; None if the work dir holds none.

    Raises:
        FileNotFoundError: Checkpoints exist but none is complete (resuming would silently
            start over); the message lists them.
    """
    import logging
    import zipfile

    from mmengine.logging import print_log

    if not osp.isdir(work_dir):
        return None
    candidates = [osp.join(work_dir, n) for n in os.listdir(work_dir) if _CKPT_NAME.match(n)]
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            named = f.read().strip() or None
    if named and named not in candidates:
        candidates.append(named)
    if not candidates:
        return None
    candidates.sort(key=lambda p: osp.getmtime(p) if osp.exists(p) else -1.0, reverse=True)
    skipped = []
    for path in candidates:
        if osp.isfile(path) and zipfile.is_zipfile(path):
            if skipped:
                print_log(f'--resume: skipping {"; ".join(skipped)}; resuming from {path}',
                          logger='current', level=logging.WARNING)
            return path
        skipped.append(f'{path} ({"incomplete" if osp.isfile(path) else "missing"})')
    raise FileNotFoundError(
        f'--resume: {work_dir!r} has checkpoints but none is complete: {"; ".join(skipped)}. '
        'Resume from a copy with --resume PATH, or delete them to start over.')
