"""What ``tools/demo/image_demo.py`` and ``tools/demo/video_demo.py`` share.

Both take ``INPUT CONFIG CHECKPOINT --out PNG``, check the cheap things before the slow model
load and write the drawing as PNG. Only the inference and the drawing differ per demo. A
user's mistake becomes one ``error: ...`` line through
:func:`uniformer_mm.cli.exit_on_error`, imported after the arguments are parsed.

The demos import this file as ``_common`` (Python puts a script's folder first on
``sys.path``; ``tools/`` is not a package). It imports neither torch nor uniformer_mm at the
top, so that ``--help`` and argument errors stay instant.
"""
import argparse
import os
import os.path as osp

import numpy as np

__all__ = ['demo_arg_parser', 'check_demo_paths', 'write_png']


def demo_arg_parser(description: str, input_name: str, input_help: str,
                    config_help: str) -> argparse.ArgumentParser:
    """A parser with the demos' common arguments: ``INPUT CONFIG CHECKPOINT --out PNG``.

    Args:
        description (str): The parser's description.
        input_name (str): Name of the positional input (``'img'``, ``'video'``).
        input_help (str): Its help text.
        config_help (str): Help text of ``config`` (which toolboxes the demo takes).

    Returns:
        argparse.ArgumentParser: Add the demo's own options, then parse.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(input_name, help=input_help)
    parser.add_argument('config', help=config_help)
    parser.add_argument('checkpoint', help='checkpoint (OpenMMLab 2.0 or official release)')
    parser.add_argument('--out', required=True, help='output PNG file')
    return parser


def check_demo_paths(src: str, what: str, out: str) -> None:
    """Refuse a missing input or a non-PNG output before the (slow) model load.

    Args:
        src (str): The input file.
        what (str): What it is, for the message (``'image'``, ``'video'``).
        out (str): The ``--out`` file.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ValueError: ``out`` does not end with ``.png``.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'{what} {src!r} does not exist')
    if not out.lower().endswith('.png'):
        raise ValueError(f'--out {out!r}: the visualisation is written as PNG; use a .png '
                         'file name')


def write_png(drawn: np.ndarray, out: str, summary: str) -> None:
    """Write the RGB drawing to ``out`` and print ``<summary> -> <out>``.

    Args:
        drawn (np.ndarray): ``H, W, 3`` RGB image.
        out (str): The PNG file; its folder is created.
        summary (str): The result in one line, e.g. ``'mmpretrain: 1. cat: 0.912'``.
    """
    import mmcv
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    mmcv.imwrite(mmcv.rgb2bgr(drawn), out)
    print(f'{summary} -> {out}', flush=True)
