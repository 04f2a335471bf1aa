"""uniformer_mm models; importing this module registers them (see :mod:`uniformer_mm.registry`)."""
from . import backbones  # noqa: F401
from ..registry import MODELS as _MODELS, register_lazy as _register_lazy  # noqa: E402
from .backbones.uniformer3d import UniFormer3D  # noqa: E402,F401

# Issue 5 (video): mmaction2 head, imported only when a config builds it.
_register_lazy(_MODELS, 'UniFormerClsHead',
               'uniformer_mm.models.heads.video_cls_head:UniFormerClsHead', 'mmaction')
from .backbones.uniformer_light import UniFormerLight, UniFormerLight3D  # noqa: E402,F401

# Issue 4 (light hourglass models): their two-classifier heads, imported only when built.
_register_lazy(_MODELS, 'LightClsHead',
               'uniformer_mm.models.heads.light_cls_head:LightClsHead', 'mmpretrain')
_register_lazy(_MODELS, 'LightVideoHead',
               'uniformer_mm.models.heads.light_video_head:LightVideoHead', 'mmaction')
from .backbones.uniformer import UniFormer  # noqa: E402,F401

# Issue 3 (image models): token-labeling head and classifier (mmpretrain), imported when built.
_register_lazy(_MODELS, 'TokenLabelClsHead',
               'uniformer_mm.models.heads.token_label_head:TokenLabelClsHead', 'mmpretrain')
_register_lazy(_MODELS, 'TokenLabelClassifier',
               'uniformer_mm.models.classifiers.token_label:TokenLabelClassifier', 'mmpretrain')
