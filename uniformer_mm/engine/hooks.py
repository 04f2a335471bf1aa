"""Hooks registered as ``uniformer_mm.<Name>`` in every toolbox's hook registry.

:class:`ExactResumeHook` makes a run resumed with ``--resume`` after a kill reach exactly the
weights of the uninterrupted run. Why mmengine 0.10.7 alone does not:

* ``IterBasedTrainLoop`` resumes at the checkpoint's iteration and *replays* the data loader
  (``next()`` once per consumed batch, running the pipeline) so that the sampler order is
  right. ``EpochBasedTrainLoop`` instead restarts the interrupted epoch from its first batch,
  so a checkpoint written mid-epoch (``CheckpointHook(by_epoch=False)``) re-trains those
  batches. :class:`~uniformer_mm.engine.EpochBasedTrainLoop` (which ``tools/train.py`` uses for
  epoch-based configs) replays them as the iteration-based loop does.
* Runner checkpoints hold no random-number-generator state. After a resume, the global
  torch / numpy / python generators continue from their state after model building (plus
  the replayed pipelines), not from the state the killed run had at that iteration; dropout,
  drop-path, the random proposal samplers of mmdet and every random transform of a pipeline
  running in the main process (``num_workers=0``) then draw other numbers.

The hook removes the second difference by making the global generators a function of the
batch index: before the loop fetches batch ``i`` (including the replayed fetches of a resume)
all three are re-seeded from ``(seed, i)``. Everything random that happens while fetching and
training on batch ``i`` is then the same in both runs. Data-loader workers need nothing: mmengine
seeds each one from ``seed + worker_id`` when it starts, and the replay repeats their work.

:class:`PreemptionCheckpointHook` writes that mid-epoch checkpoint when a scheduler (or the
user) asks the job to stop, so that a preempted run loses nothing. :class:`NonFiniteLossHook`
stops a run whose loss became NaN or infinite. (Crash-consistent checkpoint writes:
:mod:`.checkpoint_hook`.)
"""
import os
import random
import signal
import threading
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from ..registry import HOOKS

__all__ = ['ExactResumeHook', 'PreemptionCheckpointHook', 'TrainingInterrupted',
           'NonFiniteLossHook', 'TrainingDiverged', 'seed_for_batch']


def seed_for_batch(seed: int, index: int) -> int:
    """A 32-bit seed for batch ``index`` of a run seeded with ``seed``.

    ``SeedSequence`` mixes both numbers, so neighbouring batches (and neighbouring seeds) get
    unrelated streams rather than ``seed + index`` overlapping between runs.
    """
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(1)[0])


def _seed_all(value: int) -> None:
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)  # also seeds every CUDA device


class _SeededBatches:
    """Wraps the loop's data iterator: re-seeds the global generators before each fetch."""

    def __init__(self, iterator: Iterator, seed: int, start: int = 0) -> None:
        self._iterator = iterator
        self._seed = seed
        self.fetched = start  # global index of the next batch

    def __iter__(self) -> '_SeededBatches':
        return self

    def __next__(self) -> Any:
        _seed_all(seed_for_batch(self._seed, self.fetched))
        self.fetched += 1
        return next(self._iterator)

    def __getattr__(self, name: str) -> Any:
        # Anything else (``_epoch``, ``_dataloader``) is the wrapped iterator's.
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` after a kill give the same weights as an uninterrupted run.

    Add it with ``custom_hooks = [dict(type='uniformer_mm.ExactResumeHook')]`` to a config
    trained by ``IterBasedTrainLoop`` or :class:`~uniformer_mm.engine.EpochBasedTrainLoop`
    (what ``tools/train.py`` uses for epoch-based configs). It re-seeds python's ``random``,
    numpy and torch before every batch from the run's seed and the batch's global index (see
    the module docstring for why), so a resumed run replays exactly the random numbers of the
    original one. The randomness is as good as with one seed per run; it is only a different
    sequence than without the hook.

    Args:
        seed (int, optional): Base seed; defaults to the runner's seed (``randomness.seed``,
            or the seed recorded in the checkpoint being resumed).
    """

    # Runs before every other before_train hook so that the replay of a resume (which
    # happens right after before_train) already goes through the wrapper.
    priority = 'VERY_HIGH'

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed

    def before_train(self, runner: Any) -> None:
        """Wrap the train loop's batch iterator(s)."""
        from .loops import EpochBasedTrainLoop
        loop = runner.train_loop
        seed = self.seed if self.seed is not None else runner.seed
        if isinstance(loop, EpochBasedTrainLoop):
            loop.batch_wrapper = lambda batches, start: _SeededBatches(batches, seed, start)
        elif isinstance(loop, IterBasedTrainLoop):
            if not isinstance(loop.dataloader_iterator, _SeededBatches):
                loop.dataloader_iterator = _SeededBatches(loop.dataloader_iterator, seed)
        else:
            print_log(
                f'ExactResumeHook does nothing with {type(loop).__name__}: mmengine\'s '
                'epoch-based loop restarts an interrupted epoch from its first batch on resume. '
                "Use train_cfg=dict(type='uniformer_mm.EpochBasedTrainLoop', ...) (tools/"
                "train.py does) or type='IterBasedTrainLoop'.", logger='current', level=30)


class TrainingInterrupted(SystemExit):
    """Raised by :class:`PreemptionCheckpointHook` once the checkpoint is written; exits with
    ``128 + signal number`` (the shell's convention for a death by that signal)."""

    def __init__(self, signum: int, checkpoint: Optional[str]) -> None:
        self.signum = signum
        self.checkpoint = checkpoint
        super().__init__(128 + signum)


@HOOKS.register_module()
class PreemptionCheckpointHook(Hook):
    """Save a checkpoint and stop when the job is told to stop, so that nothing is lost.

    Cluster schedulers warn before they kill: Slurm sends ``SIGTERM`` (or the signal of
    ``--signal``, e.g. ``USR1@90``) to a job that is preempted or reaches its time limit, and
    kills it after a grace period; ``Ctrl-C`` sends ``SIGINT``. On one of ``signals`` the hook
    lets the current iteration finish, writes ``<work_dir>/iter_<N>.pth`` (and
    ``last_checkpoint``; atomically, see :mod:`.checkpoint_hook`) and ends the run with exit
    code ``128 + signal`` (also when the checkpoint cannot be written, e.g. on a full disk:
    the error is logged and the checkpoints written before stay); ``--resume``
    continues from that iteration, mid-epoch included with
    :class:`~uniformer_mm.engine.EpochBasedTrainLoop`. A second ``SIGINT`` interrupts at once,
    for a user who does not want to wait for the checkpoint. In distributed training the ranks
    agree on the stop (one tiny all-reduce per iteration), since they may receive the signal at
    different iterations. Data-loader workers, which a scheduler signals too, keep serving
    batches until the main process has finished. ``tools/train.py`` adds this hook to every
    run.

    Args:
        signals (sequence of str): Signal names to handle. Defaults to ``SIGTERM``, ``SIGUSR1``
            and ``SIGINT``.
    """

    # After CheckpointHook (VERY_LOW): a checkpoint due at this iteration is already written.
    priority = 'LOWEST'

    def __init__(self, signals: Sequence[str] = ('SIGTERM', 'SIGUSR1', 'SIGINT')) -> None:
        for name in signals:
            if not isinstance(getattr(signal, name, None), signal.Signals):
                raise ValueError(f'PreemptionCheckpointHook: unknown signal {name!r}')
        self.signals = tuple(signals)
        self.received: Optional[int] = None
        self._previous: dict = {}
        self._restore_workers: Optional[Callable[[], None]] = None
        self._pid = os.getpid()
        # Installed now, while the Runner is built: mmengine builds the train loop (and with
        # it the data-loader workers of an iteration-based loop) before any before_* hook,
        # and the workers must inherit the handler (see _handle).
        self._install()

    def _install(self) -> None:
        """Install the signal handlers (main thread only, as Python requires); idempotent."""
        if self._previous:
            return
        if threading.current_thread() is not threading.main_thread():
            print_log('PreemptionCheckpointHook: not in the main thread, signals not handled',
                      logger='current', level=30)
            return
        for name in self.signals:
            sig = getattr(signal, name)
            self._previous[sig] = signal.signal(sig, self._handle)
        self._restore_workers = _keep_workers_serving(self._handle, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:
            # A forked data-loader worker: a scheduler signals every process of the job, and a
            # worker that died now would make the main process fail in the middle of the
            # iteration it is finishing. It keeps serving batches; the main process ends it.
            return
        if self.received == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, without a checkpoint
        self.received = signum
        print_log(f'received {signal.Signals(signum).name}: saving a checkpoint after this '
                  'iteration, then stopping', logger='current', level=30)

    def before_train(self, runner: Any) -> None:
        """Check that the loop can resume where the checkpoint will be taken."""
        self._install()
        from .loops import EpochBasedTrainLoop
        loop = runner.train_loop
        if not isinstance(loop, (EpochBasedTrainLoop, IterBasedTrainLoop)):
            print_log(f'PreemptionCheckpointHook: {type(loop).__name__} restarts an interrupted '
                      'epoch on resume; use uniformer_mm.EpochBasedTrainLoop to continue it',
                      logger='current', level=30)

    def after_train(self, runner: Any) -> None:
        """Restore the previous signal handlers."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self._restore_workers is not None:
            self._restore_workers()
            self._restore_workers = None

    def _stop_requested(self) -> Optional[int]:
        """The signal to stop for, agreed by every rank (the largest received)."""
        from mmengine.dist import all_reduce, get_world_size
        if get_world_size() == 1:
            return self.received
        flag = torch.tensor([self.received or 0], device=_dist_device())
        all_reduce(flag, op='max')
        return int(flag.item()) or None

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Checkpoint and stop if a stop signal arrived during this iteration."""
        signum = self._stop_requested()
        if signum is None:
            return
        from mmengine.dist import barrier

        from .checkpoint_hook import (CheckpointSaveError, newest_checkpoint,
                                      save_checkpoint_atomically, write_last_checkpoint)
        name = f'iter_{runner.iter + 1}.pth'
        stopped = (f'stopped by {signal.Signals(signum).name} after iteration '
                   f'{runner.iter + 1} (epoch {runner.epoch + 1})')
        path: Optional[str] = None
        try:
            # Atomic (a second, harder kill during the write leaves the older checkpoints)
            path = save_checkpoint_atomically(runner, runner.work_dir, name, by_epoch=False)
            write_last_checkpoint(runner.work_dir, path)
        except CheckpointSaveError as e:
            # Disk full, read-only dir: the stop still happens with the promised exit code,
            # and what was saved before stays (the message names it).
            previous = newest_checkpoint(runner)
            print_log(f'{stopped}, but {e} Newest checkpoint: {previous or "none"}.',
                      logger='current', level=40)
            path = None
        barrier()  # every rank waits for the file before any exits (launchers kill the rest)
        if path is not None:
            print_log(f'{stopped}; checkpoint: {path}. Continue with '
                      '`tools/train.py CONFIG --resume`.', logger='current', level=30)
        raise TrainingInterrupted(signum, path)


def _keep_workers_serving(handler: Callable, signals: Dict[int, Any]
                          ) -> Optional[Callable[[], None]]:
    """Let data-loader workers started from now on survive the stop signals.

    A scheduler signals every process of the job (``kill -- -PGID``, Slurm), the workers
    included. torch's worker start-up (``_set_worker_signal_handlers``) installs a C handler
    that re-raises ``SIGTERM`` from anyone but the worker's parent, so the worker dies and the
    main process fails in the middle of the iteration it is finishing (``DataLoader worker
    ... is killed by signal: Terminated``), most visibly when an iteration-based loop has just
    restarted its data loader. Workers that the main process forks after this call put
    ``handler`` back (it ignores the signal outside the main process); they still exit when
    the main process shuts them down, when it exits (multiprocessing then terminates them:
    a flag in shared memory, set at exit, tells them to go) and when it dies (torch's worker
    watchdog).

    Returns:
        callable | None: Restores torch's function; None if torch has no such function.
    """
    try:
        from torch.utils.data._utils import signal_handling
    except ImportError:  # pragma: no cover - other torch layouts
        return None
    original = getattr(signal_handling, '_set_worker_signal_handlers', None)
    if original is None or getattr(original, '_uniformer_mm', False):
        return None
    exiting = _main_exiting()

    def in_worker(signum: int, frame: Any) -> None:
        if exiting.value:
            # The main process is exiting and terminates its daemon children (multiprocessing
            # does that at exit, with SIGTERM): go, as torch's own handler would.
            os._exit(0)
        handler(signum, frame)

    def set_worker_signal_handlers(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        for sig in signals:
            signal.signal(sig, in_worker)

    set_worker_signal_handlers._uniformer_mm = True  # type: ignore[attr-defined]
    signal_handling._set_worker_signal_handlers = set_worker_signal_handlers

    def restore() -> None:
        signal_handling._set_worker_signal_handlers = original

    return restore


_EXITING: Any = None


def _main_exiting() -> Any:
    """A flag shared with forked workers (set in shared memory when this process exits)."""
    global _EXITING
    if _EXITING is None:
        import atexit
        import multiprocessing
        _EXITING = multiprocessing.RawValue('b', 0)
        # Runs before multiprocessing's own exit handler (atexit is last-in, first-out), which
        # terminates the daemon workers and then waits for them.
        atexit.register(lambda: setattr(_EXITING, 'value', 1))
    return _EXITING


class TrainingDiverged(SystemExit):
    """Raised by :class:`NonFiniteLossHook`: exits with status 1 and its one-line message."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop a run whose loss became NaN or infinite, naming the iteration.

    Without it a diverged run keeps training on NaN weights (and exits 0); its later
    checkpoints are useless. The check runs after every iteration on the logged total loss
    (``outputs['loss']``); in distributed training the ranks agree (one tiny all-reduce), so
    all stop together. ``tools/train.py`` adds this hook to every run.

    Raises:
        TrainingDiverged: ``error: the training loss is nan at iteration N ...`` (exit 1).
    """

    priority = 'VERY_HIGH'  # before the checkpoint of this iteration is written

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Check the iteration's loss."""
        from mmengine.dist import all_reduce, get_world_size
        loss = (outputs or {}).get('loss')
        if loss is None:
            return
        value = float(loss.detach().float().sum()) if isinstance(loss, torch.Tensor) \
            else float(loss)
        bad = not np.isfinite(value)
        if get_world_size() > 1:
            flag = torch.tensor([float(bad)], device=_dist_device())
            all_reduce(flag, op='max')
            bad = bool(flag.item())
        if not bad:
            return
        from .checkpoint_hook import newest_checkpoint
        last = newest_checkpoint(runner)
        raise TrainingDiverged(
            f'error: the training loss is {value} at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}); stopping (the weights are not finite from here on). Fix: '
            'lower the learning rate (optim_wrapper.optimizer.lr), add gradient clipping '
            '(optim_wrapper.clip_grad=dict(max_norm=...)) or check the data and '
            'drop_path_rate; then resume from the last good checkpoint '
            f'({last or "none was written"}) with --resume PATH, or start over.')


def _dist_device() -> torch.device:
    """The device collective ops use here (NCCL needs CUDA tensors, gloo CPU ones)."""
    import torch.distributed as dist
    backend = dist.get_backend()
    return torch.device('cuda', torch.cuda.current_device()) if backend == 'nccl' \
        else torch.device('cpu')
