"""Checkpoint reading and conversion: the one place every uniformer_mm entry point uses.

* :func:`load_checkpoint_file` -- ``torch.load(weights_only=True)`` plus the allow-list of
  what official releases pickle; clear errors for unsafe or corrupted files.
* :func:`unwrap_state_dict` -- ``{'model' | 'state_dict' | 'model_state': ...}`` and
  ``module.`` prefixes to a flat state_dict.
* :func:`convert_official_to_mm` -- official keys to the mmpretrain / mmdet / mmseg / mmpose /
  mmaction2 model layouts (key tables of the heads: :mod:`~uniformer_mm.checkpoint.keys`).
* :func:`describe_state_dict` -- which UniFormer a state_dict is (for error messages).
* :func:`load_pretrained` -- all of the above plus the module's loading protocol
  (:class:`~uniformer_mm.checkpoint.protocol.PretrainedModule`), shape checks and loud
  missing/unexpected key reports; called by ``init_weights()`` of our backbones and heads
  when ``init_cfg=dict(type='Pretrained', checkpoint=...)``, and by ``tools/test.py``.
* :mod:`~uniformer_mm.checkpoint.release` -- whole release files (converter tool,
  ``tools/test.py``): which release a file is, conversion, architecture comparison.
"""
from uniformer_mm.archs import HEAD_DIM_TRAP, IMAGE_ARCHS, KNOWN_ARCHS
from .convert import (CONVERTERS, convert_official_to_mm, is_mm_layout, make_mm_checkpoint,
                      register_converter)
from .inflate import InflationError, inflate_state_dict, inflate_weight
from .io import (CheckpointError, CorruptCheckpointError, UnsafeCheckpointError,
                 load_checkpoint_file, official_checkpoint_globals)
from .keys import select_head_keys
from .loading import ArchMismatchError, ShapeMismatchError, load_pretrained, summarize_keys
from .protocol import PretrainedModule
from .state_dict import (WRAPPER_KEYS, StateDictInfo, describe_state_dict, strip_prefix,
                         unwrap_state_dict)

__all__ = [
    'load_checkpoint_file', 'official_checkpoint_globals', 'unwrap_state_dict', 'strip_prefix',
    'describe_state_dict', 'StateDictInfo', 'load_pretrained', 'convert_official_to_mm',
    'register_converter', 'is_mm_layout', 'make_mm_checkpoint', 'summarize_keys', 'CONVERTERS',
    'WRAPPER_KEYS', 'IMAGE_ARCHS', 'KNOWN_ARCHS', 'HEAD_DIM_TRAP', 'CheckpointError',
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'ShapeMismatchError', 'ArchMismatchError',
    'inflate_weight', 'inflate_state_dict', 'InflationError', 'select_head_keys',
    'PretrainedModule'
]
