"""Validation of backbone arguments by type and range (shared by every UniFormer family).

A bad config value fails here with its name, the value and the fix, instead of deep inside
torch (``drop_path_rate="0.1"``, ``in_channels=-1``), at NaN time (``drop_path_rate=1.0``) or
not at all (``norm_eval="no"`` is truthy).
"""
import math
import numbers
from typing import Any, Optional

__all__ = ['ARG_CHECKS', 'check_args', 'is_number']


def is_number(value: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_rate(name: str, value: Any) -> Optional[str]:
    if not is_number(value):
        return f'{name} must be a number in [0, 1)'
    return None if 0 <= value < 1 else f'{name} must be in [0, 1) (a probability; 1 drops all)'


def _check_bool(name: str, value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else f'{name} must be True or False'


def _check_optional_bool(name: str, value: Any) -> Optional[str]:
    return None if value is None or isinstance(value, bool) else \
        f'{name} must be None, True or False'


def _check_positive_int(name: str, value: Any) -> Optional[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else f'{name} must be an int > 0'


def _check_positive(name: str, value: Any) -> Optional[str]:
    return None if is_number(value) and value > 0 else f'{name} must be a number > 0'


def _check_optional_positive(name: str, value: Any) -> Optional[str]:
    return None if value is None or (is_number(value) and value > 0) else \
        f'{name} must be None or a number > 0'


def _check_optional_number(name: str, value: Any) -> Optional[str]:
    ok = value is None or (is_number(value) and math.isfinite(value))
    return None if ok else f'{name} must be None or a finite number'


#: Argument name -> check returning the problem (or None). The arguments of every family are
#: validated by type and range before anything is built, so that a bad config value fails
#: with its name instead of deep inside torch (or, for a truthy string, not at all).
ARG_CHECKS = {
    'in_channels': _check_positive_int,
    'drop_rate': _check_rate,
    'attn_drop_rate': _check_rate,
    'drop_path_rate': _check_rate,
    'final_norm': _check_bool,
    'norm_eval': _check_bool,
    'qkv_bias': _check_bool,
    'attn_fp32': _check_bool,
    'std': _check_bool,
    'pretrained2d': _check_optional_bool,
    'qk_scale': _check_optional_positive,
    'norm_eps': _check_positive,
    'window_size': _check_positive_int,
    'layer_scale_init_value': _check_optional_number,
}


def check_args(owner: str, **values: Any) -> None:
    """Validate backbone arguments with :data:`ARG_CHECKS`.

    Raises:
        ValueError: Naming the argument, the value given and the fix (``TypeError`` for a
            value of the wrong type, e.g. the string ``"0.1"``).
    """
    for name, value in values.items():
        check = ARG_CHECKS[name]
        problem = check(name, value)
        if problem is None:
            continue
        if check in (_check_bool, _check_optional_bool):
            wrong_type = not isinstance(value, bool)
        elif check is _check_positive_int:
            wrong_type = not isinstance(value, int) or isinstance(value, bool)
        else:
            wrong_type = not (is_number(value) or value is None)
        raise (TypeError if wrong_type else ValueError)(
            f'{owner}: {problem}, got {value!r} ({type(value).__name__}); fix {name} in the '
            f'backbone config, e.g. {name}={_EXAMPLES[name]!r}')


_EXAMPLES = {'in_channels': 3, 'drop_rate': 0.0, 'attn_drop_rate': 0.0, 'drop_path_rate': 0.1,
             'final_norm': True, 'norm_eval': False, 'qkv_bias': True, 'attn_fp32': True,
             'std': False, 'pretrained2d': None, 'qk_scale': None, 'norm_eps': 1e-6,
             'window_size': 14, 'layer_scale_init_value': 1e-6}
