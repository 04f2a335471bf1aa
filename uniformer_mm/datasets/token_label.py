"""Dense token labels for token-labeling training (LV-ViT's recipe, used by the official
``image_classification/token_labeling`` UniFormer runs).

Token labeling trains every output token on a soft class distribution taken from a teacher's
dense score map (NFNet-F6 in the official runs, ``--token-label-data``). The released label
files hold, per training image, the teacher's top-k scores on a coarse grid: a tensor of shape
``(2, k, h, w)`` whose ``[0]`` are the scores and ``[1]`` the class indices (top-5 on 14 x 14
for ImageNet at 224). The files mirror the image folder: ``train/n01440764/n01440764_10026.JPEG``
has ``<label_root>/n01440764/n01440764_10026.pt``.

The label map has to follow the image through every geometric augmentation. Each image carries
an affine map ``token_label_affine`` (3 x 3) from the normalised coordinates of the current
image (``(x + 0.5) / width``, ``(y + 0.5) / height``) to those of its label map. Label-aware
versions of the geometric transforms compose their own warp into it:

* :class:`LoadTokenLabel` (after ``LoadImageFromFile``) reads the file; the map is the identity.
* ``TokenLabelRandomResizedCrop``, ``TokenLabelRandAugment`` (its Shear, Translate and Rotate)
  in :mod:`uniformer_mm.datasets.token_label_mmpretrain` and :class:`TokenLabelRandomFlip` do
  exactly what mmpretrain's / mmcv's transforms do to the image and compose the same warp.
* :class:`TokenLabelTarget` (before ``PackInputs(algorithm_keys=('token_label', ))``) turns
  the top-k map into ``num_classes`` dense scores and averages them over each token's area of
  the final image (RoI-align sampling, bilinear, on a ``label_size x label_size`` grid: the
  official ``--token-label-size``, 7 at 224 and 12 at 384), then normalises each token's scores
  into a distribution. Tokens that see only padding (after a rotation or translation) get an
  all-zero target and add nothing to the loss.

This is LV-ViT's data path (label-aware flip, RandAugment and crop) in mmpretrain's order
(crop, flip, RandAugment). A geometric transform that is not label-aware would silently
misalign the labels; :class:`TokenLabelTarget` refuses a sample whose image size or flip the
label map did not follow.
"""
import io
import math
import os.path as osp
from typing import Dict, Optional, Tuple

import mmengine.fileio as fileio
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform, RandomFlip

from ..registry import TRANSFORMS

__all__ = ['LoadTokenLabel', 'TokenLabelRandomFlip', 'TokenLabelTarget', 'crop_affine',
           'warp_affine', 'flip_affine', 'compose_token_label', 'token_label_from_topk']

#: Results keys of the token label data path.
TOPK_KEY = 'token_label_topk'
AFFINE_KEY = 'token_label_affine'
SHAPE_KEY = 'token_label_img_shape'  # image size the affine map was last updated for
FLIP_KEY = 'token_label_flipped'  # the flip of ``results['flip']`` is in the affine map


def crop_affine(crop: Tuple[int, int, int, int], image_shape: Tuple[int, int]) -> np.ndarray:
    """Normalised map from a (resized) crop to the image it was cut from.

    Args:
        crop (tuple): ``(top, left, height, width)`` of the crop, in pixels.
        image_shape (tuple): ``(height, width)`` of the image before cropping.

    Returns:
        ndarray: 3 x 3 affine matrix.
    """
    top, left, height, width = crop
    img_h, img_w = image_shape
    return np.array([[width / img_w, 0., left / img_w],
                     [0., height / img_h, top / img_h],
                     [0., 0., 1.]])


def warp_affine(matrix: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Normalised map from the output of ``cv2.warpAffine(img, matrix)`` (same size as
    ``img``, as in RandAugment's warps) to its input.

    Args:
        matrix (ndarray): The 2 x 3 forward pixel matrix given to ``cv2.warpAffine`` (pixel
            centres at integer coordinates; ``dst(matrix @ p) = src(p)``).
        shape (tuple): ``(height, width)`` of the image.

    Returns:
        ndarray: 3 x 3 affine matrix.
    """
    h, w = shape
    to_normalised = np.array([[1. / w, 0., .5 / w], [0., 1. / h, .5 / h], [0., 0., 1.]])
    forward = np.vstack([np.asarray(matrix, dtype=np.float64).reshape(2, 3), [0., 0., 1.]])
    return to_normalised @ np.linalg.inv(forward) @ np.linalg.inv(to_normalised)


def flip_affine(direction: str) -> np.ndarray:
    """Normalised map of a flip (its own inverse) in ``'horizontal'``, ``'vertical'`` or
    ``'diagonal'`` direction."""
    sx = -1. if direction in ('horizontal', 'diagonal') else 1.
    sy = -1. if direction in ('vertical', 'diagonal') else 1.
    return np.array([[sx, 0., (1. - sx) / 2], [0., sy, (1. - sy) / 2], [0., 0., 1.]])


def compose_token_label(results: Dict, affine: np.ndarray) -> None:
    """Compose ``affine`` (new image -> previous image) into the sample's label map, if any."""
    if AFFINE_KEY in results:
        results[AFFINE_KEY] = results[AFFINE_KEY] @ affine
        results[SHAPE_KEY] = tuple(results['img'].shape[:2])


def token_label_from_topk(topk: torch.Tensor, num_classes: int, affine: np.ndarray,
                          label_size: int, normalize: bool = True,
                          sampling_ratio: Optional[int] = None) -> torch.Tensor:
    """Dense soft token labels of one image from its top-k teacher map.

    Each token's scores are the average of the dense map over the token's area, sampled as
    torchvision's ``roi_align(aligned=True)`` samples a box (bilinear, points clamped to the
    map within one cell of it, zero beyond), for any affine map.

    Args:
        topk (Tensor): ``(2, k, h, w)``: scores, then class indices.
        num_classes (int): Number of classes.
        affine (ndarray): 3 x 3 map from the final image's normalised coordinates to the label
            map's.
        label_size (int): Side of the output token grid.
        normalize (bool): Divide each token's scores by their sum (tokens whose scores are all
            zero stay zero). Defaults to True.
        sampling_ratio (int, optional): Sample points per token and axis; ``None`` adapts it to
            the token's extent on the map, as ``roi_align(sampling_ratio=-1)``.

    Returns:
        Tensor: ``(num_classes, label_size, label_size)`` float32.
    """
    scores, index = topk[0].float(), topk[1].long()
    h, w = scores.shape[-2:]
    dense = scores.new_zeros(num_classes, h, w).scatter_(0, index, scores)
    a = np.asarray(affine, dtype=np.float64)
    if sampling_ratio is None:  # the token's extent in label cells along each output axis
        sx = max(1, math.ceil(math.hypot(a[0, 0] * w, a[1, 0] * h) / label_size - 1e-9))
        sy = max(1, math.ceil(math.hypot(a[0, 1] * w, a[1, 1] * h) / label_size - 1e-9))
    else:
        sx = sy = sampling_ratio
    u = (torch.arange(label_size * sx, dtype=torch.float64) + .5) / (label_size * sx)
    v = (torch.arange(label_size * sy, dtype=torch.float64) + .5) / (label_size * sy)
    vv, uu = torch.meshgrid(v, u, indexing='ij')
    m = torch.from_numpy(a)
    x = m[0, 0] * uu + m[0, 1] * vv + m[0, 2]  # normalised label-map coordinates
    y = m[1, 0] * uu + m[1, 1] * vv + m[1, 2]
    # roi_align: points more than one cell outside the map give 0; the others are clamped.
    xi, yi = x * w - .5, y * h - .5
    valid = ((xi >= -1) & (xi <= w) & (yi >= -1) & (yi <= h)).float()
    grid = torch.stack([2 * x - 1, 2 * y - 1], dim=-1).float()[None]
    sampled = F.grid_sample(dense[None], grid, mode='bilinear', padding_mode='border',
                            align_corners=False)[0] * valid
    out = sampled.reshape(num_classes, label_size, sy, label_size, sx).mean(dim=(2, 4))
    if normalize:
        total = out.sum(dim=0, keepdim=True)
        out = torch.where(total > 0, out / total.clamp_min(1e-12), out)
    return out


@TRANSFORMS.register_module()
class LoadTokenLabel(BaseTransform):
    """Read the dense top-k label map of an image (token labeling).

    **Required keys:** ``img_path``, ``img`` (after ``LoadImageFromFile``).
    **Added keys:** ``token_label_topk`` (``(2, k, h, w)`` tensor), ``token_label_affine``
    (identity: the image shows the whole map) and ``token_label_img_shape``.

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
        """Add the label map and the identity affine map to ``results``."""
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
        results[AFFINE_KEY] = np.eye(3)
        results[SHAPE_KEY] = tuple(results['img'].shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(label_root={self.label_root!r}, '
                f'suffix={self.suffix!r}, path_depth={self.path_depth})')


@TRANSFORMS.register_module()
class TokenLabelRandomFlip(RandomFlip):
    """mmcv's ``RandomFlip`` that also flips the token label map (same arguments)."""

    def _flip(self, results: Dict) -> None:
        super()._flip(results)
        compose_token_label(results, flip_affine(results['flip_direction']))
        results[FLIP_KEY] = True


@TRANSFORMS.register_module()
class TokenLabelTarget(BaseTransform):
    """Make ``token_label``, the per-token soft targets, from the label map and its affine map.

    **Required keys:** ``token_label_topk``, ``token_label_affine`` (from
    :class:`LoadTokenLabel` and the label-aware geometric transforms). **Added key:**
    ``token_label``; the label map keys are removed. Pack it with
    ``dict(type='PackInputs', algorithm_keys=('token_label', ))``.

    Args:
        num_classes (int): Number of classes. Defaults to 1000.
        label_size (int): Side of the token grid of the targets (official
            ``--token-label-size``). Defaults to 7.
        normalize (bool): Turn each token's scores into a distribution. Defaults to True.

    Raises:
        ValueError: If the image was resized, cropped or flipped by a transform that did not
            update the label map (use the ``uniformer_mm.TokenLabel*`` transforms).
    """

    def __init__(self, num_classes: int = 1000, label_size: int = 7,
                 normalize: bool = True) -> None:
        if num_classes <= 0 or label_size <= 0:
            raise ValueError('num_classes and label_size must be > 0, got '
                             f'{num_classes} and {label_size}')
        self.num_classes = num_classes
        self.label_size = label_size
        self.normalize = normalize

    def _check_followed(self, results: Dict) -> None:
        shape = tuple(results['img'].shape[:2])
        if shape != tuple(results[SHAPE_KEY]):
            raise ValueError(
                f'the image is {shape} but its token label map was last moved with an image of '
                f'{tuple(results[SHAPE_KEY])}: a crop or resize before {type(self).__name__} is '
                'not label-aware; use uniformer_mm.TokenLabelRandomResizedCrop')
        if results.get('flip', False) and not results.get(FLIP_KEY, False):
            raise ValueError('the image was flipped by a transform that did not flip its token '
                             'label map; use uniformer_mm.TokenLabelRandomFlip')

    def transform(self, results: Dict) -> Dict:
        """Replace the label map keys by ``token_label``."""
        if TOPK_KEY not in results:
            raise KeyError(f'{self.__class__.__name__} needs {TOPK_KEY!r}: put '
                           "dict(type='uniformer_mm.LoadTokenLabel', label_root=...) after "
                           'LoadImageFromFile in the pipeline')
        self._check_followed(results)
        topk, affine = results.pop(TOPK_KEY), results.pop(AFFINE_KEY)
        results.pop(SHAPE_KEY)
        results.pop(FLIP_KEY, None)
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
        results['token_label'] = token_label_from_topk(
            topk, self.num_classes, affine, self.label_size, self.normalize)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'label_size={self.label_size}, normalize={self.normalize})')
