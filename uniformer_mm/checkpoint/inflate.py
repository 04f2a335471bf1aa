"""2D → 3D inflation of UniFormer state dicts (ImageNet weights as the start of a video model).

The official video code (``get_pretrained_model`` of the SlowFast ``Uniformer``) turns every
2D convolution kernel of an ImageNet checkpoint into a 3D one by repeating it along a new time
axis and dividing by its length ("average" inflation: a clip of identical frames then gives the
2D response), and copies everything else (LayerNorm, BatchNorm, Linear). The "center" mode of
I3D puts the 2D kernel in the middle time slice and zeros elsewhere (mmaction2's own UniFormer
uses it by default; the official code never does).

Unlike the official function, mismatches that cannot be inflated are errors that name the key
(the official code logs "Ignore" and then fails inside ``load_state_dict``), except for
classifier keys whose class count differs, which are dropped with a warning.
"""
import logging
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log

from .io import CheckpointError

__all__ = ['INFLATE_MODES', 'InflationError', 'inflate_weight', 'is_inflatable',
           'inflate_state_dict']

#: Supported inflation modes; ``'average'`` is the official default.
INFLATE_MODES = ('average', 'center')

ShapeLike = Union[torch.Size, Sequence[int]]


class InflationError(CheckpointError, ValueError):
    """A checkpoint tensor cannot be brought to the shape the 3D model expects.

    A :class:`~uniformer_mm.checkpoint.CheckpointError` like every other loading failure, and
    a ``ValueError`` for callers of :func:`inflate_weight` with bad arguments.
    """


def inflate_weight(weight: torch.Tensor, time_dim: int, mode: str = 'average') -> torch.Tensor:
    """Inflate one 2D kernel ``(out, in, *k)`` to ``(out, in, time_dim, *k)``.

    Args:
        weight (Tensor): The 2D kernel (any number of spatial dims >= 1).
        time_dim (int): Length of the new time axis (the 3D kernel's ``shape[2]``).
        mode (str): ``'average'``: repeat along time and divide by ``time_dim`` (official
            default; keeps the response to a static clip). ``'center'``: the kernel in slice
            ``time_dim // 2`` and zeros elsewhere (I3D "centre" init; also keeps it).

    Returns:
        Tensor: The inflated kernel, same dtype and device as ``weight``.
    """
    if mode not in INFLATE_MODES:
        raise ValueError(f'inflate mode must be one of {INFLATE_MODES}, got {mode!r}')
    if weight.dim() < 3:
        raise InflationError(f'only convolution kernels (>= 3 dims) can be inflated, got a '
                             f'{weight.dim()}-D tensor of shape {tuple(weight.shape)}')
    if int(time_dim) < 1:
        raise InflationError(f'time_dim must be >= 1, got {time_dim!r}')
    w = weight.unsqueeze(2)
    if mode == 'average':
        return w.repeat_interleave(time_dim, dim=2) / time_dim
    out = w.new_zeros(w.shape[:2] + (time_dim, ) + w.shape[3:])
    out[:, :, time_dim // 2] = weight
    return out


def is_inflatable(src_shape: ShapeLike, dst_shape: ShapeLike) -> bool:
    """Whether a kernel of ``src_shape`` inflates to ``dst_shape`` (a new axis at dim 2)."""
    src, dst = tuple(src_shape), tuple(dst_shape)
    return len(src) >= 3 and len(dst) == len(src) + 1 and dst[:2] == src[:2] \
        and dst[3:] == src[2:]


def _shape(x: Union[torch.Tensor, ShapeLike]) -> Tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else tuple(x)


def _group(key: str, prefixes: Iterable[str]) -> Optional[str]:
    for prefix in prefixes:
        if key.startswith(prefix):
            return prefix
    return None


def inflate_state_dict(state_dict: Mapping[str, torch.Tensor],
                       target: Mapping[str, Union[torch.Tensor, ShapeLike]],
                       mode: str = 'average',
                       allow_inflation: bool = True,
                       drop_mismatched: Sequence[str] = ('head.', ),
                       logger: Optional[str] = 'current') -> Dict[str, torch.Tensor]:
    """Bring a (2D or 3D) UniFormer state dict to the shapes of a 3D model.

    For every key of ``state_dict``:

    * not in ``target``: kept unchanged (the loader reports it as unexpected);
    * same shape as in ``target``: copied (LayerNorm, BatchNorm, Linear, or already-3D kernels);
    * a 2D kernel whose 3D counterpart has one more axis at dim 2 (``(o, i, kh, kw)`` →
      ``(o, i, kt, kh, kw)``): inflated with :func:`inflate_weight` (``kt = 1`` for
      ``1 x 1`` convs is a plain unsqueeze, and is also exact in ``'center'`` mode);
    * any other mismatch under a prefix of ``drop_mismatched`` (the classifier, whose class
      count differs between datasets): every key under that prefix is dropped, with a warning;
    * any other mismatch: :class:`InflationError` naming the key and both shapes.

    Args:
        state_dict (Mapping[str, Tensor]): Unwrapped checkpoint weights (no ``module.`` /
            ``backbone.`` prefix).
        target (Mapping[str, Tensor | shape]): The 3D model's ``state_dict()`` (or shapes).
        mode (str): ``'average'`` (official) or ``'center'``; see :func:`inflate_weight`.
        allow_inflation (bool): If False, a kernel that would need inflation is an error
            (for checkpoints that must already be 3D). Defaults to True.
        drop_mismatched (Sequence[str]): Key prefixes dropped as a group on a shape mismatch.
            Defaults to ``('head.',)``, the official classifier.
        logger (str, optional): mmengine logger for the summary; None to stay silent.

    Returns:
        dict: A new state dict; tensors not inflated are the same objects as in the input.

    Raises:
        InflationError: A shape mismatch that is neither inflatable nor droppable, or any
            inflation while ``allow_inflation`` is False.
    """
    if mode not in INFLATE_MODES:
        raise ValueError(f'inflate mode must be one of {INFLATE_MODES}, got {mode!r}')
    out: Dict[str, torch.Tensor] = {}
    inflated: List[str] = []
    dropped_groups: Dict[str, str] = {}
    errors: List[str] = []
    for key, value in state_dict.items():
        if key not in target or not isinstance(value, torch.Tensor):
            out[key] = value
            continue
        src, dst = _shape(value), _shape(target[key])
        if src == dst:
            out[key] = value
        elif is_inflatable(src, dst):
            if not allow_inflation:
                errors.append(f'{key}: checkpoint {src} is a 2D kernel, the model expects {dst} '
                              '(inflation is disabled, e.g. by pretrained2d=False)')
                continue
            out[key] = inflate_weight(value, dst[2], mode)
            inflated.append('x'.join(map(str, src[2:])) + ' -> ' + 'x'.join(map(str, dst[2:])))
        elif _group(key, drop_mismatched) is not None:
            dropped_groups[_group(key, drop_mismatched)] = f'{key} {src} vs model {dst}'
        else:
            errors.append(f'{key}: checkpoint {src}, model {dst}')
    if errors:
        raise InflationError(
            'the checkpoint does not fit the 3D model; these tensors can neither be copied nor '
            'inflated (only 2D conv kernels -> 3D kernels with one more axis at dim 2 can):\n  '
            + '\n  '.join(errors) + '\nCheck arch / embed_dims / std / the checkpoint file.')
    for prefix, why in dropped_groups.items():
        for key in [k for k in out if k.startswith(prefix)]:
            del out[key]
        if logger is not None:
            print_log(f'Dropped the checkpoint\'s {prefix}* tensors: shape mismatch ({why}), '
                      'e.g. a different number of classes; they keep their initialisation.',
                      logger=logger, level=logging.WARNING)
    if inflated and logger is not None:
        kinds = ', '.join(f'{k} ({inflated.count(k)})' for k in sorted(set(inflated)))
        print_log(f'Inflated {len(inflated)} 2D kernels to 3D ({mode} mode): {kinds}',
                  logger=logger)
    return out
