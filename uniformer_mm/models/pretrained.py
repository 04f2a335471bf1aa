"""``init_weights`` for modules whose ``Pretrained`` init_cfg goes through our checkpoint loader.

mmengine's own ``PretrainedInit`` only unwraps ``{'state_dict': ...}`` files and knows neither
the official layouts (``{'model': ...}``, ``{'model_state': ...}``), nor key conversion, nor
2D->3D inflation. Every uniformer_mm backbone and head therefore runs the non-``Pretrained``
initialisers through mmengine first and then loads the checkpoint itself, last, so nothing
overwrites the loaded weights (the official code loaded in ``__init__``). What a module tells
the loader is the protocol :class:`~uniformer_mm.checkpoint.protocol.PretrainedModule`.
"""
import copy
import logging
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from uniformer_mm.checkpoint.keys import select_head_keys
from uniformer_mm.checkpoint.loading import ShapeMismatchError, load_pretrained
from uniformer_mm.checkpoint.protocol import PretrainedModule

__all__ = ['PretrainedInitMixin', 'PretrainedHeadMixin', 'split_pretrained_cfg']

InitCfg = Optional[Union[dict, List[dict]]]


def split_pretrained_cfg(init_cfg: InitCfg, owner: str = 'module'
                         ) -> Tuple[Optional[dict], List[dict]]:
    """Split ``init_cfg`` into its ``Pretrained`` entry (or None) and the other entries.

    Raises:
        ValueError: Several ``Pretrained`` entries, or one without ``checkpoint``.
    """
    cfgs = [] if init_cfg is None else [init_cfg] if isinstance(init_cfg, dict) else list(
        init_cfg)
    pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
    if len(pretrained) > 1:
        raise ValueError(f'{owner} init_cfg has several Pretrained entries: {pretrained}; '
                         'keep one')
    if pretrained and 'checkpoint' not in pretrained[0]:
        raise ValueError(f"{owner} init_cfg {pretrained[0]} needs a 'checkpoint' path")
    if pretrained and not isinstance(pretrained[0].get('allow_partial', False), bool):
        raise ValueError(f'{owner} init_cfg: allow_partial must be True or False, got '
                         f"{pretrained[0]['allow_partial']!r}")
    return (pretrained[0] if pretrained else None), [
        c for c in cfgs if c.get('type') != 'Pretrained']


class PretrainedInitMixin(PretrainedModule):
    """Mixin (before ``BaseModule`` in the bases) implementing the order described above.

    Subclasses may set :attr:`default_init_cfg` (applied when ``init_cfg`` has no other
    entries) and implement the loading protocol
    (:class:`~uniformer_mm.checkpoint.protocol.PretrainedModule`: ``convert_pretrained``,
    ``pretrained_new_keys``, ``pretrained_prefix``, ...).
    """

    #: Initialisers applied when ``init_cfg`` holds nothing but (at most) a Pretrained entry.
    default_init_cfg: InitCfg = None

    def init_weights(self) -> None:
        """Run the non-``Pretrained`` initialisers, then load the ``Pretrained`` checkpoint."""
        if self._is_init:  # type: ignore[attr-defined]
            print_log(f'{type(self).__name__}.init_weights() was already called; skipped.',
                      logger='current', level=logging.WARNING)
            return
        pretrained, others = split_pretrained_cfg(self.init_cfg,  # type: ignore[has-type]
                                                  type(self).__name__)
        random_init = others or copy.deepcopy(self.default_init_cfg)
        if random_init or pretrained is None:
            saved = self.init_cfg  # type: ignore[has-type]
            self.init_cfg = random_init or None
            try:
                super().init_weights()  # type: ignore[misc]
            finally:
                self.init_cfg = saved
        else:
            # Nothing to initialise before loading; skipping mmengine's top-level bookkeeping
            # also avoids its per-parameter "value unchanged by init_weights" dump.
            self._is_init = True
        if pretrained is not None:
            # src_labels / dst_labels: reorder the classifier rows by class name
            # (docs/labels.md)
            load_pretrained(self, pretrained['checkpoint'],  # type: ignore[arg-type]
                            prefix=pretrained.get('prefix'),
                            map_location=pretrained.get('map_location', 'cpu'),
                            allow_partial=pretrained.get('allow_partial', False),
                            src_labels=pretrained.get('src_labels'),
                            dst_labels=pretrained.get('dst_labels'))


class PretrainedHeadMixin(PretrainedInitMixin):
    """The loading protocol of every uniformer_mm head (before the toolbox head class).

    A head reads the classifier of any file layout: official (``head.*``, ``aux_head.*``,
    ``head_cls.*``, ``norm_cls.*``), a whole uniformer_mm / OpenMMLab model (``head.fc.*``,
    ``cls_head.fc_cls.*``, ...) or a head's own state_dict; the key tables are those of
    :mod:`uniformer_mm.checkpoint.keys`. A classifier with another number of classes
    (fine-tuning on another label set) is skipped with a warning and keeps its
    initialisation, as the official loaders delete it; one of another input width is an
    error (the file belongs to another architecture).
    """

    pretrained_prefix = None
    #: Head-local part -> official top-level name (:func:`uniformer_mm.checkpoint.keys.head_parts`).
    head_parts: Dict[str, str] = {}

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]
                           ) -> Dict[str, torch.Tensor]:
        """Select this head's parts from ``state_dict`` (see the class description).

        Raises:
            ShapeMismatchError: A part whose input width (or, for norms, shape) differs.
        """
        found = select_head_keys(state_dict, self.head_parts)
        own = self.state_dict()  # type: ignore[attr-defined]
        name = type(self).__name__
        classifiers = [p for p in self.head_parts if isinstance(getattr(self, p), nn.Linear)]

        def is_classifier(key: str) -> bool:
            return key.split('.', 1)[0] in classifiers

        def fits(key: str, value: torch.Tensor) -> bool:
            # Classifiers may differ in their class count (rows) only; norms must match.
            ref = own[key]
            if is_classifier(key):
                return value.dim() == ref.dim() and value.shape[1:] == ref.shape[1:]
            return value.shape == ref.shape

        wrong = [f'{k}: checkpoint {tuple(v.shape)} vs head {tuple(own[k].shape)}'
                 for k, v in found.items() if k in own and not fits(k, v)]
        if wrong:
            in_channels = own[f'{classifiers[0]}.weight'].shape[-1]
            raise ShapeMismatchError(
                f'the classifier does not fit {name} (in_channels={in_channels}): '
                + '; '.join(wrong) + '. The file belongs to another architecture.')
        other = [k for k, v in found.items() if is_classifier(k) and k in own
                 and v.shape != own[k].shape]
        if other:
            print_log(f'{name}: not loading the classifiers of the checkpoint: '
                      f'{found[other[0]].shape[0]} classes, the head has '
                      f'{own[other[0]].shape[0]} (fine-tuning on another label set); '
                      f'{", ".join(classifiers)} keep their initialisation, as the official '
                      'loaders delete them.', logger='current', level=logging.WARNING)
            found = {k: v for k, v in found.items() if not is_classifier(k)}
        return dict(found)
