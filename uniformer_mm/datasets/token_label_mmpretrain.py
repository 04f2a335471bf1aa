"""Label-aware versions of mmpretrain's geometric transforms for token labeling (need
mmpretrain; registered lazily as ``uniformer_mm.TokenLabelRandomResizedCrop`` and
``uniformer_mm.TokenLabelRandAugment``). See :mod:`uniformer_mm.datasets.token_label`.

Each transform runs mmpretrain's own code on the image and records the random values it drew
(crop box, signed magnitude) through the hooks mmpretrain calls, then composes the same warp
into the sample's token label map.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmpretrain.datasets.transforms import RandAugment, RandomResizedCrop, Rotate, Shear, Translate

from .token_label import compose_token_label, crop_affine, warp_affine

__all__ = ['TokenLabelRandomResizedCrop', 'TokenLabelRandAugment', 'TokenLabelShear',
           'TokenLabelTranslate', 'TokenLabelRotate']


class TokenLabelRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that also crops the token label map.

    Same arguments as mmpretrain's (``scale``, ``crop_ratio_range``, ``aspect_ratio_range``,
    ``max_attempts``, ``interpolation``, ``backend``) plus ``interpolation='random'``: bilinear
    or bicubic per image, the official ``--train-interpolation random``. Without a label map in
    ``results`` it is a plain ``RandomResizedCrop``.
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
        """Crop and resize the image; compose the crop into the label map."""
        if self.random_interpolation:
            self.interpolation = self.RANDOM_INTERPOLATIONS[np.random.randint(2)]
        shape = results['img'].shape[:2]
        results = super().transform(results)
        compose_token_label(results, crop_affine(self._last_crop, shape))
        return results

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.random_interpolation:
            text = text.replace(f'interpolation={self.interpolation}', 'interpolation=random')
        return text


class _LabelWarp:
    """Mixin for mmpretrain's RandAugment warps: remember the signed magnitude the transform
    drew (``random_negative``) and compose the warp it applied into the label map."""

    _applied: Optional[float] = None

    def random_negative(self, value: float) -> float:
        """mmpretrain's random sign, remembered."""
        self._applied = super().random_negative(value)  # type: ignore[misc]
        return self._applied

    def warp_matrix(self, magnitude: float, shape: Tuple[int, int]) -> np.ndarray:
        """The 2 x 3 forward pixel matrix mmcv gives ``cv2.warpAffine``."""
        raise NotImplementedError

    def transform(self, results: Dict) -> Dict:
        """Apply mmpretrain's transform; compose its warp if it ran."""
        self._applied = None
        shape = results['img'].shape[:2]
        results = super().transform(results)  # type: ignore[misc]
        if self._applied is not None:
            compose_token_label(results, warp_affine(self.warp_matrix(self._applied, shape),
                                                     shape))
        return results


class TokenLabelShear(_LabelWarp, Shear):
    """mmpretrain's ``Shear`` that also shears the token label map."""

    def warp_matrix(self, magnitude: float, shape: Tuple[int, int]) -> np.ndarray:
        """``mmcv.imshear``'s matrix."""
        if self.direction == 'horizontal':
            return np.array([[1., magnitude, 0.], [0., 1., 0.]])
        return np.array([[1., 0., 0.], [magnitude, 1., 0.]])


class TokenLabelTranslate(_LabelWarp, Translate):
    """mmpretrain's ``Translate`` that also translates the token label map."""

    def warp_matrix(self, magnitude: float, shape: Tuple[int, int]) -> np.ndarray:
        """``mmcv.imtranslate``'s matrix for the offset mmpretrain computes."""
        height, width = shape
        if self.direction == 'horizontal':
            return np.array([[1., 0., magnitude * width], [0., 1., 0.]])
        return np.array([[1., 0., 0.], [0., 1., magnitude * height]])


class TokenLabelRotate(_LabelWarp, Rotate):
    """mmpretrain's ``Rotate`` that also rotates the token label map."""

    def warp_matrix(self, magnitude: float, shape: Tuple[int, int]) -> np.ndarray:
        """``mmcv.imrotate``'s matrix (clockwise angle, default centre)."""
        height, width = shape
        center = self.center if self.center is not None else (
            (width - 1) * .5, (height - 1) * .5)
        return cv2.getRotationMatrix2D(center, -magnitude, self.scale)


class TokenLabelRandAugment(RandAugment):
    """mmpretrain's ``RandAugment`` whose Shear, Translate and Rotate also move the token label
    map (LV-ViT's label-aware RandAugment). Same arguments; the other operations change pixel
    values only and are mmpretrain's."""

    LABEL_AWARE = {Shear: TokenLabelShear, Translate: TokenLabelTranslate,
                   Rotate: TokenLabelRotate}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i, (policy, op) in enumerate(zip(self.policies, self.transforms)):
            label_aware = self.LABEL_AWARE.get(type(op))
            if label_aware is not None:
                self.transforms[i] = label_aware(
                    **{k: v for k, v in policy.items() if k != 'type'})
