"""Drawing of classification results (top-k labels) for images and videos.

Used by ``tools/demo/image_demo.py`` / ``video_demo.py`` and, through
:class:`VideoTopkVisualizationHook`, by ``tools/test.py --show-dir`` for mmaction2 configs:
mmaction2 1.2's own ``VisualizationHook`` fails on ``NCTHW`` clips (it permutes the 5-D input
as an image batch), so video test results are drawn from the decoded video file instead.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.hooks import Hook

from uniformer_mm.registry import HOOKS

__all__ = ['draw_labels', 'topk_lines', 'read_frames', 'draw_video_topk', 'video_score_kind',
           'VideoTopkVisualizationHook']


def topk_lines(scores: np.ndarray, names: Optional[Sequence[str]], k: int) -> List[str]:
    """``'1. label: score'`` lines of the ``k`` best classes."""
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores)[:k]
    return [f'{i + 1}. {names[c] if names and c < len(names) else f"class {c}"}: '
            f'{scores[c]:.3f}' for i, c in enumerate(order)]


def draw_labels(image: np.ndarray, lines: Sequence[str], title: str = '') -> np.ndarray:
    """``image`` (RGB, enlarged to at least 256 px wide) above a panel listing ``lines``,
    drawn with mmengine's Visualizer. Returns an RGB array."""
    import cv2
    from mmengine.visualization import Visualizer

    h, w = image.shape[:2]
    scale = max(1.0, 256 / w)
    image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_NEAREST)
    h, w = image.shape[:2]
    rows = ([title] if title else []) + list(lines)
    canvas = np.full((h + 18 * len(rows) + 8, max(w, 256), 3), 255, np.uint8)
    canvas[:h, :w] = image
    vis = Visualizer(image=canvas)
    vis.draw_texts(rows, np.array([[6, h + 4 + 18 * i] for i in range(len(rows))]),
                   colors='black', font_sizes=11)
    return vis.get_image()


def read_frames(path: str, num: int) -> List[np.ndarray]:
    """``num`` evenly spaced RGB frames of a video file (decoded with PyAV)."""
    import av
    with av.open(path) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f'{path!r} has no decodable video frames')
    idx = np.linspace(0, len(frames) - 1, min(num, len(frames))).round().astype(int)
    return [frames[i] for i in idx]


def draw_video_topk(video: str, scores: np.ndarray, names: Optional[Sequence[str]],
                    topk: int = 5, num_frames: int = 4, gt: Optional[int] = None,
                    score_kind: str = '') -> np.ndarray:
    """A strip of ``num_frames`` frames of ``video`` with its top-k classes below (RGB);
    ``score_kind`` (see :func:`video_score_kind`) is named in the title."""
    import cv2
    frames = read_frames(video, num_frames)
    h = max(f.shape[0] for f in frames)
    strip = np.hstack([cv2.resize(f, (int(f.shape[1] * h / f.shape[0]), h)) for f in frames])
    lines = topk_lines(scores, names, topk)
    if gt is not None:
        lines.append(f'true: {names[gt] if names and gt < len(names) else gt}')
    kind = f' ({score_kind})' if score_kind else ''
    return draw_labels(strip, lines,
                       f'top-{min(topk, len(scores))} of {osp.basename(video)}{kind}')


def video_score_kind(average_clips: Optional[str]) -> str:
    """What an mmaction2 recognizer's scores are, from its head's ``average_clips``: with
    ``'prob'`` the mean of the clips' softmax probabilities; with ``'score'`` (the UniFormer
    configs) or ``None`` the mean of raw clip logits, which are not probabilities."""
    return ('mean clip probability' if average_clips == 'prob'
            else 'mean clip logit, not a probability')


@HOOKS.register_module()
class VideoTopkVisualizationHook(Hook):
    """Draw every ``interval``-th test video with its top-k classes as a PNG in ``out_dir``.

    Args:
        out_dir (str): Output directory (created).
        interval (int): Draw one of every ``interval`` samples. Defaults to 1.
        topk (int): Classes listed. Defaults to 5.
        classes (Sequence[str], optional): Class names; indices are shown otherwise.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, interval: int = 1, topk: int = 5,
                 classes: Optional[Sequence[str]] = None) -> None:
        self.out_dir, self.interval, self.topk = out_dir, max(int(interval), 1), topk
        self.classes = list(classes) if classes else None
        self._count = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Draw the samples of this batch that fall on the interval."""
        import mmcv
        os.makedirs(self.out_dir, exist_ok=True)
        for sample in outputs or []:
            self._count += 1
            if (self._count - 1) % self.interval:
                continue
            video = sample.metainfo.get('filename')
            if not video or not osp.isfile(video):
                continue
            gt = sample.gt_label
            gt = int(gt.item()) if gt is not None and gt.numel() == 1 else None
            drawn = draw_video_topk(video, sample.pred_score.detach().cpu().numpy(),
                                    self.classes, self.topk, gt=gt)
            name = osp.splitext(osp.basename(video))[0] + '.png'
            mmcv.imwrite(mmcv.rgb2bgr(drawn), osp.join(self.out_dir, name))
