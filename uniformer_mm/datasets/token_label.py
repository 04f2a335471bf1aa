"""Dense token labels for token-labeling training (LV-ViT's recipe, used by the official
``image_classification/token_labeling`` UniFormer runs).

Token labeling trains every output token on a soft class distribution taken from a teacher's
dense score map (NFNet-F6 in the official runs, ``--token-label-data``). The released label
files hold, per training image, the teacher's top-k scores on a coarse grid: a tensor of shape
``(2, k, h, w)`` whose ``[0]`` are the scores and ``[1]`` the class indices (top-5 on 14 x 14
for ImageNet at 224). The files mirror the image folder: ``train/n01440764/n01440764_10026.JPEG``
has ``<label_root>/n01440764/n01440764_10026.pt``.

The label map has to follow the image through the random crop and the flip. Three transforms do
that in an mmpretrain pipeline:

1. :class:`LoadTokenLabel` (after ``LoadImageFromFile``) reads the file and starts a crop box
   ``(x1, y1, x2, y2)`` covering the whole label map (normalised coordinates).
2. ``TokenLabelRandomResizedCrop`` (:mod:`uniformer_mm.datasets.token_label_crop`, in place
   of mmpretrain's ``RandomResizedCrop``) crops the image as mmpretrain does and narrows the
   box to the cropped part.
3. :class:`TokenLabelTarget` (before ``PackInputs(algorithm_keys=('token_label', ))``) turns
   the top-k map into ``num_classes`` dense scores, RoI-aligns the box onto a
   ``label_size x label_size`` grid (the official ``--token-label-size``: 7 at 224, 12 at 384),
   mirrors it when ``RandomFlip`` flipped the image, and normalises each token's scores into a
   distribution. The result, ``token_label`` of shape ``(num_classes, label_size, label_size)``,
   is what :class:`~uniformer_mm.models.heads.TokenLabelClsHead` trains the tokens on.

Difference from the official data path: LV-ViT's label-aware RandAugment also applies its
rotate / shear / translate operations to the 14 x 14 label map (nearest neighbour); mmpretrain's
RandAugment does not report them, so here the label follows the crop and the flip only.
"""
import io
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import mmengine.fileio as fileio
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS

__all__ = ['LoadTokenLabel', 'TokenLabelTarget', 'crop_box', 'token_label_from_topk']

#: Results keys shared by the three transforms.
TOPK_KEY, BOX_KEY = 'token_label_topk', 'token_label_box'


def crop_box(box: np.ndarray, crop: Tuple[int, int, int, int],
             image_shape: Tuple[int, int]) -> np.ndarray:
    """Narrow a normalised box ``(x1, y1, x2, y2)`` to a crop of the image it covers.

    Args:
        box (ndarray): The part of the label map the current image shows, normalised.
        crop (tuple): ``(top, left, height, width)`` of the crop, in pixels of the image.
        image_shape (tuple): ``(height, width)`` of the image before cropping.

    Returns:
        ndarray: The part of the label map the cropped image shows.
    """
    top, left, height, width = crop
    img_h, img_w = image_shape
    x1, y1, x2, y2 = box
    sx, sy = (x2 - x1) / img_w, (y2 - y1) / img_h
    return np.array([x1 + left * sx, y1 + top * sy,
                     x1 + (left + width) * sx, y1 + (top + height) * sy])


def token_label_from_topk(topk: torch.Tensor, num_classes: int, box: Sequence[float],
                          label_size: int, flip_direction: Optional[str] = None,
                          normalize: bool = True) -> torch.Tensor:
    """Dense soft token labels of one image from its top-k teacher map.

    Args:
        topk (Tensor): ``(2, k, h, w)``: scores, then class indices.
        num_classes (int): Number of classes.
        box (sequence): ``(x1, y1, x2, y2)`` of the label map shown by the image, normalised.
        label_size (int): Side of the output token grid.
        flip_direction (str, optional): ``'horizontal'``, ``'vertical'`` or ``'diagonal'``
            when the image was flipped after the crop.
        normalize (bool): Divide each token's scores by their sum (tokens whose scores are all
            zero stay zero). Defaults to True.

    Returns:
        Tensor: ``(num_classes, label_size, label_size)`` float32.
    """
    from torchvision.ops import roi_align
    scores, index = topk[0].float(), topk[1].long()
    h, w = scores.shape[-2:]
    dense = scores.new_zeros(num_classes, h, w).scatter_(0, index, scores)
    x1, y1, x2, y2 = (float(v) for v in box)
    # aligned=True: cell (i, j) of the map has its centre at ((j + .5) / w, (i + .5) / h).
    rois = torch.tensor([[0., x1 * w, y1 * h, x2 * w, y2 * h]])
    out = roi_align(dense[None], rois, output_size=label_size, aligned=True)[0]
    if flip_direction in ('horizontal', 'diagonal'):
        out = out.flip(-1)
    if flip_direction in ('vertical', 'diagonal'):
        out = out.flip(-2)
    if normalize:
        total = out.sum(dim=0, keepdim=True)
        out = torch.where(total > 0, out / total.clamp_min(1e-12), out)
    return out


@TRANSFORMS.register_module()
class LoadTokenLabel(BaseTransform):
    """Read the dense top-k label map of an image (token labeling).

    **Required keys:** ``img_path``, ``img_shape`` (after ``LoadImageFromFile``).
    **Added keys:** ``token_label_topk`` (``(2, k, h, w)`` tensor), ``token_label_box``
    (``[0, 0, 1, 1]``: the image shows the whole map).

    The file of ``.../train/<class>/<name>.JPEG`` is ``<label_root>/<class>/<name><suffix>``:
    the last ``path_depth`` parts of the image path with the extension replaced, as in the
    official loader. Files are read with ``torch.load(weights_only=True)`` through mmengine's
    file backends, so a label file can hold tensors only.

    Args:
        label_root (str): Folder of the label files (e.g. LV-ViT's ``label_top5_train_nfnet``).
        suffix (str): Extension of the label files. Defaults to ``'.pt'``.
        path_depth (int): How many trailing parts of the image path name the label file.
            Defaults to 2 (``<class>/<name>``).
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self, label_root: str, suffix: str = '.pt', path_depth: int = 2,
                 backend_args: Optional[dict] = None) -> None:
        if path_depth < 1:
            raise ValueError(f'path_depth must be >= 1, got {path_depth}')
        self.label_root = label_root
        self.suffix = suffix
        self.path_depth = path_depth
        self.backend_args = backend_args

    def label_path(self, img_path: str) -> str:
        """The label file of an image."""
        parts = img_path.replace('\\', '/').split('/')[-self.path_depth:]
        parts[-1] = osp.splitext(parts[-1])[0] + self.suffix
        return fileio.join_path(self.label_root, *parts, backend_args=self.backend_args)

    def transform(self, results: Dict) -> Dict:
        """Add the label map and the whole-map box to ``results``."""
        path = self.label_path(results['img_path'])
        try:
            raw = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'no token label file {path!r} for image {results["img_path"]!r}: the files '
                f'must mirror the image folder as <label_root>/<class>/<name>{self.suffix} '
                f'(label_root={self.label_root!r}, path_depth={self.path_depth}); set '
                "LoadTokenLabel's label_root to the folder of the dense labels") from e
        try:
            topk = torch.load(io.BytesIO(raw), map_location='cpu', weights_only=True)
        except Exception as e:  # pickle errors carry no file name
            raise ValueError(f'cannot read the token label file {path!r} as tensors only: '
                             f'{type(e).__name__}: {e}') from e
        if not (isinstance(topk, torch.Tensor) and topk.dim() == 4 and topk.shape[0] == 2):
            shape = tuple(topk.shape) if isinstance(topk, torch.Tensor) else type(topk).__name__
            raise ValueError(f'token label file {path!r} holds {shape}; expected a tensor of '
                             'shape (2, k, h, w): top-k scores, then their class indices')
        results[TOPK_KEY] = topk
        results[BOX_KEY] = np.array([0., 0., 1., 1.])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(label_root={self.label_root!r}, '
                f'suffix={self.suffix!r}, path_depth={self.path_depth})')


@TRANSFORMS.register_module()
class TokenLabelTarget(BaseTransform):
    """Make ``token_label``, the per-token soft targets, from the loaded and cropped map.

    **Required keys:** ``token_label_topk``, ``token_label_box`` (from :class:`LoadTokenLabel`
    and ``TokenLabelRandomResizedCrop``); ``flip`` / ``flip_direction`` when a
    ``RandomFlip`` ran. **Added key:** ``token_label``; the two inputs are removed.
    Pack it with ``dict(type='PackInputs', algorithm_keys=('token_label', ))``.

    Args:
        num_classes (int): Number of classes. Defaults to 1000.
        label_size (int): Side of the token grid of the targets (official
            ``--token-label-size``). Defaults to 7.
        normalize (bool): Turn each token's scores into a distribution. Defaults to True.
    """

    def __init__(self, num_classes: int = 1000, label_size: int = 7,
                 normalize: bool = True) -> None:
        if num_classes <= 0 or label_size <= 0:
            raise ValueError('num_classes and label_size must be > 0, got '
                             f'{num_classes} and {label_size}')
        self.num_classes = num_classes
        self.label_size = label_size
        self.normalize = normalize

    def transform(self, results: Dict) -> Dict:
        """Replace the top-k map and box by ``token_label``."""
        if TOPK_KEY not in results:
            raise KeyError(f'{self.__class__.__name__} needs {TOPK_KEY!r}: put '
                           "dict(type='uniformer_mm.LoadTokenLabel', label_root=...) after "
                           'LoadImageFromFile in the pipeline')
        topk, box = results.pop(TOPK_KEY), results.pop(BOX_KEY)
        index = topk[1]
        if index.numel() and (index.min() < 0 or index.max() >= self.num_classes
                              or not torch.equal(index, index.round())):
            raise ValueError(f'the token label map of {results.get("img_path")!r} has class '
                             f'indices outside 0..{self.num_classes - 1} (num_classes='
                             f'{self.num_classes}) or not integral')
        if self.normalize and (topk[0] < 0).any():
            raise ValueError(f'the token label map of {results.get("img_path")!r} has negative '
                             'scores (logits?): normalize=True needs probabilities; convert '
                             'the files or set normalize=False')
        flip = results.get('flip_direction') if results.get('flip', False) else None
        results['token_label'] = token_label_from_topk(
            topk, self.num_classes, box, self.label_size, flip, self.normalize)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'label_size={self.label_size}, normalize={self.normalize})')
