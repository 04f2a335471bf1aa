"""A sample that cannot be loaded is reported with its file names.

A zero-byte image fails inside OpenCV (``cv2.error: (-215:Assertion failed) !buf.empty()``),
a damaged video inside decord, an image that does not decode as ``'NoneType' object has no
attribute 'shape'``: none names the file, and in a data set of a million images the file is
the one thing the user needs. :func:`name_failing_samples` makes every data pipeline built by
mmengine's ``BaseDataset`` (all five toolboxes' data sets) re-raise such a failure as
:class:`DataSampleError` naming the sample's files, their size and the original error; the
tools print it as one ``error:`` line.
"""
import functools
import os.path as osp
from typing import Any, Callable, List

__all__ = ['DataSampleError', 'name_failing_samples']

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


def name_failing_samples(compose_cls: type) -> None:
    """Wrap ``compose_cls.__call__`` so that an exception names the sample's files.

    Idempotent. Exceptions of samples without a file (in-memory inputs) pass unchanged.
    """
    call: Callable = compose_cls.__call__
    if getattr(call, '_uniformer_mm', False):
        return

    @functools.wraps(call)
    def __call__(self: Any, data: Any) -> Any:
        files = _files(data)  # before the transforms change the dict
        try:
            return call(self, data)
        except DataSampleError:
            raise
        except Exception as e:  # noqa: BLE001  (re-raised, with the file names)
            if not files:
                raise
            reason = ' '.join(str(e).split()) or 'no message'
            raise DataSampleError(
                f'{_PREFIX}{", ".join(files)}: {type(e).__name__}: {reason[:300]}. Fix or '
                'remove the file (or its entry in the annotation file) and start again.'
            ) from e

    __call__._uniformer_mm = True  # type: ignore[attr-defined]
    compose_cls.__call__ = __call__
