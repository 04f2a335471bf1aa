"""Class orders of video classifiers, and reordering classifier rows by class name.

Row ``i`` of a classifier scores class ``i`` of the annotation lists it was trained with. The
official UniFormer video checkpoints follow the official category lists
(``video_classification/data_list/`` of Sense-X/UniFormer); mmaction2's annotation lists,
which our configs read, number classes by mmaction2's label maps. The two orders differ for
Kinetics-400/600 and Something-Something V1/V2 and agree for UCF101 and HMDB51
(``docs/labels.md`` has the evidence). Both are shipped as package data
(``uniformer_mm/data/labels``) under the names of :data:`LABEL_ORDERS`.

* :func:`read_labels` -- a class order from a registered name, a label file or a list;
* :func:`label_permutation` -- which source row each destination row takes, by class name;
* :func:`permute_classifier` -- a state_dict with the classifier rows (official ``head.*`` /
  ``head_cls.*``, mmaction2 ``cls_head.fc_cls.*`` / ``cls_head.fc_token.*``) reordered.

Class names are compared after :func:`normalize_label` (case, ``_`` vs space, ``[something]``
vs ``something``, punctuation), and every class must match exactly one on the other side.
"""
import logging
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log

__all__ = ['LABEL_DIR', 'LABEL_ORDERS', 'DATASET_LABEL_ORDERS', 'CLASSIFIER_PREFIXES',
           'UNUSED_ROW_PREFIX', 'LabelOrderError', 'normalize_label', 'read_labels',
           'label_permutation', 'permute_classifier', 'official_order_for', 'reorder_classes',
           'apply_label_order', 'NO_REORDER']

#: Where the shipped label files live.
LABEL_DIR = Path(__file__).resolve().parent.parent / 'data' / 'labels'

#: Official HMDB51 files have 101 classifier rows (``MODEL.NUM_CLASSES: 101`` in
#: ``exp/uniformer_s16x4_hmdb51_prek400/config.yaml``) of which rows 51-100 never had a
#: sample; such rows are named with this prefix and are dropped by :func:`label_permutation`.
UNUSED_ROW_PREFIX = '__unused_row_'

#: Order name -> the shipped files that make it up (``uniformer_mm/data/labels``) and, for
#: orders with never-trained trailing rows, the total number of rows.
LABEL_ORDERS: Dict[str, Tuple[Tuple[str, ...], Optional[int]]] = {
    'official_k400': (('official_k400.txt', ), None),
    'official_k600': (('official_k600_common.list', 'official_k600_special.list'), None),
    'official_sthv1': (('official_sthv1.txt', ), None),
    'official_sthv2': (('official_sthv2.txt', ), None),
    # No official category file: the official split lists number the classes in
    # mmaction2's order (docs/labels.md).
    'official_ucf101': (('mmaction2_ucf101.txt', ), None),
    'official_hmdb51': (('mmaction2_hmdb51.txt', ), 101),
    'mmaction2_k400': (('mmaction2_k400.txt', ), None),
    'mmaction2_k600': (('mmaction2_k600.txt', ), None),
    'mmaction2_sthv1': (('mmaction2_sthv1.txt', ), None),
    'mmaction2_sthv2': (('mmaction2_sthv2.txt', ), None),
    'mmaction2_ucf101': (('mmaction2_ucf101.txt', ), None),
    'mmaction2_hmdb51': (('mmaction2_hmdb51.txt', ), None),
    # ImageNet-1k in the order of its sorted WordNet ids: torchvision's ImageFolder order of
    # the official DeiT-based training, and mmpretrain's ``ImageNet`` order. For class names
    # only: 'crane' names two classes (the bird and the machine), so it cannot be matched by
    # name against another order.
    'imagenet1k': (('imagenet1k.txt', ), None),
}

#: Dataset -> (order of the official checkpoints, order of mmaction2's annotation lists).
DATASET_LABEL_ORDERS: Dict[str, Tuple[str, str]] = {
    name: (f'official_{name}', f'mmaction2_{name}')
    for name in ('k400', 'k600', 'sthv1', 'sthv2', 'ucf101', 'hmdb51')
}

#: Classifier parameters whose first dimension is the class (official and mmaction2 names;
#: ``fc_cls.`` / ``fc_token.`` are a head's own state_dict). ``norm_cls`` (official light
#: models) normalises channels, not classes, and is not listed.
CLASSIFIER_PREFIXES: Tuple[str, ...] = ('head.', 'head_cls.', 'cls_head.fc_cls.',
                                        'cls_head.fc_token.', 'fc_cls.', 'fc_token.')

LabelSpec = Union[str, 'os.PathLike[str]', Sequence[str]]


class LabelOrderError(ValueError):
    """Two class orders (or a classifier and an order) that cannot be matched by name."""


def normalize_label(name: str) -> str:
    """A class name reduced for matching across spellings.

    Lower case, apostrophes dropped, every other run of non-alphanumerics one space:
    ``'massaging_person's_head'``, ``"massaging person's head"`` -> ``'massaging persons
    head'``; ``'Putting [something] on a surface'`` -> ``'putting something on a surface'``.
    """
    name = name.lower().replace("'", '').replace('\u2019', '')
    return ' '.join(re.sub(r'[^0-9a-z]+', ' ', name).split())


_INDEXED = re.compile(r'^(?P<name>.*\S)[ \t]+(?P<row>\d+)$')


def _parse_lines(lines: List[Tuple[str, str]]) -> List[str]:
    """Names of ``(file, line)`` pairs: one per line, or ``name<space|tab>row`` lines."""
    matches = [_INDEXED.match(line) for _, line in lines]
    if lines and all(matches):
        rows = [int(m.group('row')) for m in matches]  # type: ignore[union-attr]
        if sorted(rows) == list(range(len(rows))):
            names = [''] * len(rows)
            for m, row in zip(matches, rows):
                names[row] = m.group('name')  # type: ignore[union-attr]
            return names
    return [line for _, line in lines]


def read_labels(spec: LabelSpec) -> List[str]:
    """A class order: row ``i`` of the returned list is the name of class ``i``.

    Args:
        spec: One of

            * a name of :data:`LABEL_ORDERS` (``'official_k400'``, ``'mmaction2_sthv2'``, ...);
            * a label file, or several joined by ``','`` (read together): one class per line
              (row = line number, mmaction2's ``label_map.txt``), or ``name<TAB|space>row`` on
              every line (the official Kinetics lists), rows 0..N-1 each exactly once;
            * a list of class names.

    Raises:
        FileNotFoundError: Neither a known name nor an existing file (lists both).
        LabelOrderError: An empty order.
    """
    if not isinstance(spec, (str, os.PathLike)):
        names = [str(n) for n in spec]
    else:
        spec = os.fspath(spec)
        if spec in LABEL_ORDERS:
            files, num_rows = LABEL_ORDERS[spec]
            paths = [LABEL_DIR / f for f in files]
        else:
            num_rows = None
            paths = [Path(p) for p in spec.split(',')]
            for p in paths:
                if not p.is_file():
                    raise FileNotFoundError(
                        f'label order {spec!r}: {str(p)!r} is neither a label file nor a known '
                        f'order; known orders: {sorted(LABEL_ORDERS)}')
        lines = [(str(p), line.strip()) for p in paths
                 for line in p.read_text(encoding='utf-8').splitlines() if line.strip()]
        names = _parse_lines(lines)
        if num_rows is not None:
            names += [f'{UNUSED_ROW_PREFIX}{i}' for i in range(len(names), num_rows)]
    if not names:
        raise LabelOrderError(f'label order {spec!r} has no class')
    return names


def _index(names: Sequence[str], side: str) -> Dict[str, int]:
    index: Dict[str, int] = {}
    dups: Dict[str, List[str]] = {}
    for i, name in enumerate(names):
        key = normalize_label(name)
        if key in index:
            dups.setdefault(key, [names[index[key]]]).append(name)
        index[key] = index.get(key, i)
    if dups:
        raise LabelOrderError(f'the {side} order names some classes twice (after normalising): '
                              f'{list(dups.values())[:10]}')
    return index


def label_permutation(src: LabelSpec, dst: LabelSpec) -> List[int]:
    """Which source row each destination row takes: ``new[j] = old[perm[j]]``.

    Args:
        src: The order of the classifier rows now (see :func:`read_labels`).
        dst: The order they must have (the dataset's).

    Returns:
        list[int]: ``perm`` with ``len(dst)`` entries.

    Raises:
        LabelOrderError: A destination class the source lacks, a source class the destination
            lacks (other than never-trained :data:`UNUSED_ROW_PREFIX` rows), or a class named
            twice on one side; the message lists the names.
    """
    src_names, dst_names = read_labels(src), read_labels(dst)
    src_index, dst_index = _index(src_names, 'source'), _index(dst_names, 'destination')
    missing = [n for n in dst_names if normalize_label(n) not in src_index]
    extra = [n for n in src_names if normalize_label(n) not in dst_index
             and not n.startswith(UNUSED_ROW_PREFIX)]
    if missing or extra:
        raise LabelOrderError(
            f'cannot reorder {len(src_names)} classes ({_describe(src)}) into '
            f'{len(dst_names)} classes ({_describe(dst)}):'
            + (f'\n  {len(missing)} destination classes missing in the source: {missing[:10]}'
               if missing else '')
            + (f'\n  {len(extra)} source classes missing in the destination: {extra[:10]}'
               if extra else '')
            + '\nGive the label files of the checkpoint (source) and of the dataset '
            '(destination) that name the same classes.')
    return [src_index[normalize_label(n)] for n in dst_names]


def _describe(spec: LabelSpec) -> str:
    return repr(spec) if isinstance(spec, (str, os.PathLike)) else 'a list'


def permute_classifier(state_dict: Mapping[str, torch.Tensor], src: LabelSpec, dst: LabelSpec,
                       prefixes: Sequence[str] = CLASSIFIER_PREFIXES
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """A copy of ``state_dict`` whose classifier rows are in the ``dst`` class order.

    Every ``weight`` / ``bias`` under one of ``prefixes`` (official ``head.*`` and the light
    models' ``head_cls.*``; mmaction2 ``cls_head.fc_cls.*`` and ``cls_head.fc_token.*``) has
    its rows picked by :func:`label_permutation`; nothing else changes. Pure: the input is not
    modified.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped weights (official or mmaction2 layout).
        src: Class order of the rows now (:func:`read_labels` spec).
        dst: Class order to produce.
        prefixes (Sequence[str]): Classifier key prefixes.

    Raises:
        LabelOrderError: No classifier in ``state_dict``, a classifier whose row count differs
            from the number of ``src`` classes, or orders that do not match by name.
    """
    perm = label_permutation(src, dst)
    num_src = len(read_labels(src))
    keys = [k for k in state_dict
            if k.startswith(tuple(prefixes)) and k.rsplit('.', 1)[-1] in ('weight', 'bias')
            and '.' not in k[len(next(p for p in prefixes if k.startswith(p))):]]
    if not keys:
        raise LabelOrderError(
            f'no classifier to reorder: none of {list(prefixes)} + weight/bias is in the '
            f'state_dict (top-level names: {sorted({k.split(".")[0] for k in state_dict})})')
    bad = {k: tuple(state_dict[k].shape) for k in keys if state_dict[k].shape[0] != num_src}
    if bad:
        raise LabelOrderError(
            f'the classifier rows do not match the source order ({_describe(src)}, {num_src} '
            f'classes): {bad}. Give the label file the checkpoint was trained with.')
    index = torch.as_tensor(perm, dtype=torch.long)
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for k, v in state_dict.items():
        out[k] = v.index_select(0, index.to(v.device)) if k in keys else v
    return out


def official_order_for(order: str) -> Optional[str]:
    """The official-checkpoint order of the dataset whose mmaction2 order is ``order``.

    ``'mmaction2_k400'`` -> ``'official_k400'``; an official order maps to itself; None for a
    name of no known dataset (a user's own label file).
    """
    for official, mm in DATASET_LABEL_ORDERS.values():
        if order in (official, mm):
            return official
    return None


#: Official class count -> its order, where the count alone names the dataset (174 is V1 or
#: V2, 101 UCF101 or the official HMDB51 head: those need the config's order or a label file).
_ORDER_BY_COUNT: Dict[int, str] = {400: 'official_k400', 600: 'official_k600'}

#: ``--src-labels none``: keep the rows as they are.
NO_REORDER = 'none'


def _num_rows(state_dict: Mapping[str, torch.Tensor]) -> Optional[int]:
    for prefix in CLASSIFIER_PREFIXES:
        w = state_dict.get(prefix + 'weight')
        if w is not None:
            return int(w.shape[0])
    return None


def _label(spec: Optional[LabelSpec]) -> Optional[str]:
    """What ``meta['label_order']`` records for a spec: its name or file path(s)."""
    if spec is None or isinstance(spec, (str, os.PathLike)):
        return None if spec is None else os.fspath(spec)
    return 'a list of class names'


def reorder_classes(state_dict: Mapping[str, torch.Tensor], official: bool,
                    meta: Optional[Mapping] = None, src: Optional[LabelSpec] = None,
                    dst: Optional[LabelSpec] = None
                    ) -> Tuple['OrderedDict[str, torch.Tensor]', Optional[str], str]:
    """Put the classifier rows of a checkpoint in the destination class order, if needed.

    The one rule every entry point applies (the converter, ``tools/test.py``, ``init_cfg``):

    * ``src`` -- the order of the rows now. Given: used as is (``'none'``: no reordering).
      Otherwise an official file (``official=True``) is in the official order of the
      destination's dataset (:func:`official_order_for`), or of the one its class count names
      (400: Kinetics-400, 600: Kinetics-600); an OpenMMLab file is in the order its
      ``meta['label_order']`` records, or else already in the destination order (mmaction2's
      own zoo files, files trained with our configs): never reordered twice.
    * ``dst`` -- the order to produce: the config's ``label_order`` or a user's file; None
      keeps the rows.

    A classifier whose row count is not that of the implied source order (a Kinetics file
    converted for a Something-Something config, which will not load its classifier anyway)
    is left alone; with an explicit ``src`` it is an error.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped weights, official or mmaction2 layout.
        official (bool): Whether the file is an official release (un-prefixed keys).
        meta (Mapping, optional): The file's ``meta`` (``label_order`` is read).
        src, dst: :func:`read_labels` specs (names, label files, lists) or None.

    Returns:
        tuple: ``(state_dict, label_order, message)``: the (possibly reordered) weights, the
        order their rows are in now (for ``meta['label_order']``; None if unknown) and a line
        saying what was done ('' when there is no classifier).

    Raises:
        LabelOrderError: An explicit ``src`` that does not fit the rows, or orders that do not
            match by name (see :func:`permute_classifier`).
    """
    out = OrderedDict(state_dict)
    rows = _num_rows(state_dict)
    recorded = meta.get('label_order') if isinstance(meta, Mapping) else None
    if rows is None:
        return out, None, ''
    if isinstance(src, str) and src.lower() == NO_REORDER:
        return out, recorded, f'classifier rows kept as they are ({rows} classes, src labels none)'
    explicit = src is not None
    if src is None and official:
        src = (official_order_for(dst) if isinstance(dst, str) else None) \
            or _ORDER_BY_COUNT.get(rows)
        if src is None and dst is not None:
            raise LabelOrderError(
                f'the classifier has {rows} classes in the official order of a dataset its '
                'class count does not name; give that order (--src-labels / init_cfg '
                f"src_labels), e.g. 'official_sthv2' or a label file. Known orders: "
                f'{sorted(LABEL_ORDERS)}')
        if src is None:
            return out, None, (f'classifier rows kept in the official order ({rows} classes); '
                               'give the destination order to reorder them')
    elif src is None:
        src = recorded
        if src is None and dst is None:
            return out, None, ''
        if src is None:  # mmaction2's zoo, our trained files: already the dataset's order
            return out, _label(dst), (f'classifier rows kept ({rows} classes): an OpenMMLab '
                                      "file without meta['label_order'] is taken to be in the "
                                      'destination order')
    num_src = len(read_labels(src))
    if num_src != rows:
        if explicit:
            raise LabelOrderError(f'the classifier has {rows} rows but the source order '
                                  f'{_describe(src)} has {num_src} classes')
        order = _ORDER_BY_COUNT.get(rows) if official else recorded
        return out, order, (f'classifier rows kept: {rows} classes, not the {num_src} of '
                            f'{_describe(src)} (a classifier for another label set)')
    if dst is None or (isinstance(src, str) and isinstance(dst, str) and src == dst):
        return out, _label(src), f'classifier rows are in the order {_describe(src)}'
    return (permute_classifier(out, src, dst), _label(dst),
            f'classifier rows reordered by class name from {_describe(src)} to '
            f'{_describe(dst)} ({rows} classes)')


def apply_label_order(state_dict: Mapping[str, torch.Tensor], official: bool,
                      meta: Optional[Mapping] = None, src: Optional[LabelSpec] = None,
                      dst: Optional[LabelSpec] = None, logger: Any = 'current',
                      source: str = 'checkpoint'
                      ) -> Tuple['OrderedDict[str, torch.Tensor]', Optional[str]]:
    """:func:`reorder_classes`, saying what it did: the call every loading path makes.

    The converter and ``tools/test.py`` (through
    :func:`~uniformer_mm.checkpoint.release.convert_release_file`) and ``init_cfg`` (through
    :func:`~uniformer_mm.checkpoint.load_pretrained`) use it, so the three agree.

    Returns:
        tuple: ``(state_dict, label_order)``; ``label_order`` is what ``meta['label_order']``
        of a saved file should say (None: unknown).
    """
    out, order, msg = reorder_classes(state_dict, official, meta, src, dst)
    if msg:
        # an official classifier left in its order while a destination is unknown is worth a
        # warning: evaluated on another order it scores near chance
        level = logging.WARNING if msg.startswith('classifier rows kept in the official') \
            else logging.INFO
        print_log(f'{source}: {msg}', logger=logger, level=level)
    return out, order
