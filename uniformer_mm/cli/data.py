"""Refuse a config whose dataset paths do not exist, before any toolbox code runs."""
import os.path as osp
from typing import Any

from mmengine.config import Config

__all__ = ['check_data_paths']

def _json_problem(path: str) -> str:
    """Why a JSON annotation file is certainly damaged ('' if it looks whole).

    Only the ends are read (COCO's train annotations are 450 MB): a file cut short by an
    interrupted download or copy does not end with the ``}`` / ``]`` it began with.
    """
    size = osp.getsize(path)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(64).lstrip()
        f.seek(max(0, size - 64))
        tail = f.read().rstrip()
    pairs = {b'{': b'}', b'[': b']'}
    first = head[:1]
    if first not in pairs:
        return f'it does not start like JSON ({head[:16]!r})'
    if not tail.endswith(pairs[first]):
        return (f'it is truncated ({size} bytes, ends with {tail[-16:]!r} instead of '
                f'{pairs[first].decode()!r})')
    return ''


def _dataset_dicts(dataset: Any, where: str) -> list:
    """``(config key, dataset dict)`` of a dataset config and of the datasets it wraps."""
    if not isinstance(dataset, dict):
        return []
    out = [(where, dataset)]
    if isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset, ...
        out += _dataset_dicts(dataset['dataset'], where + '.dataset')
    for i, sub in enumerate(dataset.get('datasets') or []):  # ConcatDataset
        out += _dataset_dicts(sub, f'{where}.datasets[{i}]')
    return out


def check_data_paths(cfg: Config, splits: tuple = ('train', 'val', 'test')) -> None:
    """Refuse a config whose dataset paths do not exist, before any toolbox code runs.

    Without this, a wrong ``data_root`` surfaces as an exception from inside the toolbox's
    dataset (or a dataset of length 0) after the model is built. Checked for each
    ``<split>_dataloader.dataset`` (and the datasets it wraps): ``data_root``, ``ann_file``
    and every ``data_prefix`` entry, each joined to ``data_root`` as mmengine's
    ``BaseDataset`` does when relative, and the ``label_root`` of a token-labeling pipeline.
    Remote paths (``s3://``, ``http://`` ...) are skipped.

    Args:
        cfg (Config): The loaded config.
        splits (tuple): The dataloaders the command will use (``train``/``val`` for training,
            ``test`` for testing).

    Raises:
        FileNotFoundError: Naming the config key, the path and how to fix it.
        ValueError: A JSON annotation file is empty or truncated (naming it).
    """
    missing, damaged = [], []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, ds in _dataset_dicts(loader.get('dataset'), f'{split}_dataloader.dataset'):
            root = ds.get('data_root') or ''
            if root and '://' not in root and not osp.isdir(root):
                # Everything below it is missing too: name the root only.
                missing.append(f'{key}.data_root = {root!r}')
                continue
            paths = []
            if isinstance(ds.get('ann_file'), str) and ds['ann_file']:
                paths.append((f'{key}.ann_file', ds['ann_file']))
            prefix = ds.get('data_prefix')
            if isinstance(prefix, str) and prefix:
                paths.append((f'{key}.data_prefix', prefix))
            elif isinstance(prefix, dict):
                paths += [(f'{key}.data_prefix.{k}', v) for k, v in prefix.items()
                          if isinstance(v, str) and v]
            for name, path in paths:
                full = path if osp.isabs(path) else osp.join(root, path)
                if '://' in full:  # object storage / URLs: not for os.path to judge
                    continue
                if not osp.exists(full):
                    missing.append(f'{name} = {path!r} (resolved: {full!r})')
                elif name.endswith('.ann_file') and full.endswith('.json'):
                    problem = _json_problem(full)
                    if problem:
                        damaged.append(f'{name} = {full!r}: {problem}')
            # Files a transform reads besides the samples (token labeling's dense labels).
            for i, t in enumerate(ds.get('pipeline') or []):
                label_root = t.get('label_root') if isinstance(t, dict) else None
                if (isinstance(label_root, str) and '://' not in label_root
                        and str(t.get('type', '')).endswith('LoadTokenLabel')
                        and not osp.isdir(label_root)):
                    missing.append(f'{key}.pipeline.{i}.label_root = {label_root!r}')
    if damaged:
        raise ValueError(
            'an annotation file of the config is damaged:\n  ' + '\n  '.join(damaged) +
            '\nFix: download or generate it again (a copy interrupted half-way looks like '
            'this).')
    if missing:
        raise FileNotFoundError(
            'the config points at data that does not exist:\n  ' + '\n  '.join(missing) +
            '\nFix: put the dataset there, or pass its location, e.g. --cfg-options '
            f'{missing[0].split(" = ")[0]}=/path/to/data (the demo configs read '
            '$UNIFORMER_MM_DEMO_DATA; generate the demo data with python '
            'tools/demo/make_data.py DIR).')
