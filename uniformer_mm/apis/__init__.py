"""Inference API: a model from a config file or a model name, weights from any checkpoint
(official release files converted on the fly, as by ``tools/test.py``), one image or video
through its toolbox's inference route.

Example::

    from uniformer_mm.apis import inference_model, init_model, list_models

    model = init_model('uniformer_s_in1k', 'uniformer_small_in1k.pth')
    result = inference_model(model, 'demo.jpg')   # mmpretrain DataSample
    names = model.dataset_meta['classes']

``tools/test.py`` and ``tools/demo/*`` are built on it.
"""
from .config import class_names, load_config, toolbox_of
from .inference import (build_model, inference_model, init_model, inner_model,
                        load_test_checkpoint)
from .model_zoo import list_models, resolve_config

__all__ = ['init_model', 'inference_model', 'list_models', 'resolve_config', 'load_config',
           'toolbox_of', 'class_names', 'build_model', 'inner_model', 'load_test_checkpoint']
