"""Known third-party messages kept off the console of our tools.

Every tool run used to start with messages the user can do nothing about: setuptools'
``pkg_resources is deprecated`` (mmengine's and mmcv's package checks import it), mmengine's
``FileClient`` / ``HardDiskBackend`` deprecation pair for every data loader and checkpoint
hook, mmpretrain's note that batch augmentations switch on one-hot labels (also printed when a
model is only built for inference), one ``paramwise_options -- <parameter>:<key>=<value>``
line per parameter with its own optimizer settings (hundreds in training logs), and the
toolboxes' notes about their own internals (:data:`KNOWN_WARNINGS`).

:func:`quiet_known_messages` filters exactly these, in the calling process: the tools call it
first thing after parsing their arguments. Importing ``uniformer_mm`` in one's own code changes
nothing: there, warnings and log lines are the user's to manage.
"""
import logging
import warnings
from typing import Tuple

__all__ = ['KNOWN_WARNINGS', 'KNOWN_LOG_MESSAGES', 'KnownMessageFilter', 'quiet_known_messages']

#: Python warnings: (message regular expression, category).
KNOWN_WARNINGS: Tuple[Tuple[str, type], ...] = (
    (r'pkg_resources is deprecated', UserWarning),
    # mmseg's own modules call its deprecated builder
    (r'``build_loss`` would be deprecated soon', UserWarning),
    # torch's DDP, about an argument mmengine's DDP wrapper passes itself
    (r'`broadcast_buffers` is deprecated', FutureWarning),
    # mmpose looks for its dataset meta file relative to the working directory first, then
    # takes its own copy (the same file)
    (r'The metainfo config file .* does not exist\. A matched config file', UserWarning),
    # the toolboxes' inferencers build a visualizer without an output folder (the demos draw
    # into memory and write the PNG themselves)
    (r'Failed to add <class .*LocalVisBackend', UserWarning),
    # mmseg's SegVisualizationHook, in every mmseg default_runtime, during training (tools/
    # test.py --show-dir turns drawing on)
    (r'The draw is False, it means that the hook for visualization', UserWarning),
    # mmseg's ADE20K pipelines (its own configs and ours, as the official recipe) name
    # reduce_zero_label in LoadAnnotations, with the dataset's value
    (r'`reduce_zero_label` will be deprecated', UserWarning),
    # the official segmentation recipes average the loss as mmseg's default does (changing
    # it changes the numbers the configs reproduce)
    (r'Default ``avg_non_ignore`` is False', UserWarning),
)

#: mmengine log lines, by the start of their message.
KNOWN_LOG_MESSAGES: Tuple[str, ...] = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
    'Because batch augmentations are enabled',
    'paramwise_options -- ',
    # mmengine, for every metric without a prefix (tools/test.py --out adds one to dump)
    'The prefix is not set in metric class',
)


class KnownMessageFilter(logging.Filter):
    """Drops log records whose message starts with one of :data:`KNOWN_LOG_MESSAGES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(KNOWN_LOG_MESSAGES)


_FILTER = KnownMessageFilter()


def quiet_known_messages() -> None:
    """Filter :data:`KNOWN_WARNINGS` and :data:`KNOWN_LOG_MESSAGES` in this process.

    mmengine's loggers (``MMLogger``) are created per run (the Runner builds its own before
    building the model), so the filter is added to the current one and to every one created
    afterwards. Idempotent.
    """
    for pattern, category in KNOWN_WARNINGS:
        warnings.filterwarnings('ignore', message=pattern, category=category)
    from mmengine.logging import MMLogger
    current = MMLogger.get_current_instance()
    if _FILTER not in current.filters:
        current.addFilter(_FILTER)
    if getattr(MMLogger.__init__, '_uniformer_mm_quiet', False):
        return
    init = MMLogger.__init__

    def __init__(self: MMLogger, *args, **kwargs) -> None:  # noqa: N807
        init(self, *args, **kwargs)
        self.addFilter(_FILTER)

    __init__._uniformer_mm_quiet = True  # type: ignore[attr-defined]
    MMLogger.__init__ = __init__  # type: ignore[method-assign]
