"""A logger interval that suits the data: progress shows up on small data sets too.

The toolboxes' ``default_runtime.py`` log every 100 iterations, which on a few hundred
fine-tuning images means one line per several epochs (or none before the first validation).
"""
import logging

from mmengine.hooks import Hook, LoggerHook
from mmengine.logging import print_log

from ..registry import HOOKS

__all__ = ['ScaleLogIntervalHook']


@HOOKS.register_module()
class ScaleLogIntervalHook(Hook):
    """Lower ``LoggerHook.interval`` to about ``1 / lines_per_epoch`` of an epoch.

    The interval becomes ``max(1, min(interval, len(train_dataloader) // lines_per_epoch))``
    and a log line says so when it changes; a config's smaller interval is kept.
    ``tools/train.py`` adds this hook to every run.

    Args:
        lines_per_epoch (int): Progress lines wanted per pass over the training data (at
            least; fewer iterations per epoch than this give a line per iteration).
    """

    priority = 'VERY_LOW'

    def __init__(self, lines_per_epoch: int = 5) -> None:
        if lines_per_epoch < 1:
            raise ValueError(f'lines_per_epoch must be >= 1, got {lines_per_epoch}')
        self.lines_per_epoch = lines_per_epoch

    def before_train(self, runner) -> None:
        """Set the interval from the training data loader's length."""
        try:
            per_epoch = len(runner.train_dataloader)
        except TypeError:  # an iterable dataset without a length: keep the config's interval
            return
        for hook in runner.hooks:
            if not isinstance(hook, LoggerHook):
                continue
            interval = max(1, min(hook.interval, per_epoch // self.lines_per_epoch))
            if interval < hook.interval:
                print_log(f'logging every {interval} iterations instead of every '
                          f'{hook.interval}: an epoch has {per_epoch} iterations '
                          f'(ScaleLogIntervalHook, lines_per_epoch={self.lines_per_epoch})',
                          logger='current',
                          level=logging.INFO)
                hook.interval = interval
