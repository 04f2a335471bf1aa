"""Build a config's model, load a checkpoint into it (official release files too), infer.

The one place where models for testing and inference are built and loaded: ``tools/test.py``,
the demos and the inference API use these functions.
"""
import os.path as osp
from copy import deepcopy
from typing import Any, Optional, Tuple, Union

import numpy as np
import torch.nn as nn

from mmengine.config import Config

from uniformer_mm.checkpoint.protocol import inner_model
from .config import class_names, load_config, toolbox_of
from .model_zoo import official_weights, resolve_config

__all__ = ['build_model', 'inner_model', 'load_test_checkpoint', 'init_model', 'inference_model']


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` under the config's toolbox scope (no weights are loaded).

    A top-level ``data_preprocessor`` of the config (mmpretrain's configs keep the
    normalisation and the BGR->RGB conversion there) goes into the model unless
    ``cfg.model`` has its own, as mmengine's ``Runner`` does: without it the classifier would
    get a default preprocessor that neither normalises nor converts, and predict on other
    inputs than ``tools/test.py`` and the toolbox's inferencers.
    """
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(toolbox_of(cfg))
    model_cfg = deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None and isinstance(model_cfg, dict):
        model_cfg.setdefault('data_preprocessor', deepcopy(cfg.data_preprocessor))
    return MODELS.build(model_cfg)


def load_test_checkpoint(model: nn.Module, checkpoint: str, config_path: str,
                         scope: Optional[str] = None, logger: Any = 'current',
                         src_labels: Any = None, dst_labels: Any = None) -> str:
    """Load a checkpoint for testing; official release files are converted on the fly.

    Every file is read with ``weights_only=True`` (:func:`load_checkpoint_file`). An official
    release (ImageNet ``{'model'}``, token labeling, video ``{'model_state'}``, mmdet 2.11,
    mmseg 0.13, mmpose 0.16, ...) is converted in memory by
    :func:`uniformer_mm.checkpoint.release.convert_release_checkpoint`, as the converter does
    (video classifiers reordered to the dataset's class order, ``dst_labels``); a checkpoint
    whose UniFormer is
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
        src_labels, dst_labels: Class orders of the checkpoint's classifier rows and of the
            config's dataset (the config's ``label_order``); see
            :func:`uniformer_mm.checkpoint.labels.reorder_classes` and docs/labels.md.

    Returns:
        str: The release kind of the file (``'mm'`` for OpenMMLab 2.0 checkpoints).
    """
    return _load_test_checkpoint(model, checkpoint, config_path, scope, logger, src_labels,
                                 dst_labels)[0]


def _load_test_checkpoint(model: nn.Module, checkpoint: str, config_path: str,
                          scope: Optional[str], logger: Any, src_labels: Any,
                          dst_labels: Any) -> Tuple[str, dict]:
    """:func:`load_test_checkpoint`, also returning the file's ``meta`` (of the converted
    file for official releases), so that callers need not read the file again."""
    import logging
    import os
    import tempfile

    import torch
    from mmengine.logging import print_log

    from uniformer_mm.checkpoint import load_checkpoint_file, load_pretrained, unwrap_state_dict
    from uniformer_mm.checkpoint.release import (RELEASE_KINDS, RELEASE_TOOLBOX,
                                                 check_same_arch, convert_release,
                                                 convert_release_checkpoint,
                                                 detect_release_file)

    target = inner_model(model)
    ckpt = load_checkpoint_file(checkpoint)
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else None
    ckpt_meta = meta or {}
    state_dict, kind = convert_release(unwrap_state_dict(ckpt), detect_release_file(ckpt))
    check_same_arch(state_dict, target, meta, checkpoint, f'config {config_path!r}')
    if kind == 'mm':
        load_pretrained(target, checkpoint, logger=logger, src_labels=src_labels,
                        dst_labels=dst_labels)
        return kind, ckpt_meta
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
    # The file read above, converted (not read again).
    converted = convert_release_checkpoint(ckpt, os.path.basename(checkpoint), kind=kind,
                                           src_labels=src_labels, dst_labels=dst_labels)
    # load_pretrained reads files (and applies its checks there); each process writes its own
    # temporary copy so that distributed ranks never share one.
    with tempfile.TemporaryDirectory(prefix='uniformer_mm_') as tmp:
        path = os.path.join(tmp, 'converted.pth')
        torch.save(converted, path)
        load_pretrained(target, path, logger=logger,
                        task='video' if toolbox == 'mmaction' else None)
    return kind, converted['meta']


def _released_weights_hint(config: str) -> str:
    """Where the released weights of one of our configs (a metafile row) are: ``''`` when
    the authors released none or the config is not a metafile row."""
    name = osp.splitext(osp.basename(config))[0]
    try:
        ours = osp.samefile(resolve_config(name), config)
    except (OSError, ValueError):  # not a row name, or an install without configs/
        ours = False
    found = official_weights(name) if ours else None
    if found is None:
        return ''
    file, link = found
    return (f'; the released weights of {name} are {file} (download it from {link}, Google '
            f'Drive, and pass checkpoint={file!r})')


def init_model(config_or_name: str, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None, compile: bool = False) -> nn.Module:
    """Build a model for inference from a config file or a model name, and load weights.

    The checkpoint may be an OpenMMLab 2.0 file or an official release file as downloaded,
    converted on the fly and checked against the config exactly as by ``tools/test.py``
    (:func:`load_test_checkpoint`): a file of another architecture or toolbox is refused.
    Without a checkpoint the model keeps its initialisation (random weights; the config's
    pretrained backbone file is not read) and a warning says so.

    The model gets ``model.cfg`` (the toolboxes' inference functions read the test pipeline
    from it) and ``model.dataset_meta`` (class names from the checkpoint's meta, else the
    config's; palette; keypoint metadata), and is in eval mode on ``device``.

    Args:
        config_or_name (str): A config file, or a name of :func:`list_models` (the config's
            file stem, e.g. ``'uniformer_s_in1k'``).
        checkpoint (str, optional): Weights to load.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        cfg_options (dict, optional): Config overrides (``--cfg-options`` as a dict); a
            top-level ``num_classes`` is written into every place that takes the class count
            (:func:`uniformer_mm.cli.checks.apply_num_classes`).
        compile (bool): The fast inference mode (``tools/test.py --compile``): backbone and
            neck compiled with inductor, weights frozen
            (:func:`uniformer_mm.deploy.compile_model`). The first call of each input size
            compiles (seconds to a minute on CPU); outputs equal the eager ones to float32
            rounding. Defaults to False.

    Returns:
        nn.Module: The toolbox's model, ready for :func:`inference_model`.
    """
    import logging

    from mmengine.logging import print_log

    from uniformer_mm.cli.checks import apply_num_classes
    config = resolve_config(config_or_name)
    cfg = load_config(config, cfg_options)
    # A top-level num_classes (e.g. cfg_options={'num_classes': 3}) reaches the head, the
    # preprocessor and the batch augmentations, as in tools/train.py and tools/test.py.
    apply_num_classes(cfg)
    scope = toolbox_of(cfg)
    # Pretrained backbone files of the config are not needed: the checkpoint replaces them.
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.pop('init_cfg', None)
    model = build_model(cfg)
    ckpt_meta: dict = {}
    if checkpoint is None:
        model.init_weights()
        print_log(f'init_model({config_or_name!r}) without a checkpoint: the weights are '
                  f'random{_released_weights_hint(config)}', logger='current',
                  level=logging.WARNING)
    else:
        _, ckpt_meta = _load_test_checkpoint(model, checkpoint, config, scope, 'current',
                                             None, None)
    meta = dict(ckpt_meta.get('dataset_meta') or {})
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
    model = model.to(device).eval()
    if compile:
        from uniformer_mm.deploy import compile_model
        compile_model(model)
    return model


def inference_model(model: nn.Module, inputs: Union[str, np.ndarray],
                    bboxes: Optional[np.ndarray] = None) -> Any:
    """Run a model of :func:`init_model` on one image or video, with its toolbox's own
    inference route (the config's test pipeline).

    Args:
        model (nn.Module): From :func:`init_model`.
        inputs (str | np.ndarray): An image (file or BGR array) or, for mmaction2 models, a
            video file.
        bboxes (np.ndarray, optional): Top-down pose only: ``(N, 4)`` person boxes
            ``x1, y1, x2, y2``; default the whole image.

    Returns:
        The toolbox's data sample: mmpretrain ``DataSample`` (``pred_score``,
        ``pred_label``), mmdet ``DetDataSample`` (``pred_instances``: boxes, scores, labels,
        masks), mmseg ``SegDataSample`` (``pred_sem_seg``, ``seg_logits``), mmpose
        ``PoseDataSample`` (``pred_instances``: keypoints and scores of every box) or mmaction2
        ``ActionDataSample`` (``pred_score``: the test protocol's averaged clip scores). Class
        names are ``model.dataset_meta['classes']``.
    """
    scope = toolbox_of(model.cfg)
    if bboxes is not None and scope != 'mmpose':
        raise ValueError(f'bboxes are for top-down pose models; this is a {scope} model')
    if scope == 'mmpretrain':
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(model=model, pretrained=False,
                                                   device=str(next(model.parameters()).device))
        return inferencer(inputs, return_datasamples=True)[0]
    if scope == 'mmdet':
        from mmdet.apis import inference_detector
        return inference_detector(model, inputs)
    if scope == 'mmseg':
        from mmseg.apis import inference_model as mmseg_inference
        return mmseg_inference(model, inputs)
    if scope == 'mmpose':
        from mmpose.apis import inference_topdown
        from mmpose.structures import merge_data_samples
        return merge_data_samples(inference_topdown(model, inputs, bboxes=bboxes))
    from mmaction.apis import inference_recognizer
    return inference_recognizer(model, inputs)
