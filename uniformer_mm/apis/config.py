"""Reading a config as every entry point does: the file, its toolbox, its class names.

:func:`load_config` turns the usual failures (a wrong path, a toolbox that is not installed)
into errors that say what to do; :func:`toolbox_of` names the toolbox a config runs under
(its ``default_scope``); :func:`class_names` finds the names to draw or print.
"""
import logging
import os
import os.path as osp
import re
from typing import Any, List, Optional, Tuple

from mmengine.config import Config

from ..registry import TOOLBOXES, MissingToolboxError, require_toolbox

__all__ = ['load_config', 'toolbox_of', 'class_names', 'warn_unknown_options']

# default_scope -> import name of the toolbox (they coincide for the five toolboxes)
_SCOPES = {'mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction'}


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, turning the usual failures into errors that say what to do.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MissingToolboxError: The config inherits from, or runs under, a toolbox that is not
            installed.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file {path!r} does not exist (working directory: {os.getcwd()}); '
            'configs live in configs/{cls,det,seg,pose,video}/')
    # `_base_ = 'mmdet::...'` needs the toolbox installed before mmengine can resolve it.
    with open(path, encoding='utf-8') as f:
        for scope in sorted(set(re.findall(r'[\'"](mm[a-z]+)::', f.read()))):
            if scope in _SCOPES:
                require_toolbox(scope, f'config {path!r} (it inherits from {scope}::)')
    cfg = Config.fromfile(path)
    if cfg_options:
        warn_unknown_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope in _SCOPES:
        require_toolbox(scope, f"config {path!r} (default_scope='{scope}')")
    return cfg


def toolbox_of(cfg: Config) -> str:
    """The toolbox a config runs under (its ``default_scope``)."""
    scope = cfg.get('default_scope')
    if scope not in TOOLBOXES:
        raise MissingToolboxError(
            f'config default_scope={scope!r} is not one of the supported toolboxes '
            f'{sorted(TOOLBOXES)}; set default_scope in the config')
    return scope


def class_names(cfg: Config, checkpoint_meta: Optional[dict] = None) -> Optional[list]:
    """Class names for printing and drawing, never a bare index where they can be known.

    In order: the checkpoint's ``meta['dataset_meta']['classes']`` (mmengine Runner
    checkpoints, converted official ImageNet / video files), the test dataset's
    ``metainfo.classes``, a top-level ``classes``, the class order of a video config's
    ``label_order`` (the names of the shipped label lists) and the test dataset class's own
    ``METAINFO`` (mmpretrain ``ImageNet``, mmdet ``CocoDataset``, mmseg ``ADE20KDataset``, as
    the toolboxes' inferencers do).
    """
    meta = (checkpoint_meta or {}).get('dataset_meta') or {}
    if meta.get('classes'):
        return list(meta['classes'])
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return list(metainfo['classes'])
    if cfg.get('classes'):
        return list(cfg['classes'])
    if cfg.get('label_order'):
        from uniformer_mm.checkpoint.labels import UNUSED_ROW_PREFIX, read_labels
        return [n for n in read_labels(cfg.label_order) if not n.startswith(UNUSED_ROW_PREFIX)]
    return _dataset_class_names(cfg, dataset)


def _dataset_class_names(cfg: Config, dataset: Any) -> Optional[list]:
    """``METAINFO['classes']`` of the config's test dataset class (wrappers looked through)."""
    while isinstance(dataset, dict) and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']  # RepeatDataset, ClassBalancedDataset, ...
    ds_type = dataset.get('type') if isinstance(dataset, dict) else None
    if not isinstance(ds_type, str) or cfg.get('default_scope') not in _SCOPES:
        return None
    import importlib
    try:
        # The toolbox's own registry imports its dataset modules on first look-up.
        ds_cls = importlib.import_module(f'{cfg.default_scope}.registry').DATASETS.get(ds_type)
    except Exception:  # an unregistered or broken dataset module: no names from here
        return None
    classes = (getattr(ds_cls, 'METAINFO', None) or {}).get('classes')
    return list(classes) if classes else None


def _missing_part(cfg: Any, key: str) -> Optional[Tuple[str, List[str]]]:
    """``(the first part of the dotted key that the config lacks, the names there)``."""
    node: Any = cfg
    done: List[str] = []
    for part in key.split('.'):
        if hasattr(node, 'keys') and hasattr(node, '__getitem__'):  # Config, ConfigDict
            if part not in node:
                return '.'.join(done + [part]), [str(k) for k in node]
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.lstrip('-').isdigit():
            if not -len(node) <= int(part) < len(node):
                return '.'.join(done + [part]), [str(i) for i in range(len(node))]
            node = node[int(part)]
        else:
            return None  # a leaf replaced by a dict: mmengine's business
        done.append(part)
    return None


def warn_unknown_options(cfg: Config, cfg_options: dict) -> List[str]:
    """Warn about ``--cfg-options`` keys the config does not have (a typo is otherwise added
    as a new, unused setting and silently ignored); returns the warnings.

    New keys stay allowed (some settings are legitimately absent from a config); the warning
    names the closest existing key.
    """
    import difflib

    from mmengine.logging import print_log
    warnings = []
    for key in cfg_options:
        missing = _missing_part(cfg, str(key))
        if missing is None:
            continue
        part, names = missing
        close = difflib.get_close_matches(part.split('.')[-1], names, n=1)
        parent = part.rpartition('.')[0]
        hint = f'; did you mean {(parent + "." if parent else "") + close[0]!r}?' if close else ''
        warnings.append(f'--cfg-options {key}: the config has no {part!r}, so this adds a new '
                        f'setting, which nothing may read{hint}')
    for w in warnings:
        print_log(w, logger='current', level=logging.WARNING)
    return warnings
