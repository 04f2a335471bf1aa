"""Random erasing drawn frame by frame, as the official video loaders erase (needs mmaction2).

The official loaders (``_aug_frame`` in ``slowfast/datasets/{kinetics,sth,hmdb}.py``) run timm's
``RandomErasing(RE_PROB, mode='pixel')`` on the clip laid out as ``(T, C, H, W)``, which timm
treats as a batch: every frame is erased or not on its own, each with its own rectangle, filled
with per-pixel normal noise of the normalised image. mmaction2's ``RandomErasing`` erases one
rectangle through the whole clip, with one draw.
"""
from typing import Dict

from mmaction.datasets.transforms.processing import RandomErasing

__all__ = ['FrameRandomErasing']


class FrameRandomErasing(RandomErasing):
    """mmaction2's ``RandomErasing`` with the erase decision and rectangle drawn per frame.

    Same arguments as mmaction2's ``RandomErasing``. With ``mode='rand'``,
    ``fill_color=(114.75,) * 3`` and ``fill_std=(57.375,) * 3`` the noise is timm's ``pixel``
    mode: a standard normal value per pixel and channel after the (0.45, 0.225) normalisation.
    """

    def transform(self, results: Dict) -> Dict:
        """Erase each frame of ``results['imgs']`` independently."""
        imgs = results['imgs']
        img_h, img_w = imgs[0].shape[:2]
        out = []
        for img in imgs:
            if self.random_disable():
                out.append(img)
            else:
                out.append(self._img_fill_pixels(img, *self.random_patch(img_h, img_w)))
        results['imgs'] = out
        return results
