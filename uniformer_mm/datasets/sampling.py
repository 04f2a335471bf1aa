"""The official dense frame sampling of the UniFormer video recipes, as a data transform.

The official Kinetics / UCF101 loaders (``slowfast/datasets/kinetics.py`` with the decord
backend of ``slowfast/datasets/decoder.py``) and the HMDB51 loader
(``slowfast/datasets/hmdb.py``) pick the frames of a ``clip_len x frame_interval`` clip as
``linspace(start, start + clip_len * frame_interval - 1, clip_len)`` (floored, clamped to the
video), with

* training: ``start`` uniform in ``[0, total - clip_len * frame_interval]``;
* test (``DATA.USE_OFFSET_SAMPLING True``, all released experiments): clip ``k`` of ``n``
  starts at ``k * floor(delta / (n - 1))`` (``floor(delta / 2)`` for one clip), so the clips
  reach both ends of the video.

mmaction2's ``SampleFrames`` steps by exactly ``frame_interval`` and centres the test clips in
``n`` equal segments, which picks other frames for the same checkpoint;
:class:`DenseSampleFrames` reproduces the official indices.
"""
import math
import random
from typing import Dict

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS

__all__ = ['DenseSampleFrames']


@TRANSFORMS.register_module()
class DenseSampleFrames(BaseTransform):
    """Official (SlowFast) dense sampling of ``num_clips`` clips of ``clip_len`` frames.

    Required keys: ``total_frames``, ``start_index`` (mmaction2's datasets set both).
    Added keys: ``frame_inds`` (``num_clips * clip_len``, clip after clip, offset by
    ``start_index``), ``clip_len``, ``frame_interval``, ``num_clips``; the same contract as
    mmaction2's ``SampleFrames``, so the decoders and ``FormatShape`` work unchanged.

    Args:
        clip_len (int): Frames per clip (official ``DATA.NUM_FRAMES``).
        frame_interval (int): Official ``DATA.SAMPLING_RATE``: the clip spans
            ``clip_len * frame_interval`` frames. Defaults to 1.
        num_clips (int): Clips in test mode (official ``TEST.NUM_ENSEMBLE_VIEWS``); training
            samples one random clip. Defaults to 1.
        test_mode (bool): Deterministic test clips instead of one random clip.
            Defaults to False.
        use_offset (bool): Official ``DATA.USE_OFFSET_SAMPLING``: test clips from the first
            to the last frame (True, every released experiment) or starting at
            ``delta * k / num_clips`` (False). Defaults to True.
    """

    def __init__(self,
                 clip_len: int,
                 frame_interval: int = 1,
                 num_clips: int = 1,
                 test_mode: bool = False,
                 use_offset: bool = True) -> None:
        if clip_len < 1 or frame_interval < 1 or num_clips < 1:
            raise ValueError(f'{type(self).__name__} needs positive clip_len, frame_interval '
                             f'and num_clips; got {clip_len}, {frame_interval}, {num_clips}')
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.use_offset = use_offset

    def clip_starts(self, total_frames: int) -> list:
        """Start frame of each clip (``slowfast/datasets/decoder.py: get_start_end_idx``)."""
        delta = max(total_frames - self.clip_len * self.frame_interval, 0)
        if not self.test_mode:
            return [random.uniform(0, delta)]
        n = self.num_clips
        if not self.use_offset:
            return [delta * k / n for k in range(n)]
        if n == 1:
            return [math.floor(delta / 2)]
        return [k * math.floor(delta / (n - 1)) for k in range(n)]

    def transform(self, results: Dict) -> Dict:
        """Add ``frame_inds`` (and the clip shape) to ``results``."""
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(f'{type(self).__name__}: the video has no frame '
                             f'({results.get("filename", results.get("frame_dir"))})')
        span = self.clip_len * self.frame_interval
        clips = []
        for start in self.clip_starts(total):
            # torch.linspace in float32, then clamp and floor, exactly as the official loaders
            index = torch.linspace(start, start + span - 1, self.clip_len)
            clips.append(torch.clamp(index, 0, total - 1).long().numpy())
        results['frame_inds'] = np.concatenate(clips) + results.get('start_index', 0)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = len(clips)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, frame_interval='
                f'{self.frame_interval}, num_clips={self.num_clips}, test_mode='
                f'{self.test_mode}, use_offset={self.use_offset})')
