"""A sample that cannot be loaded is reported with its file names.

A zero-byte image fails inside OpenCV (``cv2.error: (-215:Assertion failed) !buf.empty()``),
a damaged video inside decord, an image that does not decode as ``'NoneType' object has no
attribute 'shape'``: none names the file, and in a data set of a million images the file is
the one thing the user needs. :func:`name_failing_samples` makes every data pipeline built by
mmengine's ``BaseDataset`` (all five toolboxes' data sets) re-raise the failure of a transform
that reads files (:func:`reads_files`) as :class:`DataSampleError` naming the sample's files,
their size, the transform and the original error; the tools print it as one ``error:`` line.
"""
import os.path as osp
from typing import Any, List

__all__ = ['DataSampleError', 'name_failing_samples', 'reads_files']

#: Keys of a sample dict that hold the files it is read from (images, segmentation maps,
#: videos, raw frame folders, keypoint/label files).
FILE_KEYS = ('img_path', 'seg_map_path', 'filename', 'frame_dir', 'audio_path', 'label_path')
_PREFIX = 'cannot load the sample '


class DataSampleError(RuntimeError):
    """A data pipeline failed on a sample; the message names its files."""

    def __init__(self, message: str) -> None:
        # Re-raised from a data-loader worker, the message is torch's "Caught ... Original
        # Traceback ..." text: keep the one line that says what happened.
        if _PREFIX in message and '\n' in message:
            message = message[message.rindex(_PREFIX):].strip()
        super().__init__(message)


def _describe(path: str) -> str:
    if '://' in path:
        return repr(path)
    if not osp.exists(path):
        return f'{path!r} (missing)'
    if osp.isfile(path):
        size = osp.getsize(path)
        return f'{path!r} ({size} bytes{", empty" if size == 0 else ""})'
    return repr(path)


def _files(sample: Any) -> List[str]:
    if not isinstance(sample, dict):
        return []
    return [_describe(sample[k]) for k in FILE_KEYS if isinstance(sample.get(k), str)]


def reads_files(transform: Any) -> bool:
    """Whether a transform reads the sample's files (where a damaged file fails): the
    toolboxes' loaders are named ``Load*``, ``*Init`` (video containers) and ``*Decode``.
    uniformer_mm's own transforms are left out: their errors already name the file."""
    cls = type(transform)
    if cls.__module__.startswith('uniformer_mm'):
        return False
    name = cls.__name__
    return name.startswith('Load') or name.endswith(('Init', 'Decode'))


def name_failing_samples(compose_cls: type) -> None:
    """Make ``compose_cls.__call__`` (mmengine's ``Compose``: apply ``self.transforms`` in
    turn, stop at a ``None``) name the sample's files when a file-reading transform fails.

    Idempotent. Failures of other transforms, and of samples without files (in-memory
    inputs), pass unchanged.
    """
    if getattr(compose_cls.__call__, '_uniformer_mm', False):
        return

    def __call__(self: Any, data: Any) -> Any:
        files = _files(data)  # before the transforms change the dict
        for t in self.transforms:
            try:
                data = t(data)
            except Exception as e:  # noqa: BLE001  (re-raised, with the file names)
                if not files or isinstance(e, DataSampleError) or not reads_files(t):
                    raise
                reason = ' '.join(str(e).split()) or 'no message'
                raise DataSampleError(
                    f'{_PREFIX}{", ".join(files)}: {type(t).__name__} failed with '
                    f'{type(e).__name__}: {reason[:300]}. Fix or remove the file (or its '
                    'entry in the annotation file) and start again.') from e
            # As mmengine: a transform returns None when it cannot use the sample, and the
            # dataset then picks another one.
            if data is None:
                return None
        return data

    __call__.__doc__ = compose_cls.__call__.__doc__
    __call__._uniformer_mm = True  # type: ignore[attr-defined]
    compose_cls.__call__ = __call__
