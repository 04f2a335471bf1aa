"""``init_weights`` for modules whose ``Pretrained`` init_cfg goes through our checkpoint loader.

mmengine's own ``PretrainedInit`` only unwraps ``{'state_dict': ...}`` files and knows neither
the official layouts (``{'model': ...}``, ``{'model_state': ...}``), nor key conversion, nor
2D->3D inflation. Every uniformer_mm backbone and head therefore runs the non-``Pretrained``
initialisers through mmengine first and then loads the checkpoint itself, last, so nothing
overwrites the loaded weights (the official code loaded in ``__init__``).
"""
import copy
import logging
from typing import List, Optional, Tuple, Union

from mmengine.logging import print_log

__all__ = ['PretrainedInitMixin', 'split_pretrained_cfg']

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
    return (pretrained[0] if pretrained else None), [
        c for c in cfgs if c.get('type') != 'Pretrained']


class PretrainedInitMixin:
    """Mixin (before ``BaseModule`` in the bases) implementing the order described above.

    Subclasses may set :attr:`default_init_cfg` (applied when ``init_cfg`` has no other
    entries) and override :meth:`load_pretrained_cfg` (the default calls
    :func:`uniformer_mm.checkpoint.load_pretrained`, which unwraps, converts through the
    module's ``convert_pretrained`` hook and reports missing / unexpected keys).
    """

    #: Initialisers applied when ``init_cfg`` holds nothing but (at most) a Pretrained entry.
    default_init_cfg: InitCfg = None

    def init_weights(self) -> None:
        """Run the non-``Pretrained`` initialisers, then load the ``Pretrained`` checkpoint."""
        if self._is_init:
            print_log(f'{type(self).__name__}.init_weights() was already called; skipped.',
                      logger='current', level=logging.WARNING)
            return
        pretrained, others = split_pretrained_cfg(self.init_cfg, type(self).__name__)
        random_init = others or copy.deepcopy(self.default_init_cfg)
        if random_init or pretrained is None:
            saved = self.init_cfg
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
            self.load_pretrained_cfg(pretrained)

    def load_pretrained_cfg(self, cfg: dict) -> None:
        """Load ``cfg['checkpoint']`` (a ``Pretrained`` init_cfg entry) into this module."""
        from uniformer_mm.checkpoint import load_pretrained
        load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),  # type: ignore
                        map_location=cfg.get('map_location', 'cpu'))
