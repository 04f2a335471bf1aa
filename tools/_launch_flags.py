"""The launch flags ``tools/train.py`` and ``tools/test.py`` share: ``--cfg-options``,
``--launcher`` and ``--local-rank`` (the flags of the OpenMMLab toolboxes' scripts).

They are declared here with plain :mod:`argparse`: this file imports neither torch, mmengine
nor uniformer_mm (importing any module of the package pulls torch), so ``--help`` and argument
errors stay instant. What the flags do once parsed is
:func:`uniformer_mm.cli.apply_launch_args`, imported after parsing.

The tools import this file as ``_launch_flags`` (Python puts a script's folder first on
``sys.path``), as the demos import ``tools/demo/_common.py``.
"""
import argparse

__all__ = ['add_launch_flags', 'add_cfg_options']


def add_cfg_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--cfg-options KEY=VALUE ...`` (a list; ``uniformer_mm.cli.parse_cfg_options``
    makes it the dict of mmengine's ``DictAction`` after parsing).

    Args:
        parser (argparse.ArgumentParser): A tool's parser.

    Returns:
        argparse.ArgumentParser: The same parser.
    """
    parser.add_argument('--cfg-options', nargs='+', action='extend', metavar='KEY=VALUE',
                        help='override config settings (mmengine DictAction syntax), e.g. '
                        'train_dataloader.batch_size=4')
    return parser


def add_launch_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank`` to ``parser``.

    Args:
        parser (argparse.ArgumentParser): A tool's parser.

    Returns:
        argparse.ArgumentParser: The same parser.
    """
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser
