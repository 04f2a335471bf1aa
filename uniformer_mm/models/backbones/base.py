"""Training-mode behaviour shared by every UniFormer backbone: frozen stages and ``norm_eval``."""
from typing import List

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['FrozenStagesMixin']


class FrozenStagesMixin:
    """``train()`` that keeps frozen stages, and with ``norm_eval`` every BatchNorm, in eval.

    The mmpretrain/mmdet convention (``ResNet``, ``SwinTransformer``, ``ConvNeXt``): frozen
    modules are in eval mode with ``requires_grad=False``; ``norm_eval`` freezes the running
    statistics of all BatchNorms (the conv blocks' and stems') while training. Subclasses list
    what is frozen in :meth:`_frozen_modules` (and loose parameters in
    :meth:`_frozen_parameters`) and call :meth:`_freeze_stages` at the end of ``__init__``.
    """

    norm_eval: bool = False

    def _frozen_modules(self) -> List[nn.Module]:
        """The modules ``frozen_stages`` freezes."""
        return []

    def _frozen_parameters(self) -> List[nn.Parameter]:
        """Parameters outside :meth:`_frozen_modules` that ``frozen_stages`` freezes."""
        return []

    def _freeze_stages(self) -> None:
        """Put the frozen modules in eval mode and stop their gradients."""
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        for param in self._frozen_parameters():
            param.requires_grad = False

    def train(self, mode: bool = True) -> 'FrozenStagesMixin':
        """Set the training mode, keeping frozen stages (and BatchNorms if ``norm_eval``) in
        eval mode."""
        super().train(mode)  # type: ignore[misc]
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():  # type: ignore[attr-defined]
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
