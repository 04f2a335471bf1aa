"""Hooks that stop a training run at a chosen iteration: ``PauseAtIterationHook`` parks it so
that it can be SIGKILLed there; ``SignalAtIterationHook`` sends it a stop signal (SIGTERM, as a
scheduler does before preempting a job). Fault points inside a checkpoint save
(:func:`install_save_faults`): a SIGKILL at a chosen step of the write, or a write that fails
as on a full disk.

Used by ``kill_resume.py`` only. A tiny model trains dozens of iterations per second, faster
than a watcher polling the log can react, so "kill at iteration K" would be a race. With
``UNIFORMER_MM_PAUSE_AT_ITER=K`` in the environment this hook, after iteration K (its optimizer
step and any checkpoint of that iteration are done), writes ``<work_dir>/paused_at_iter`` and
blocks; the watcher then sends SIGKILL to the whole process group. The run gets no chance to
clean up, exactly as with the kernel's OOM killer or a preempted job. Without the variable the
hook does nothing, so the same config is used for the reference and the resumed runs.
"""
import os
import os.path as osp
import shutil
import signal
import subprocess
import time
from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

ENV = 'UNIFORMER_MM_PAUSE_AT_ITER'
MARKER = 'paused_at_iter'


@HOOKS.register_module(force=True)
class PauseAtIterationHook(Hook):
    """Block after iteration ``$UNIFORMER_MM_PAUSE_AT_ITER`` (1-based) until killed."""

    # After the CheckpointHook (VERY_LOW): a checkpoint due at that iteration is written.
    priority = 'LOWEST'

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Park the process once the configured iteration has finished."""
        target = os.environ.get(ENV)
        if not target or runner.iter + 1 != int(target):
            return
        with open(osp.join(runner.work_dir, MARKER), 'w', encoding='utf-8') as f:
            f.write(str(runner.iter + 1))
        while True:  # the watcher's SIGKILL ends this; a safety limit avoids an orphan
            time.sleep(0.05)
            if time.time() - osp.getmtime(osp.join(runner.work_dir, MARKER)) > 600:
                raise SystemExit('PauseAtIterationHook: nobody killed this run in 10 minutes')


SIGNAL_ENV = 'UNIFORMER_MM_SIGNAL_AT_ITER'
SIGNAL_RANK_ENV = 'UNIFORMER_MM_SIGNAL_RANK'  # optional: only this rank gets the signal
SIGNAL_GROUP_ENV = 'UNIFORMER_MM_SIGNAL_GROUP'  # '1': the whole process group, as Slurm does
SIGNAL_DELAY_ENV = 'UNIFORMER_MM_SIGNAL_DELAY'  # seconds after iteration K (group mode only)


@HOOKS.register_module(force=True)
class SignalAtIterationHook(Hook):
    """Send this process ``$UNIFORMER_MM_SIGNAL_AT_ITER`` = ``K:NAME`` (e.g. ``6:SIGTERM``)
    after iteration K: a scheduler's stop signal at a chosen point, without a race. It runs
    before ``uniformer_mm.PreemptionCheckpointHook`` (LOWEST), which then sees the signal in
    the same iteration. With ``$UNIFORMER_MM_SIGNAL_RANK`` only that rank of a distributed run
    is signalled (the others must learn of it from the hook's all-reduce); with
    ``$UNIFORMER_MM_SIGNAL_GROUP=1`` the whole process group is (data-loader workers too, as a
    scheduler does; run the process in its own session)."""

    priority = 'VERY_LOW'

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Signal the process once the configured iteration has finished."""
        spec = os.environ.get(SIGNAL_ENV)
        if not spec:
            return
        at, name = spec.split(':')
        rank = os.environ.get(SIGNAL_RANK_ENV)
        if rank is not None and int(rank) != runner.rank:
            return
        if runner.iter + 1 != int(at):
            return
        if os.environ.get(SIGNAL_GROUP_ENV) == '1':  # data-loader workers included
            # From another process, as a scheduler or `kill -- -PGID` does: torch's workers
            # treat a SIGTERM from their parent (this process) differently from anyone
            # else's. Optionally delayed, to land while the next batches are being fetched
            # (e.g. while an iteration-based loop restarts its data loader).
            delay = float(os.environ.get(SIGNAL_DELAY_ENV, '0'))
            kill = shutil.which('kill') or '/bin/kill'  # procps kill: accepts -- -PGID
            subprocess.Popen(['sh', '-c', f'sleep {delay}; {kill} -s {name[3:]} -- '
                              f'-{os.getpgid(0)}'])
            if delay == 0:
                time.sleep(0.5)  # delivered before this iteration's hooks go on
        else:
            os.kill(os.getpid(), getattr(signal, name))


#: ``NAME:STAGE``: SIGKILL this process at STAGE of the write of checkpoint NAME
#: (``iter_3.pth``); see :data:`SAVE_STAGES`.
KILL_IN_SAVE_ENV = 'UNIFORMER_MM_KILL_IN_SAVE'
#: ``NAME:ERRNO``: the write of checkpoint NAME fails with that errno (28: disk full).
SAVE_FAILS_ENV = 'UNIFORMER_MM_SAVE_FAILS'
#: Where a kill can land in ``uniformer_mm.CheckpointHook``'s save of a checkpoint.
SAVE_STAGES = {
    'write': 'the checkpoint half written (its temporary file)',
    'commit': 'the checkpoint written and synced, not yet renamed',
    'renamed': 'the checkpoint renamed, last_checkpoint not yet updated',
    'pointer-write': 'last_checkpoint half written (its temporary file)',
    'pointer-done': 'last_checkpoint updated, older checkpoints not yet removed',
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


def install_save_faults() -> None:
    """Patch ``uniformer_mm.engine.checkpoint_hook`` per :data:`KILL_IN_SAVE_ENV` /
    :data:`SAVE_FAILS_ENV` (nothing without them)."""
    import errno as errno_mod

    from uniformer_mm.engine import checkpoint_hook as ch
    kill = os.environ.get(KILL_IN_SAVE_ENV)
    fail = os.environ.get(SAVE_FAILS_ENV)
    if fail:
        name, code = fail.rsplit(':', 1)
        runner_save = ch._runner_save

        def failing_save(runner: Any, out_dir: str, filename: str, **kwargs: Any) -> None:
            if filename.startswith(f'.{name}.tmp') or filename == name:
                raise OSError(int(code), os.strerror(int(code)), osp.join(out_dir, filename))
            runner_save(runner, out_dir, filename, **kwargs)

        ch._runner_save = failing_save
        assert errno_mod.errorcode.get(int(code))
    if not kill:
        return
    name, stage = kill.rsplit(':', 1)
    if stage not in SAVE_STAGES:
        raise ValueError(f'{KILL_IN_SAVE_ENV}: stage {stage!r} not in {list(SAVE_STAGES)}')
    sync_file, commit = ch._sync_file, ch._commit
    state = {'committed': None}

    def writing(tmp: str) -> str:
        """``'ckpt'`` / ``'pointer'`` if ``tmp`` is the temporary file of the targeted write."""
        base = osp.basename(tmp)
        if base.startswith(f'.{name}.tmp'):
            return 'ckpt'
        if base.startswith('.last_checkpoint.tmp') and state['committed'] == name:
            return 'pointer'
        return ''

    def patched_sync(tmp: str) -> None:
        what = writing(tmp)
        if (what, stage) in (('ckpt', 'write'), ('pointer', 'pointer-write')):
            with open(tmp, 'r+b') as f:  # what a kill in the middle of the write leaves
                f.truncate(max(1, osp.getsize(tmp) // 2))
            _die()
        sync_file(tmp)
        if what == 'ckpt' and stage == 'commit':
            _die()

    def patched_commit(tmp: str, path: str) -> None:
        commit(tmp, path)
        if osp.basename(path) == name:
            state['committed'] = name
            if stage == 'renamed':
                _die()
        elif osp.basename(path) == 'last_checkpoint' and state['committed'] == name:
            if stage == 'pointer-done':
                _die()

    ch._sync_file, ch._commit = patched_sync, patched_commit


install_save_faults()
