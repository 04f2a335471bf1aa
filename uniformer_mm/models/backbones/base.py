"""Behaviour shared by every UniFormer backbone: frozen stages, ``norm_eval`` and the layer
numbering of layer-wise learning-rate decay."""
import re
from typing import List, Mapping, Sequence, Tuple

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['FrozenStagesMixin', 'stage_layer_depth']


def stage_layer_depth(param_name: str, prefix: str, depths: Sequence[int],
                      stage_tokens: Mapping[str, int] = {}) -> Tuple[int, int]:
    """Layer index of a parameter of a UniFormer backbone, for layer-wise lr decay.

    Blocks are numbered 1..N over all stages (N = ``sum(depths)``); the stem
    ``patch_embed1`` is 0, ``patch_embed{k}`` shares the index of the first block of stage k,
    and everything else (output / final norms, and any parameter outside ``prefix``: necks
    and heads) gets N + 1, i.e. the full learning rate.

    Args:
        param_name (str): The parameter's name in the model.
        prefix (str): The backbone's prefix in the model (e.g. ``'backbone.'``).
        depths (Sequence[int]): Blocks per stage (stage k's modules are ``patch_embed{k}`` and
            ``blocks{k}``, k from 1).
        stage_tokens (Mapping[str, int]): Backbone parameter name prefixes that enter with a
            stage (0-based) and share the index of its first block, e.g. the light models'
            ``{'cls_token': 2}``. Not modified.

    Returns:
        tuple[int, int]: ``(layer index, number of layers N + 2)``.
    """
    num_layers = sum(depths) + 2
    if not param_name.startswith(prefix):
        return num_layers - 1, num_layers
    name = param_name[len(prefix):]
    starts = [sum(depths[:i]) for i in range(len(depths))]
    for token, stage in stage_tokens.items():
        if name.startswith(token):
            return starts[stage] + 1, num_layers
    m = re.match(r'(patch_embed|blocks)(\d)\.(\d+)?', name)
    if m is None:
        return num_layers - 1, num_layers
    stage = int(m.group(2)) - 1
    if m.group(1) == 'patch_embed':
        return (0 if stage == 0 else starts[stage] + 1), num_layers
    return starts[stage] + int(m.group(3)) + 1, num_layers


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
