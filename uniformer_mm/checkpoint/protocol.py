"""The loading protocol: what a module tells :func:`~uniformer_mm.checkpoint.load_pretrained`.

Every uniformer_mm backbone and head implements :class:`PretrainedModule` (through
:class:`uniformer_mm.models.pretrained.PretrainedInitMixin`); the loader reads nothing else
from a module. Any other ``nn.Module`` (a whole mmdet / mmpretrain model, say) is treated as
a module with the defaults below. It lives in the checkpoint layer, which the models import,
so that the loader can name it without importing any model.
"""
from typing import Dict, Mapping, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ['PretrainedModule', 'DEFAULT_PROTOCOL', 'protocol_of', 'inner_model', 'backbone_of']


class PretrainedModule:
    """A module that loads official / converted UniFormer files through ``load_pretrained``.

    All members have defaults; a subclass overrides what applies to it.

    Attributes:
        pretrained_prefix (str, optional): The module's prefix inside a whole-model file in
            the OpenMMLab layout (``'backbone.'`` for backbones): keys under it are selected
            and the prefix removed. ``None``: the module picks its own keys in
            :meth:`convert_pretrained` (heads read every layout).
        arch_zoo (dict): Named architectures of a backbone (``meta['arch']`` may name one).
        arch_name (str, optional): The ``arch_zoo`` name the backbone was built with (None for
            a dict arch): a deliberate head_dim choice, see
            :data:`~uniformer_mm.archs.HEAD_DIM_TRAP`.
        head_dim (int, optional): The backbone's attention head width, checked against the
            file's recorded one.
        pretrained_must_cover (bool): A file must cover the module (UniFormer backbones):
            nothing loaded, another architecture or parameters left at their random
            initialisation (other than :attr:`pretrained_new_keys`) is an error unless the
            ``Pretrained`` init_cfg says ``allow_partial=True``.
    """

    pretrained_prefix: Optional[str] = 'backbone.'
    pretrained_must_cover: bool = False
    arch_zoo: Mapping[str, dict] = {}
    arch_name: Optional[str] = None
    head_dim: Optional[int] = None

    @property
    def pretrained_new_keys(self) -> Tuple[str, ...]:
        """Key prefixes no official file has (e.g. the dense output norms): their absence is
        expected and logged at INFO level instead of as MISSING."""
        return ()

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]
                           ) -> Dict[str, torch.Tensor]:
        """Fit unwrapped checkpoint weights to this module (drop, rename, inflate).

        Called after unwrapping and prefix selection, before the shape checks. The default
        returns ``state_dict`` unchanged.
        """
        return state_dict


#: The protocol of a module that does not implement it (every default).
DEFAULT_PROTOCOL = PretrainedModule()


def protocol_of(module: object) -> PretrainedModule:
    """``module`` itself if it implements :class:`PretrainedModule`, else the defaults."""
    return module if isinstance(module, PretrainedModule) else DEFAULT_PROTOCOL


def inner_model(model: nn.Module) -> nn.Module:
    """The task model inside DDP / ``MMDistributedDataParallel`` and TTA wrappers (which keep
    it in ``module``)."""
    while isinstance(getattr(model, 'module', None), nn.Module):
        model = model.module
    return model


def backbone_of(model: nn.Module) -> nn.Module:
    """The backbone of a whole model (``model.backbone``, looking through wrappers with
    :func:`inner_model`), or the model itself when it has none."""
    model = inner_model(model)
    backbone = getattr(model, 'backbone', None)
    return backbone if isinstance(backbone, nn.Module) else model
