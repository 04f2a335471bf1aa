"""Config checks (and the adjustments they imply) run by ``tools/train.py`` /
``tools/test.py`` before anything is built.

* The class count in one place: a top-level ``num_classes = N`` reaches every ``num_classes``
  of the model (heads, the data preprocessor, mmaction2's MixUp/CutMix blending, ...), the
  mmpretrain data preprocessor (which makes the mixup/cutmix targets) and the metrics' top-k
  (:func:`apply_num_classes`); what still disagrees afterwards -- two heads, a head and the
  dataset's classes, a label of the list file beyond the head -- stops the run with the keys
  and values involved (:func:`check_num_classes`).
* A neck or decode head whose ``in_channels`` do not fit what a uniformer_mm backbone puts
  out (its ``out_indices``) is named before the toolbox's bare ``AssertionError`` deep in the
  first forward pass (:func:`check_backbone_channels`).

:func:`check_config` runs all of them. :func:`scale_log_interval` makes training log
progress a few times per epoch on small data too.
"""
import json
import logging
import os
import os.path as osp
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from ..apis.config import toolbox_of
from .data import _dataset_dicts

__all__ = ['check_config', 'apply_num_classes', 'check_num_classes', 'clip_topk',
           'dataset_class_counts', 'check_backbone_channels', 'scale_log_interval']

#: Sub-configs of a model whose ``num_classes`` is another count than the dataset's classes:
#: mmdet's RPN (object / background) and HTC's semantic (stuff) head.
_OTHER_COUNTS = ('rpn_head', 'semantic_head')
#: How to set the class count once (the end of every error message here).
_FIX = ('Set the class count once, as a top-level `num_classes = N` in the config (or '
        '--cfg-options num_classes=N): tools/train.py and tools/test.py write it into every '
        'num_classes of the model, the data preprocessor and the metric top-k.')
#: COCO-style annotation files larger than this are not opened for the category check (a
#: full COCO train json takes seconds to parse; a custom one is small).
_MAX_JSON_BYTES = 64 * 2**20


def _num_classes_paths(node: Any, path: str) -> Iterator[Tuple[str, Any, str]]:
    """``(key path, owning dict, key)`` of every ``num_classes`` under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _OTHER_COUNTS:
                continue
            sub = f'{path}.{key}' if path else key
            if key == 'num_classes' and (value is None or isinstance(value, int)):
                yield sub, node, key
            else:
                yield from _num_classes_paths(value, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _num_classes_paths(value, f'{path}[{i}]')


def _class_count_slots(cfg: Config) -> List[Tuple[str, Any, str]]:
    """Every place of ``cfg`` that holds the model's class count."""
    slots = list(_num_classes_paths(cfg.get('model'), 'model'))
    # mmpretrain configs keep the preprocessor at the top level (the runner moves it into the
    # model); its num_classes makes the one-hot targets of mixup / cutmix / label smoothing.
    if isinstance(cfg.get('data_preprocessor'), dict):
        slots += list(_num_classes_paths(cfg.data_preprocessor, 'data_preprocessor'))
    return slots


def _evaluators(cfg: Config) -> Iterator[Tuple[str, dict]]:
    for split in ('val', 'test'):
        ev = cfg.get(f'{split}_evaluator')
        items = ev if isinstance(ev, (list, tuple)) else [ev]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield (f'{split}_evaluator' + (f'[{i}]' if isinstance(ev, (list, tuple))
                                               else '')), item


def clip_topk(cfg: Config, num_classes: int) -> List[str]:
    """Drop the top-k accuracies with ``k > num_classes`` (top-5 of 3 classes cannot exist;
    mmpretrain's ``Accuracy`` raises at the end of the first validation).

    Covers mmpretrain's ``Accuracy`` (``topk``), mmaction2's ``AccMetric``
    (``metric_options.top_k_accuracy.topk``, (1, 5) when not given) and mmpretrain heads'
    ``topk``. Returns the changes, as ``key: old -> new``.
    """
    changes = []

    def clip(owner: dict, key: str, where: str, default: Any = None) -> None:
        old = owner.get(key, default)
        if old is None:
            return
        ks = (old, ) if isinstance(old, int) else tuple(old)
        new = tuple(k for k in ks if k <= num_classes) or (1, )
        if new != ks:
            owner[key] = new
            changes.append(f'{where}.{key}: {ks} -> {new}')

    for where, ev in _evaluators(cfg):
        kind = str(ev.get('type', '')).split('.')[-1]
        if kind == 'Accuracy':
            clip(ev, 'topk', where)
        elif kind == 'AccMetric':
            options = ev.setdefault('metric_options', {})
            top = options.setdefault('top_k_accuracy', {})
            clip(top, 'topk', f'{where}.metric_options.top_k_accuracy', default=(1, 5))
    head = (cfg.get('model') or {}).get('head')
    if isinstance(head, dict):
        clip(head, 'topk', 'model.head')
    return changes


def apply_num_classes(cfg: Config) -> Optional[int]:
    """Write a top-level ``num_classes`` into every place that needs the class count.

    Those places are every ``num_classes`` of ``cfg.model`` (except mmdet's RPN and HTC's
    semantic head, which count something else) and of a top-level ``data_preprocessor``;
    an mmpretrain config without any preprocessor class count gets
    ``data_preprocessor.num_classes`` (its batch augmentations need it). The metrics' top-k
    are clipped to the class count (:func:`clip_topk`). Every change is logged.

    Args:
        cfg (Config): The resolved config (``--cfg-options`` applied), changed in place.

    Returns:
        int | None: The class count, or None when the config has no top-level
        ``num_classes`` (nothing is changed then).

    Raises:
        ValueError: ``num_classes`` is not a positive integer, or nothing in the model takes
            a class count.
    """
    n = cfg.get('num_classes')
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f'num_classes = {n!r}: the class count must be a positive integer')
    slots = _class_count_slots(cfg)
    changed = []
    if cfg.get('default_scope') == 'mmpretrain' and not any(
            p.startswith(('data_preprocessor', 'model.data_preprocessor')) for p, _, _ in slots):
        cfg.data_preprocessor = dict(cfg.get('data_preprocessor') or {}, num_classes=n)
        changed.append(f'data_preprocessor.num_classes (unset -> {n})')
    elif not slots:
        raise ValueError(f'num_classes = {n} is set, but the model has no num_classes to take '
                         'it (a pose model counts keypoints: head.out_channels)')
    heads = []
    for path, owner, key in slots:
        if owner[key] != n:
            changed.append(f'{path} ({owner[key]} -> {n})')
            if path.startswith('model.') and 'head' in path:
                heads.append(path)
            owner[key] = n
    changed += clip_topk(cfg, n)
    if changed:
        print_log(f'num_classes = {n}: set ' + ', '.join(changed) +
                  ('; a pretrained classifier of another class count is not loaded into '
                   'the resized head(s), which start from their initialisation'
                   if heads else ''), logger='current', level=logging.INFO)
    return n


def _subfolders(path: str) -> Optional[List[str]]:
    if not osp.isdir(path):
        return None
    return sorted(e.name for e in os.scandir(path) if e.is_dir())


def _join(root: str, path: str) -> str:
    return path if osp.isabs(path) or not root else osp.join(root, path)


def dataset_class_counts(cfg: Config, splits: Sequence[str] = ('train', 'val', 'test')
                         ) -> List[Tuple[str, str, int]]:
    """What the datasets say about the class count, where it is cheap to know.

    Returns ``(config key, what it is, count)`` rows with the kinds ``'classes'`` (the number
    of ``metainfo.classes``; for mmpretrain's ``CustomDataset`` without them and without an
    ``ann_file``: its class sub-folders) and ``'max label + 1'`` (mmaction2 list files
    ``path label``: the largest label plus one, which must not exceed the class count).
    """
    rows = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, ds in _dataset_dicts(loader.get('dataset'), f'{split}_dataloader.dataset'):
            kind = str(ds.get('type', '')).split('.')[-1]
            classes = (ds.get('metainfo') or {}).get('classes')
            root = ds.get('data_root') or ''
            if isinstance(classes, (list, tuple)):
                rows.append((f'{key}.metainfo.classes', 'classes', len(classes)))
            elif kind == 'CustomDataset' and not ds.get('ann_file'):
                prefix = ds.get('data_prefix') or ''
                prefix = prefix.get('img_path', '') if isinstance(prefix, dict) else prefix
                found = _subfolders(_join(root, prefix))
                if found:
                    rows.append((f'{key} (class folders of {_join(root, prefix)!r})',
                                 'classes', len(found)))
            if kind in ('VideoDataset', 'RawframeDataset', 'RepeatAugDataset') and \
                    isinstance(ds.get('ann_file'), str) and not ds.get('multi_class'):
                path = _join(root, ds['ann_file'])
                if osp.isfile(path):
                    with open(path, encoding='utf-8') as f:
                        labels = [int(ln.split()[-1]) for ln in f
                                  if ln.strip() and ln.split()[-1].lstrip('-').isdigit()]
                    if labels:
                        rows.append((f'{key}.ann_file ({path!r})', 'max label + 1',
                                     max(labels) + 1))
    return rows


def _check_coco_categories(cfg: Config, splits: Sequence[str]) -> None:
    """The ``metainfo.classes`` of a COCO-format dataset must be category names of its json
    (mmdet keeps only the annotations of those names: a typo trains on no objects)."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, ds in _dataset_dicts(loader.get('dataset'), f'{split}_dataloader.dataset'):
            classes = (ds.get('metainfo') or {}).get('classes')
            ann = ds.get('ann_file')
            if not (str(ds.get('type', '')).endswith('CocoDataset') and classes and
                    isinstance(ann, str)):
                continue
            path = _join(ds.get('data_root') or '', ann)
            if not osp.isfile(path) or osp.getsize(path) > _MAX_JSON_BYTES:
                continue
            with open(path, encoding='utf-8') as f:
                cats = json.load(f).get('categories')
            if not isinstance(cats, list) or not all(isinstance(c, dict) and 'name' in c
                                                     for c in cats):
                continue  # not an instances file (mmpose reads its own format)
            names = [c['name'] for c in cats]
            missing = [c for c in classes if c not in names]
            if missing:
                raise ValueError(
                    f'{key}.metainfo.classes names {missing}, which are not categories of '
                    f'{path!r} (its categories: {names}); mmdet would train on no objects '
                    'of those classes. Use the json\'s category names (in the order of the '
                    'model\'s class indices).')


def _check_class_folders(cfg: Config, splits: Sequence[str]) -> None:
    """``metainfo.classes`` of mmpretrain's ``CustomDataset`` (class folders, no ann_file)
    must be the folder names in sorted order: the dataset numbers the folders that way and
    takes the names as given, so another order names every prediction wrongly (while the
    accuracy looks right)."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, ds in _dataset_dicts(loader.get('dataset'), f'{split}_dataloader.dataset'):
            classes = (ds.get('metainfo') or {}).get('classes')
            if not (str(ds.get('type', '')).split('.')[-1] == 'CustomDataset' and classes
                    and not ds.get('ann_file')):
                continue
            prefix = ds.get('data_prefix') or ''
            prefix = prefix.get('img_path', '') if isinstance(prefix, dict) else prefix
            folders = _subfolders(_join(ds.get('data_root') or '', prefix))
            if folders and list(classes) != folders:
                raise ValueError(
                    f'{key}.metainfo.classes = {tuple(classes)} but CustomDataset numbers the '
                    f'class folders in sorted order: {tuple(folders)}. Give the classes in '
                    'that order, or leave metainfo.classes out (the folder names are used).')


def check_num_classes(cfg: Config, splits: Sequence[str] = ('train', 'val', 'test'),
                      training: bool = True) -> None:
    """Refuse a config whose class counts disagree, before anything is built.

    Compares every ``num_classes`` of the model (and of a top-level ``data_preprocessor``)
    with each other and with :func:`dataset_class_counts`; checks COCO-format category names.

    Args:
        cfg (Config): The resolved config.
        splits (Sequence[str]): The dataloaders the command uses.
        training (bool): False for testing, where a model with more classes than the test
            data (an ImageNet classifier on a subset) is only reported: every label can
            still be predicted.

    Raises:
        ValueError: Naming every key and value involved, and how to set the count once.
    """
    slots = [(p, owner[k]) for p, owner, k in _class_count_slots(cfg)
             if isinstance(owner[k], int)]
    values = {v for _, v in slots}
    if len(values) > 1:
        lines = '\n  '.join(f'{p} = {v}' for p, v in slots)
        raise ValueError(f'the class counts of the config disagree:\n  {lines}\n{_FIX}')
    _check_coco_categories(cfg, splits)
    _check_class_folders(cfg, splits)
    if not values:
        return
    n = values.pop()
    where = slots[0][0]
    for key, kind, count in dataset_class_counts(cfg, splits):
        if kind == 'classes' and count != n:
            if not training and count < n:
                print_log(f'{key} has {count} classes, the model {n} ({where})',
                          logger='current', level=logging.WARNING)
                continue
            raise ValueError(f'{key} has {count} classes but {where} = {n}. {_FIX}')
        if kind == 'max label + 1' and count > n:
            raise ValueError(f'{key} has label {count - 1}, which a {n}-class model cannot '
                             f'predict ({where} = {n}). {_FIX}')


def _built_backbone_channels(backbone_cfg: dict) -> Optional[List[int]]:
    """Channels of each output of a uniformer_mm backbone config, without its weights."""
    from copy import deepcopy

    from ..registry import MODELS
    cfg = deepcopy(dict(backbone_cfg))
    cfg.pop('init_cfg', None)
    cfg.pop('pretrained', None)
    # The class itself, not MODELS.build: that would look the name up in whatever default
    # scope the process has (a toolbox's, or mmengine's) instead of ours.
    backbone = MODELS.get(str(cfg.pop('type')).split('.', 1)[-1])(**cfg)
    dims = getattr(backbone, 'embed_dims', None)
    indices = getattr(backbone, 'out_indices', None)
    if dims is None or indices is None:
        return None
    return [int(dims[i]) for i in indices]


def check_backbone_channels(cfg: Config) -> None:
    """A neck (or a neck-less decode head) must take what the uniformer_mm backbone gives.

    mmdet's / mmseg's ``FPN`` only asserts ``len(inputs) == len(in_channels)`` in its first
    forward pass; a wrong width fails later still, inside a convolution. Checked for
    ``model.neck.in_channels`` (or, without a neck, a list ``model.decode_head.in_channels``)
    against the backbone's ``embed_dims`` at its ``out_indices``.

    Raises:
        ValueError: Naming both sides and the settings that make them agree.
    """
    model = cfg.get('model') or {}
    backbone = model.get('backbone')
    if not (isinstance(backbone, dict) and str(backbone.get('type', '')).startswith(
            'uniformer_mm.') and toolbox_of(cfg) in ('mmdet', 'mmseg')):
        return
    neck = model.get('neck')
    if isinstance(neck, (list, tuple)):
        neck = neck[0] if neck else None
    if isinstance(neck, dict) and isinstance(neck.get('in_channels'), (list, tuple)):
        key, want = 'model.neck.in_channels', list(neck['in_channels'])
    elif neck is None and isinstance((model.get('decode_head') or {}).get('in_channels'),
                                     (list, tuple)):
        key, want = 'model.decode_head.in_channels', list(model['decode_head']['in_channels'])
    else:
        return
    have = _built_backbone_channels(backbone)
    if have is None or have == want:
        return
    out_indices = backbone.get('out_indices', '(default)')
    raise ValueError(
        f'{key} = {want} does not fit the backbone: {backbone["type"]} with out_indices='
        f'{out_indices} gives {len(have)} feature map(s) with {have} channels. Either set '
        f'{key} = {have}, or make the backbone give what the neck expects (e.g. '
        'model.backbone.out_indices=(0, 1, 2, 3) and the neck in_channels to the four stage '
        'widths, the embed_dims of the arch).')


def check_config(cfg: Config, splits: Sequence[str] = ('train', 'val', 'test'),
                 training: bool = True) -> None:
    """All checks of this module, in order (``cfg`` changed in place by
    :func:`apply_num_classes`); see the module docstring and :func:`check_num_classes` for
    ``training``."""
    n = apply_num_classes(cfg)
    if n is None:
        # No single place: still keep the metric top-k possible for the head's count.
        counts = {owner[k] for _, owner, k in _class_count_slots(cfg)
                  if isinstance(owner[k], int)}
        if len(counts) == 1:
            changes = clip_topk(cfg, counts.pop())
            if changes:
                print_log('top-k accuracies beyond the class count dropped: ' +
                          ', '.join(changes), logger='current', level=logging.INFO)
    check_num_classes(cfg, splits, training)
    check_backbone_channels(cfg)


def scale_log_interval(cfg: Config, lines_per_epoch: int = 5) -> None:
    """Add :class:`~uniformer_mm.engine.ScaleLogIntervalHook` (unless the config has one): the
    logger interval becomes at most ``1 / lines_per_epoch`` of an epoch, so that a fine-tuning
    run on a few hundred images shows progress instead of minutes of silence."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('ScaleLogIntervalHook') for h in hooks):
        cfg.custom_hooks = [*hooks, dict(type='uniformer_mm.ScaleLogIntervalHook',
                                         lines_per_epoch=lines_per_epoch)]
