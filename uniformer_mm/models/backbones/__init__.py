"""UniFormer backbones: one base class (:class:`BaseUniFormer`), four families."""
from .base import BaseUniFormer
from .uniformer import UniFormer
from .uniformer3d import UniFormer3D
from .uniformer_light import UniFormerLight, UniFormerLight3D

__all__ = ['BaseUniFormer', 'UniFormer', 'UniFormer3D', 'UniFormerLight', 'UniFormerLight3D']
