"""Hooks that stop a training run at a chosen iteration: ``PauseAtIterationHook`` parks it so
that it can be SIGKILLed there; ``SignalAtIterationHook`` sends it a stop signal (SIGTERM, as a
scheduler does before preempting a job).

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
import signal
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
            os.killpg(os.getpgid(0), getattr(signal, name))
        else:
            os.kill(os.getpid(), getattr(signal, name))
