"""Inference API: build a model from a config, load a checkpoint (official files converted on
the fly), run it. What ``tools/test.py`` and ``tools/demo/*`` use."""
from .config import class_names, load_config, toolbox_of
from .inference import build_model, init_inference_model, inner_model, load_test_checkpoint

__all__ = ['load_config', 'toolbox_of', 'class_names', 'build_model', 'inner_model',
           'load_test_checkpoint', 'init_inference_model']
