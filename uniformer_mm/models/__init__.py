"""uniformer_mm models; importing this module registers them (see :mod:`uniformer_mm.registry`).

Backbones are plain mmengine modules and registered here directly; heads and classifiers
subclass a toolbox's classes, so they are registered lazily and their toolbox is imported
only when a config builds them.
"""
from ..registry import MODELS as _MODELS
from ..registry import register_lazy as _register_lazy
from .backbones import UniFormer, UniFormer3D, UniFormerLight, UniFormerLight3D

__all__ = ['UniFormer', 'UniFormer3D', 'UniFormerLight', 'UniFormerLight3D']

# mmpretrain: the light models' two classifiers, token labeling's head and classifier.
_register_lazy(_MODELS, 'LightClsHead',
               'uniformer_mm.models.heads.light_cls_head:LightClsHead', 'mmpretrain')
_register_lazy(_MODELS, 'TokenLabelClsHead',
               'uniformer_mm.models.heads.token_label_head:TokenLabelClsHead', 'mmpretrain')
_register_lazy(_MODELS, 'TokenLabelClassifier',
               'uniformer_mm.models.classifiers.token_label:TokenLabelClassifier', 'mmpretrain')
# mmaction2: the video head and the light models' video head.
_register_lazy(_MODELS, 'UniFormerClsHead',
               'uniformer_mm.models.heads.video_cls_head:UniFormerClsHead', 'mmaction')
_register_lazy(_MODELS, 'LightVideoHead',
               'uniformer_mm.models.heads.light_video_head:LightVideoHead', 'mmaction')
