"""The random resized crop of token labeling (needs mmpretrain; registered lazily as
``uniformer_mm.TokenLabelRandomResizedCrop``). See :mod:`uniformer_mm.datasets.token_label`."""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmpretrain.datasets.transforms import RandomResizedCrop

from .token_label import BOX_KEY, crop_box

__all__ = ['TokenLabelRandomResizedCrop']


class TokenLabelRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that also crops the token label box.

    Same arguments as mmpretrain's (``scale``, ``crop_ratio_range``, ``aspect_ratio_range``,
    ``max_attempts``, ``interpolation``, ``backend``) plus ``interpolation='random'``: bilinear
    or bicubic per image, the official ``--train-interpolation random``. Without a label map in
    ``results`` it is a plain ``RandomResizedCrop``.

    Raises:
        ValueError: If the image was flipped before this crop (the flip is applied to the
            label by :class:`TokenLabelTarget`, which assumes it comes after the crop).
    """

    RANDOM_INTERPOLATIONS = ('bilinear', 'bicubic')

    def __init__(self, scale: Union[Sequence, int], *args, interpolation: str = 'bilinear',
                 **kwargs) -> None:
        self.random_interpolation = interpolation == 'random'
        super().__init__(scale, *args, interpolation=self.RANDOM_INTERPOLATIONS[0]
                         if self.random_interpolation else interpolation, **kwargs)
        self._last_crop: Optional[Tuple[int, int, int, int]] = None

    def rand_crop_params(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        """mmpretrain's random crop, remembered for :meth:`transform`."""
        self._last_crop = super().rand_crop_params(img)
        return self._last_crop

    def transform(self, results: Dict) -> Dict:
        """Crop and resize the image; narrow ``token_label_box`` to the crop."""
        if BOX_KEY in results and results.get('flip', False):
            raise ValueError('the image was flipped before TokenLabelRandomResizedCrop; put '
                             'RandomFlip after the crop so that TokenLabelTarget can mirror '
                             'the token labels')
        if self.random_interpolation:
            self.interpolation = self.RANDOM_INTERPOLATIONS[np.random.randint(2)]
        shape = results['img'].shape[:2]
        results = super().transform(results)
        if BOX_KEY in results:
            results[BOX_KEY] = crop_box(results[BOX_KEY], self._last_crop, shape)
        return results

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.random_interpolation:
            text = text.replace(f'interpolation={self.interpolation}', 'interpolation=random')
        return text
