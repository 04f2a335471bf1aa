#!/usr/bin/env python
"""Generate the small demo datasets of ``make demo``, in the real on-disk formats.

Everything is drawn with OpenCV from a fixed seed (no download), small enough for CPU, in
two sizes: ``demo`` (the default; enough samples for ``make demo``'s models to learn every
task) and ``small`` (the test suite's; enough to exercise every format):

* ``cls/``: ImageNet-style class folders ``{train,val}/<class>/<n>.png`` (4 shape classes);
* ``coco/``: COCO ``{train,val}/<id>.jpg`` with ``annotations/instances_{train,val}.json``
  (``person`` and ``ball`` boxes with polygon masks) and
  ``annotations/person_keypoints_{train,val}.json`` (17 COCO keypoints per person, skeleton;
  the ``area`` that scales OKS is the person's box area: a stick figure covers far fewer
  pixels than a real person of the same size, which would make OKS much stricter);
* ``ade/``: ADE20K layout ``images/{training,validation}/*.jpg`` and
  ``annotations/{training,validation}/*.png`` label maps (0 = "other", ignored with
  ``reduce_zero_label=True`` as in ADE20K);
* ``kinetics/``: ``videos_{train,val}/*.mp4`` (real MPEG-4 files, 16 frames) and
  ``kinetics_{train,val}_list_videos.txt`` lines ``<file> <label>`` (4 motion classes: a
  square of a random colour at a random place moving right, left, down or up; the classes
  look the same in every single frame, only the motion tells them apart).

Usage::

    python tools/demo/make_data.py work_dirs/demo/data [--size small]
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

CLS_CLASSES = ('red_disk', 'green_square', 'blue_bar', 'yellow_ring')
DET_CLASSES = ('person', 'ball')
SEG_CLASSES = ('ground', 'disk', 'square')
VIDEO_CLASSES = ('move_right', 'move_left', 'move_down', 'move_up')
KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
             'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
             'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
# COCO's skeleton (1-based keypoint indices), as in person_keypoints_*.json.
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
            [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6],
            [5, 7]]

#: (train, val) samples per data set: ``demo`` for make demo, ``small`` for the tests. The
#: small cls train split stays 32 images (configs/demo/cls_uniformer_tiny_dist.py needs a
#: multiple of 4).
SIZES = dict(demo=dict(cls=(256, 64), coco=(160, 40), ade=(128, 32), kinetics=(128, 48)),
             small=dict(cls=(32, 16), coco=(24, 8), ade=(24, 8), kinetics=(24, 12)))


def _noise_bg(rng: np.random.Generator, h: int, w: int, base: int = 90) -> np.ndarray:
    img = rng.normal(base, 20, (h, w, 3)).clip(0, 255).astype(np.uint8)
    return cv2.GaussianBlur(img, (5, 5), 0)


# --------------------------------------------------------------------------------- cls
def make_cls(root: str, rng: np.random.Generator, counts: Tuple[int, int], size: int = 64
             ) -> Dict[str, int]:
    """ImageNet-style folders: one directory per class (mmpretrain ``CustomDataset``)."""
    colors = {'red_disk': (40, 40, 220), 'green_square': (40, 200, 40),
              'blue_bar': (220, 80, 40), 'yellow_ring': (40, 220, 230)}  # BGR
    out = {}
    for split, n in zip(('train', 'val'), counts):
        for c, name in enumerate(CLS_CLASSES):
            d = osp.join(root, split, name)
            os.makedirs(d, exist_ok=True)
            for i in range(n // len(CLS_CLASSES)):
                img = _noise_bg(rng, size, size)
                cx, cy = rng.integers(20, size - 20, 2)
                r = int(rng.integers(9, 16))
                col = tuple(int(v) for v in np.clip(np.array(colors[name]) +
                                                    rng.integers(-25, 25, 3), 0, 255))
                if name == 'red_disk':
                    cv2.circle(img, (int(cx), int(cy)), r, col, -1)
                elif name == 'green_square':
                    cv2.rectangle(img, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)),
                                  col, -1)
                elif name == 'blue_bar':
                    cv2.rectangle(img, (int(cx - r), int(cy - 4)), (int(cx + r), int(cy + 4)),
                                  col, -1)
                else:
                    cv2.circle(img, (int(cx), int(cy)), r, col, 4)
                cv2.imwrite(osp.join(d, f'{split}_{c}_{i:03d}.png'), img)
        out[split] = n
    return out


# --------------------------------------------------------------------------------- coco
def _person(rng: np.random.Generator, cx: float, top: float, height: float
            ) -> np.ndarray:
    """17 COCO keypoints (x, y) of an upright stick figure ``height`` px tall.

    Left keypoints are on the image's left (-x) side. The face points (nose, eyes, ears) keep
    a fixed layout around the head, which is all the image shows of them; the body joints
    sway at random and the arms are raised at random.
    """
    u = height / 8.0  # body unit
    sway = rng.uniform(-0.3, 0.3, (17, 2)) * u
    sway[:5] = sway[0]  # the face moves as one piece
    arm = rng.uniform(-1.0, 1.0, 2)  # arm raise per side
    pts = np.array([
        [0, 0.6],                                  # nose
        [-0.25, 0.4], [0.25, 0.4],                 # eyes
        [-0.5, 0.5], [0.5, 0.5],                   # ears
        [-1.0, 1.6], [1.0, 1.6],                   # shoulders
        [-1.6, 2.8 - arm[0]], [1.6, 2.8 - arm[1]],  # elbows
        [-2.0, 4.0 - 2 * arm[0]], [2.0, 4.0 - 2 * arm[1]],  # wrists
        [-0.7, 4.2], [0.7, 4.2],                   # hips
        [-0.8, 5.9], [0.8, 5.9],                   # knees
        [-0.9, 7.6], [0.9, 7.6],                   # ankles
    ]) * u + sway
    pts[:, 0] += cx
    pts[:, 1] += top
    return pts


def _draw_person(img: np.ndarray, mask: np.ndarray, kpts: np.ndarray, color: Tuple[int, ...],
                 thick: int) -> None:
    """A filled head and torso with thick limbs, in ``img`` and (as 1) in ``mask``."""
    head_r = max(int(np.linalg.norm(kpts[3] - kpts[4]) / 2) + 1, 2)
    torso = kpts[[5, 6, 12, 11]].astype(np.int32)  # shoulders, hips
    for canvas, col in ((img, color), (mask, 1)):
        cv2.fillPoly(canvas, [torso], col)
        for a, b in SKELETON:
            p, q = kpts[a - 1].astype(int), kpts[b - 1].astype(int)
            cv2.line(canvas, tuple(int(v) for v in p), tuple(int(v) for v in q), col, thick)
        cv2.circle(canvas, tuple(int(v) for v in kpts[0]), head_r, col, -1)
    # the face points, in a darker shade: the eyes and ears can be located, not guessed
    dark = tuple(int(c) // 3 for c in color)
    for k in range(1, 5):
        cv2.circle(img, tuple(int(v) for v in kpts[k]), 1, dark, -1)


def _polygons(mask: np.ndarray) -> List[List[float]]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def make_coco(root: str, rng: np.random.Generator, counts: Tuple[int, int], size: int = 128
              ) -> Dict[str, int]:
    """COCO instances (boxes + polygon masks) and person keypoints of the same images."""
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    det_cats = [dict(id=i + 1, name=n, supercategory=n) for i, n in enumerate(DET_CLASSES)]
    kpt_cat = dict(id=1, name='person', supercategory='person', keypoints=list(KEYPOINTS),
                   skeleton=SKELETON)
    out, ann_id = {}, 1
    for split, n in zip(('train', 'val'), counts):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, inst, kpts_anns = [], [], []
        for i in range(n):
            img_id = (0 if split == 'train' else 1000) + i + 1
            img = _noise_bg(rng, size, size, base=120)
            file_name = f'{img_id:06d}.jpg'
            images.append(dict(id=img_id, file_name=file_name, height=size, width=size))
            # one person (with keypoints) and one or two balls
            mask = np.zeros((size, size), np.uint8)
            height = rng.uniform(70, 105)
            kp = _person(rng, rng.uniform(35, size - 35), rng.uniform(6, size - height - 6),
                         height)
            _draw_person(img, mask, kp, (int(rng.integers(0, 60)), int(rng.integers(0, 60)),
                                         int(rng.integers(150, 255))), max(int(height / 16), 4))
            objects = [('person', mask, kp)]
            for _ in range(int(rng.integers(1, 3))):
                bm = np.zeros((size, size), np.uint8)
                r = int(rng.integers(7, 13))
                c = tuple(int(v) for v in rng.integers(r + 2, size - r - 2, 2))
                col = (int(rng.integers(150, 255)), int(rng.integers(100, 200)), 30)
                cv2.circle(img, c, r, col, -1)
                cv2.circle(bm, c, r, 1, -1)
                # later objects occlude earlier ones
                for _, m, _k in objects:
                    m[bm > 0] = 0
                objects.append(('ball', bm, None))
            cv2.imwrite(osp.join(root, split, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            for name, m, k in objects:
                ys, xs = np.nonzero(m)
                if len(xs) == 0:
                    continue
                x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
                ann = dict(id=ann_id, image_id=img_id, category_id=DET_CLASSES.index(name) + 1,
                           bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                           area=float(m.sum()), iscrowd=0, segmentation=_polygons(m))
                inst.append(ann)
                if k is not None:
                    vis = np.full(17, 2)
                    inside = (k[:, 0] >= 0) & (k[:, 0] < size) & (k[:, 1] >= 0) & (
                        k[:, 1] < size)
                    vis[~inside] = 0
                    flat = np.concatenate([np.where(vis[:, None] > 0, k, 0), vis[:, None]],
                                          axis=1).reshape(-1)
                    # OKS scale: the box area (see the module docstring)
                    kpts_anns.append(dict(ann, category_id=1, keypoints=flat.tolist(),
                                          area=float((x1 - x0) * (y1 - y0)),
                                          num_keypoints=int((vis > 0).sum())))
                ann_id += 1
        info = dict(description='uniformer_mm demo (synthetic)', version='1.0')
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(info=info, images=images, annotations=inst, categories=det_cats), f)
        with open(osp.join(root, 'annotations', f'person_keypoints_{split}.json'), 'w') as f:
            json.dump(dict(info=info, images=images, annotations=kpts_anns,
                           categories=[kpt_cat]), f)
        out[split] = n
    return out


# --------------------------------------------------------------------------------- ade
def make_ade(root: str, rng: np.random.Generator, counts: Tuple[int, int], size: int = 64
             ) -> Dict[str, int]:
    """ADE20K-style images and label PNGs (0 = other/ignored, 1.. = classes)."""
    out = {}
    for split, n in zip(('training', 'validation'), counts):
        img_dir = osp.join(root, 'images', split)
        ann_dir = osp.join(root, 'annotations', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(n):
            img = _noise_bg(rng, size, size, base=70)
            label = np.ones((size, size), np.uint8)  # ground
            r = int(rng.integers(8, 14))
            c = tuple(int(v) for v in rng.integers(r, size - r, 2))
            cv2.circle(img, c, r, (60, 60, 210), -1)
            cv2.circle(label, c, r, 2, -1)
            x, y = (int(v) for v in rng.integers(0, size - 18, 2))
            s = int(rng.integers(10, 18))
            cv2.rectangle(img, (x, y), (x + s, y + s), (60, 200, 60), -1)
            cv2.rectangle(label, (x, y), (x + s, y + s), 3, -1)
            label[:2] = 0  # a strip of "other" pixels, ignored by reduce_zero_label
            name = f'ADE_{split}_{i:08d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(ann_dir, name + '.png'), label)
        out[split] = n
    return out


# --------------------------------------------------------------------------------- video
def make_kinetics(root: str, rng: np.random.Generator, counts: Tuple[int, int], size: int = 64,
                  frames: int = 16) -> Dict[str, int]:
    """Kinetics-style video list files and MPEG-4 videos of a square moving one way."""
    steps = {'move_right': (1, 0), 'move_left': (-1, 0), 'move_down': (0, 1), 'move_up': (0, -1)}
    out = {}
    for split, n in zip(('train', 'val'), counts):
        vdir = osp.join(root, f'videos_{split}')
        os.makedirs(vdir, exist_ok=True)
        lines = []
        for i in range(n):
            label = i % len(VIDEO_CLASSES)
            dx, dy = steps[VIDEO_CLASSES[label]]
            name = f'{VIDEO_CLASSES[label]}_{i:04d}.mp4'
            writer = cv2.VideoWriter(osp.join(vdir, name), cv2.VideoWriter_fourcc(*'mp4v'), 8,
                                     (size, size))
            if not writer.isOpened():
                raise RuntimeError('OpenCV cannot write MPEG-4 video here (its FFmpeg backend '
                                   'is missing); install opencv-python from PyPI')
            bg = _noise_bg(rng, size, size, base=80)
            speed = rng.uniform(2.0, 3.0)
            x0, y0 = rng.uniform(16, size - 16, 2)
            x0 -= dx * speed * frames / 2
            y0 -= dy * speed * frames / 2
            col = tuple(int(v) for v in rng.integers(150, 255, 3))
            for t in range(frames):
                f = bg.copy()
                x, y = int(x0 + dx * speed * t), int(y0 + dy * speed * t)
                cv2.rectangle(f, (x - 6, y - 6), (x + 6, y + 6), col, -1)
                writer.write(f)
            writer.release()
            lines.append(f'{name} {label}')
        with open(osp.join(root, f'kinetics_{split}_list_videos.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        out[split] = n
    return out


MAKERS = dict(cls=make_cls, coco=make_coco, ade=make_ade, kinetics=make_kinetics)


def make_all(root: str, seed: int = 0, only: Sequence[str] = tuple(MAKERS),
             size: str = 'small') -> Dict[str, dict]:
    """Generate the datasets in ``only`` under ``root``; returns the sample counts.

    Args:
        root (str): Output directory (one sub-directory per data set).
        seed (int): Seed of every random choice.
        only (Sequence[str]): Data sets to make (keys of :data:`MAKERS`).
        size (str): ``'small'`` (tests) or ``'demo'`` (make demo), see :data:`SIZES`.
    """
    if size not in SIZES:
        raise ValueError(f'size={size!r}: choose one of {sorted(SIZES)}')
    out = {}
    for name in only:
        rng = np.random.default_rng([seed, list(MAKERS).index(name)])
        out[name] = MAKERS[name](osp.join(root, name), rng, SIZES[size][name])
    return out


def main(argv=None) -> None:
    """Command line: ``make_data.py ROOT [--only cls coco ...] [--seed N] [--size small]``."""
    parser = argparse.ArgumentParser(description='Generate the demo datasets')
    parser.add_argument('root', help='output directory')
    parser.add_argument('--only', nargs='+', choices=sorted(MAKERS), default=list(MAKERS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', choices=sorted(SIZES), default='demo',
                        help='demo: what make demo trains on; small: what the tests use')
    args = parser.parse_args(argv)
    for name, counts in make_all(args.root, args.seed, args.only, args.size).items():
        print(f'{name}: {counts} -> {osp.join(args.root, name)}', flush=True)


if __name__ == '__main__':
    main()
