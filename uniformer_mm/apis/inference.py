"""Build a config's model, load a checkpoint into it (official release files too), infer.

The one place where models for testing and inference are built and loaded: ``tools/test.py``,
the demos and the inference API use these functions.
"""
from copy import deepcopy
from typing import Any, Optional

import torch.nn as nn

from mmengine.config import Config

from .config import class_names, load_config, toolbox_of

__all__ = ['build_model', 'inner_model', 'load_test_checkpoint', 'init_inference_model']

def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` under the config's toolbox scope (no weights are loaded).

    A top-level ``data_preprocessor`` (mmpretrain's configs keep it there: mean, std, RGB
    order, class count) goes into the model as mmengine's ``Runner`` puts it, unless the model
    has its own; without it the model would see unnormalised BGR images.
    """
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(toolbox_of(cfg))
    model_cfg = deepcopy(cfg.model)
    if isinstance(model_cfg, dict) and cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', deepcopy(cfg.data_preprocessor))
    return MODELS.build(model_cfg)


def inner_model(model: nn.Module) -> nn.Module:
    """The task model inside DDP / ``MMDistributedDataParallel`` and TTA wrappers."""
    while isinstance(getattr(model, 'module', None), nn.Module):
        model = model.module
    return model


def load_test_checkpoint(model: nn.Module, checkpoint: str, config_path: str,
                         scope: Optional[str] = None, logger: Any = 'current') -> str:
    """Load a checkpoint for testing; official release files are converted on the fly.

    Every file is read with ``weights_only=True`` (:func:`load_checkpoint_file`). An official
    release (ImageNet ``{'model'}``, token labeling, video ``{'model_state'}``, mmdet 2.11,
    mmseg 0.13, mmpose 0.16, ...) is converted in memory by
    :func:`uniformer_mm.checkpoint.release.convert_release`; a checkpoint whose UniFormer is
    another architecture than the config's is refused with both named
    (:func:`~uniformer_mm.checkpoint.release.check_same_arch`), as are shape mismatches and a
    contradicting recorded ``head_dim``; missing / unexpected keys are logged as warnings.

    Args:
        model (nn.Module): The runner's model (wrappers are looked through).
        checkpoint (str): Path or URL.
        config_path (str): For messages.
        scope (str, optional): The config's toolbox; a release of another toolbox (an
            ImageNet file for an mmdet config, ...) is refused.
        logger: mmengine logger for the report.

    Returns:
        str: The release kind of the file (``'mm'`` for OpenMMLab 2.0 checkpoints).
    """
    import logging
    import os
    import tempfile

    import torch
    from mmengine.logging import print_log

    from uniformer_mm.checkpoint import load_checkpoint_file, load_pretrained, unwrap_state_dict
    from uniformer_mm.checkpoint.release import (RELEASE_KINDS, RELEASE_TOOLBOX,
                                                 check_same_arch, convert_release,
                                                 detect_release_file)

    target = inner_model(model)
    ckpt = load_checkpoint_file(checkpoint)
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else None
    state_dict, kind = convert_release(unwrap_state_dict(ckpt), detect_release_file(ckpt))
    check_same_arch(state_dict, target, meta, checkpoint, f'config {config_path!r}')
    if kind == 'mm':
        load_pretrained(target, checkpoint, logger=logger)
        return kind
    print_log(f'{checkpoint} is an official release file ({RELEASE_KINDS[kind]}); converting '
              'it on the fly. To keep a converted copy: python tools/model_converters/'
              f'uniformer_official2mm.py {checkpoint} CONVERTED.pth --config {config_path}',
              logger=logger, level=logging.INFO)
    toolbox = RELEASE_TOOLBOX[kind]
    if scope is not None and toolbox is not None and toolbox != scope:
        raise ValueError(
            f'{checkpoint!r} is {RELEASE_KINDS[kind]}: a {toolbox} model, but config '
            f'{config_path!r} is a {scope} model. Test it with a {toolbox} config; to start a '
            f'{scope} model from its backbone, put the file in the backbone\'s '
            "init_cfg=dict(type='Pretrained', checkpoint=...) and train.")
    # load_pretrained reads files (and applies its checks there); each process writes its own
    # temporary copy so that distributed ranks never share one.
    with tempfile.TemporaryDirectory(prefix='uniformer_mm_') as tmp:
        path = os.path.join(tmp, 'converted.pth')
        torch.save({'state_dict': state_dict, 'meta': meta or {}}, path)
        load_pretrained(target, path, logger=logger,
                        task='video' if toolbox == 'mmaction' else None)
    return kind


def init_inference_model(config: str, checkpoint: str,
                         cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a config's model for inference and load a checkpoint (official files too).

    The model gets ``model.cfg`` (the toolboxes' ``inference_*`` functions read the test
    pipeline from it) and ``model.dataset_meta`` (class names, palette, keypoint metadata)
    for their visualizers; it is in eval mode on the CPU.
    """
    from uniformer_mm.checkpoint import load_checkpoint_file

    cfg = load_config(config, cfg_options)
    scope = toolbox_of(cfg)
    # Pretrained backbone files of the config are not needed: the checkpoint replaces them.
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.pop('init_cfg', None)
    model = build_model(cfg)
    load_test_checkpoint(model, checkpoint, config, scope=scope)
    ckpt_meta = load_checkpoint_file(checkpoint).get('meta')
    ckpt_meta = ckpt_meta if isinstance(ckpt_meta, dict) else {}
    meta: dict = dict(ckpt_meta.get('dataset_meta') or {})
    if scope == 'mmpose' and 'keypoint_info' not in meta:
        from mmpose.apis.inference import dataset_meta_from_config
        meta = dataset_meta_from_config(cfg, dataset_mode='test') or meta
    names = class_names(cfg, ckpt_meta)
    if names:
        meta.setdefault('classes', names)
        if scope == 'mmseg' and 'palette' not in meta:
            palette = cfg.test_dataloader.dataset.get('metainfo', {}).get('palette')
            meta['palette'] = palette or [[(37 * i) % 256, (97 * i) % 256, (173 * i) % 256]
                                          for i in range(len(names))]
    model.dataset_meta = meta
    model.cfg = cfg
    model._config = cfg  # mmpretrain's inferencers read the config from here
    return model.eval()
