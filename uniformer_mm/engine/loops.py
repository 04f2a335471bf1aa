"""An epoch-based training loop that resumes exactly where a mid-epoch checkpoint left off.

mmengine 0.10.7's ``EpochBasedTrainLoop`` restarts an interrupted epoch from its first batch,
so a checkpoint written inside an epoch (by :class:`~uniformer_mm.engine.PreemptionCheckpointHook`
when a job is preempted, or by ``CheckpointHook(by_epoch=False)``) re-trains the batches it had
already seen and shifts every later iteration. The paper's configs are epoch-based, with epochs
of minutes (ImageNet) to hours (Kinetics) on 8 GPUs, so this loop continues the epoch instead:
it fetches and discards the batches already trained (as mmengine's ``IterBasedTrainLoop`` does
on resume, so the sampler order and the data-loader workers' random state are those of the
uninterrupted run) and then trains from the next one, with the right batch index.
"""
from typing import Any, Callable, Iterator, Optional

from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop as MMEngineEpochBasedTrainLoop
from mmengine.utils import ProgressBar

from ..registry import LOOPS

__all__ = ['EpochBasedTrainLoop']


@LOOPS.register_module()
class EpochBasedTrainLoop(MMEngineEpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` (same arguments) that resumes mid-epoch.

    ``tools/train.py`` uses it in place of mmengine's for every epoch-based config; elsewhere
    write ``train_cfg = dict(type='uniformer_mm.EpochBasedTrainLoop', max_epochs=...)``.

    Attributes:
        batch_wrapper (callable, optional): Set by
            :class:`~uniformer_mm.engine.ExactResumeHook`: wraps each epoch's batch iterator
            (called with the iterator and the global index of its first batch).
    """

    batch_wrapper: Optional[Callable[[Iterator, int], Iterator]] = None

    def _trained_in_epoch(self) -> int:
        """Batches of the current epoch already trained (non-zero after a mid-epoch resume;
        all of them after a stop at the epoch's last iteration, before its end-of-epoch
        hooks ran)."""
        done = self._iter - self._epoch * len(self.dataloader)
        if 0 <= done <= len(self.dataloader):
            return done
        # e.g. the data set or the batch size changed since the checkpoint
        print_log(f'resumed at iteration {self._iter} in epoch {self._epoch + 1}, which has '
                  f'{len(self.dataloader)} batches: the position in the epoch is unknown, so '
                  'the epoch starts from its first batch', logger='current', level=30)
        return 0

    def run_epoch(self) -> None:
        """Train one epoch, skipping the batches a mid-epoch checkpoint already trained."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = self._trained_in_epoch()
        if done == len(self.dataloader):
            # Every batch was trained; only the end of the epoch (its hooks: checkpoint, then
            # validation in run()) is missing. No data needs fetching: the next epoch's order
            # depends on the epoch number only.
            print_log(f'resuming after the last batch of epoch {self._epoch + 1}: finishing '
                      'the epoch', logger='current')
        else:
            self._train_batches(done)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _train_batches(self, done: int) -> None:
        """Train the epoch's batches after the first ``done`` (fetched and discarded)."""
        batches: Iterator[Any] = iter(self.dataloader)
        if self.batch_wrapper is not None:
            batches = self.batch_wrapper(batches, self._epoch * len(self.dataloader))
        if done:
            print_log(f'resuming epoch {self._epoch + 1} after its batch {done}/'
                      f'{len(self.dataloader)}: fetching the {done} batches already trained '
                      'to restore the data order', logger='current')
            bar = ProgressBar(done) if is_main_process() else None
            for _ in range(done):
                next(batches)
                if bar is not None:
                    bar.update()
        for idx, data_batch in enumerate(batches, start=done):
            self.run_iter(idx, data_batch)
