"""Repeated augmentation for frame-folder video datasets (needs mmaction2).

The official video recipes sample and decode each training clip once and augment it
``AUG.NUM_SAMPLE = 2`` times (``Sth._aug_frame`` / ``Kinetics._aug_frame`` in
``video_classification/slowfast/datasets/{sth,kinetics}.py`` of Sense-X/UniFormer), so a batch
of ``B`` videos trains on ``2B`` clips. mmaction2's ``RepeatAugDataset`` does this for videos
decoded by decord only; :class:`RepeatAugRawframeDataset` does it for frame folders
(Something-Something V1, HMDB51), with the same output: a list of ``num_repeats`` packed
samples per index, to be flattened by mmaction2's ``repeat_pseudo_collate``.
"""
import copy
from typing import Any, Callable, List, Optional, Sequence, Union

from mmaction.datasets import RawframeDataset

__all__ = ['RepeatAugRawframeDataset']


def _type_name(transform: Union[dict, Callable]) -> str:
    if isinstance(transform, dict):
        return str(transform.get('type', ''))
    return type(transform).__name__


class RepeatAugRawframeDataset(RawframeDataset):
    """mmaction2's ``RawframeDataset`` returning ``num_repeats`` augmentations of one clip.

    The pipeline is split after its decoding transform (the first whose type ends with
    ``Decode``, e.g. ``RawFrameDecode``): the frame sampling and decoding run once per index
    (with ``sample_once=True``, as the official loaders), every later transform once per
    repeat on a copy, so the repeats differ in RandAugment, crops, flips and erasing but show
    the same frames. In ``test_mode`` a single sample is returned, as ``RawframeDataset``.

    Use it with ``collate_fn=dict(type='repeat_pseudo_collate')``; the data loader's
    ``batch_size`` then counts videos and each batch holds ``batch_size * num_repeats`` clips.

    Args:
        ann_file (str): mmaction2 rawframe annotation list (``dir num_frames label``).
        pipeline (list[dict | callable]): Transforms, a ``*Decode`` one among them.
        num_repeats (int): Augmented samples per clip (official ``AUG.NUM_SAMPLE``).
            Defaults to 2.
        sample_once (bool): Sample and decode the frames once for all repeats (True, the
            official behaviour) or run the whole pipeline per repeat (False: each repeat also
            has its own frames). Defaults to True.
        **kwargs: ``data_prefix``, ``filename_tmpl``, ``start_index``, ``modality``, ... of
            ``RawframeDataset``.

    Raises:
        ValueError: ``num_repeats < 1`` or, with ``sample_once``, no ``*Decode`` transform.
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: Sequence[Union[dict, Callable]],
                 num_repeats: int = 2,
                 sample_once: bool = True,
                 **kwargs: Any) -> None:
        if num_repeats < 1:
            raise ValueError(f'num_repeats must be >= 1, got {num_repeats}')
        names = [_type_name(t) for t in pipeline]
        decode = [i for i, n in enumerate(names) if n.endswith('Decode')]
        if sample_once and not decode:
            raise ValueError(
                f'{type(self).__name__}(sample_once=True) augments the decoded frames of one '
                f'sample {num_repeats} times and needs a *Decode transform (RawFrameDecode) in '
                f'the pipeline; got {names}. Add it, or set sample_once=False.')
        self.num_repeats = num_repeats
        self.sample_once = sample_once
        self._split = decode[0] + 1 if decode else 0
        super().__init__(ann_file, pipeline, **kwargs)

    def prepare_data(self, idx: int) -> Optional[Union[dict, List[dict]]]:
        """``num_repeats`` packed samples of clip ``idx`` (one in ``test_mode``); None if a
        transform dropped it (mmengine's ``BaseDataset`` then picks another index)."""
        data_info = self.get_data_info(idx)
        if self.test_mode:
            return self.pipeline(data_info)
        transforms = self.pipeline.transforms
        shared = data_info
        if self.sample_once:
            for t in transforms[:self._split]:
                shared = t(shared)
                if shared is None:
                    return None
        rest = transforms[self._split:] if self.sample_once else transforms
        samples = []
        for _ in range(self.num_repeats):
            results = copy.deepcopy(shared)
            for t in rest:
                results = t(results)
                if results is None:
                    return None
            samples.append(results)
        return samples
