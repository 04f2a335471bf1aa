"""Hooks registered as ``uniformer_mm.<Name>`` in every toolbox's hook registry.

:class:`ExactResumeHook` makes a run resumed with ``--resume`` after a kill reach exactly the
weights of the uninterrupted run. Why mmengine 0.10.7 alone does not:

* ``IterBasedTrainLoop`` resumes at the checkpoint's iteration and *replays* the data loader
  (``next()`` once per consumed batch, running the pipeline) so that the sampler order is
  right. ``EpochBasedTrainLoop`` instead restarts the interrupted epoch from its first batch,
  so a checkpoint written mid-epoch (``CheckpointHook(by_epoch=False)``) re-trains those
  batches: only iteration-based loops can resume mid-epoch exactly.
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
"""
import random
from typing import Any, Iterator, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from ..registry import HOOKS

__all__ = ['ExactResumeHook', 'seed_for_batch']


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

    def __init__(self, iterator: Iterator, seed: int) -> None:
        self._iterator = iterator
        self._seed = seed
        self.fetched = 0

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

    Add it with ``custom_hooks = [dict(type='uniformer_mm.ExactResumeHook')]`` to an
    iteration-based config whose ``CheckpointHook`` saves every few iterations
    (``by_epoch=False``). It re-seeds python's ``random``, numpy and torch before every batch
    from the run's seed and the batch index (see the module docstring for why), so a resumed
    run replays exactly the random numbers of the original one. The randomness is as good as
    with one seed per run; it is only a different sequence than without the hook.

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
        """Wrap the train loop's data iterator (IterBasedTrainLoop only)."""
        loop = runner.train_loop
        if not isinstance(loop, IterBasedTrainLoop):
            print_log(
                f'ExactResumeHook does nothing with {type(loop).__name__}: an epoch-based loop '
                'restarts an interrupted epoch from its first batch on resume, so only '
                'checkpoints saved at the end of an epoch resume exactly. Use '
                "train_cfg=dict(type='IterBasedTrainLoop', ...) to resume mid-epoch.",
                logger='current', level=30)
            return
        seed = self.seed if self.seed is not None else runner.seed
        if not isinstance(loop.dataloader_iterator, _SeededBatches):
            loop.dataloader_iterator = _SeededBatches(loop.dataloader_iterator, seed)
