"""Layer-wise learning-rate decay for any toolbox (mmdet, mmseg, mmpose, mmpretrain, mmaction2).

mmdet's and mmseg's ``LearningRateDecayOptimizerConstructor`` only know ConvNeXt / BEiT
backbone names, and mmpretrain's generic one lives in mmpretrain; this one needs only mmengine
and the backbone's ``get_layer_depth(param_name, prefix)``.
"""
import logging
from collections import defaultdict
from typing import Callable, List, Optional, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from uniformer_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['LayerDecayOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus layer-wise learning-rate decay.

    Every parameter first gets the usual ``paramwise_cfg`` treatment (``custom_keys``,
    ``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``, ...); then its learning
    rate is multiplied by ``layer_decay_rate ** (num_layers - layer_id - 1)``, where
    ``(layer_id, num_layers) = backbone.get_layer_depth(name, 'backbone.')``. Parameters
    outside the backbone (necks, heads) get ``layer_id = num_layers - 1``: the full rate.
    Each param group also records ``lr_scale``, ``layer_id`` and ``param_name``.

    Use from any config (no ``custom_imports`` needed)::

        optim_wrapper = dict(
            type='OptimWrapper',
            constructor='uniformer_mm.LayerDecayOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            paramwise_cfg=dict(layer_decay_rate=0.9, norm_decay_mult=0.))

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``; the optimizer
            must set ``lr``.
        paramwise_cfg (dict, optional): ``DefaultOptimWrapperConstructor`` options plus
            ``layer_decay_rate`` (float in (0, 1], default 1.0 = no decay).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        # Kept inside paramwise_cfg so that the base class takes its paramwise path (it falls
        # back to model.parameters() for an empty paramwise_cfg); the base ignores the key.
        paramwise_cfg.setdefault('layer_decay_rate', 1.0)
        rate = paramwise_cfg['layer_decay_rate']
        if not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(f'paramwise_cfg.layer_decay_rate must be in (0, 1], got {rate!r}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if self.base_lr is None:
            raise ValueError('LayerDecayOptimWrapperConstructor needs optimizer.lr to scale')
        self.layer_decay_rate = float(rate)

    @staticmethod
    def _layer_depth_fn(model: nn.Module) -> Tuple[Callable[[str, str], Tuple[int, int]], str]:
        """The ``get_layer_depth`` to use and the backbone's prefix in parameter names."""
        if callable(getattr(model, 'get_layer_depth', None)):
            return model.get_layer_depth, ''
        backbone = getattr(model, 'backbone', None)
        if callable(getattr(backbone, 'get_layer_depth', None)):
            return backbone.get_layer_depth, 'backbone.'
        raise TypeError(
            'LayerDecayOptimWrapperConstructor needs a model (or model.backbone) with a '
            f'get_layer_depth(param_name, prefix) method, as the uniformer_mm backbones have; '
            f'got {type(model).__name__} with backbone {type(backbone).__name__}')

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """Add the parameter groups of ``module``; at the top level, apply the layer decay."""
        if prefix:  # the base class recursing into children
            super().add_params(params, module, prefix, is_dcn_module)
            return
        start = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        get_depth, backbone_prefix = self._layer_depth_fn(module)
        names = {id(p): n for n, p in module.named_parameters()}
        summary = defaultdict(int)
        for group in params[start:]:
            name = names[id(group['params'][0])]
            layer_id, num_layers = get_depth(name, backbone_prefix)
            scale = self.layer_decay_rate**(num_layers - layer_id - 1)
            group['lr'] = group.get('lr', self.base_lr) * scale
            group.update(lr_scale=scale, layer_id=layer_id, param_name=name)
            summary[(layer_id, scale)] += 1
        print_log('layer-wise lr decay {}: {}'.format(
            self.layer_decay_rate, ', '.join(f'layer {i}: x{s:.4g} ({n} params)'
                                             for (i, s), n in sorted(summary.items()))),
            logger='current', level=logging.INFO)
