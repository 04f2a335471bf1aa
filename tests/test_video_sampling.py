"""uniformer_mm.DenseSampleFrames picks the frames the official video loaders pick.

The expectations are the official rules written out (slowfast/datasets/decoder.py,
get_start_end_idx with use_offset, and the decord branch of decode): clip k of n starts at
k * floor(delta / (n - 1)), spans clip_len * frame_interval frames and ends on its last one.
"""
import random

import numpy as np
import pytest

from uniformer_mm.datasets import DenseSampleFrames


def _sample(total, start_index=0, **kwargs):
    return DenseSampleFrames(**kwargs)(dict(total_frames=total, start_index=start_index))


def test_test_clips_reach_both_ends_of_the_video():
    out = _sample(300, clip_len=16, frame_interval=4, num_clips=4, test_mode=True)
    inds = out['frame_inds'].reshape(4, 16)
    delta = 300 - 64
    starts = [k * (delta // 3) for k in range(4)]  # 0, 78, 156, 234
    assert inds[:, 0].tolist() == starts
    assert inds[:, -1].tolist() == [s + 63 for s in starts]  # the clip's last frame
    assert (np.diff(inds, axis=1) >= 4).all() and (np.diff(inds, axis=1) <= 5).all()
    assert out['num_clips'] == 4 and out['clip_len'] == 16 and out['frame_interval'] == 4


def test_one_test_clip_is_centred_and_frames_start_at_start_index():
    out = _sample(101, start_index=1, clip_len=8, frame_interval=8, test_mode=True)
    start = (101 - 64) // 2
    assert out['frame_inds'][0] == start + 1 and out['frame_inds'][-1] == start + 63 + 1


def test_short_videos_repeat_the_last_frame():
    out = _sample(20, clip_len=16, frame_interval=4, num_clips=2, test_mode=True)
    inds = out['frame_inds'].reshape(2, 16)
    assert (inds[:, 0] == 0).all() and (inds.max() == 19) and (inds[:, -4:] == 19).all()


def test_training_clip_is_random_within_the_video():
    random.seed(0)
    firsts = set()
    for _ in range(20):
        inds = _sample(200, clip_len=16, frame_interval=4)['frame_inds']
        assert len(inds) == 16 and inds.min() >= 0 and inds.max() <= 199
        assert 62 <= inds[-1] - inds[0] <= 63
        firsts.add(int(inds[0]))
    assert len(firsts) > 5


def test_bad_arguments():
    with pytest.raises(ValueError, match='positive'):
        DenseSampleFrames(clip_len=0)
    with pytest.raises(ValueError, match='no frame'):
        _sample(0, clip_len=4)
