"""How every tool reports a user's mistake: one ``error: ...`` line.

The traceback is shown instead with ``UNIFORMER_MM_DEBUG=1``.
"""
import contextlib
import os
import sys
from typing import Iterator, Type

__all__ = ['USER_ERRORS', 'exit_on_error']

#: A user's mistakes in the command line or config: a missing file, a toolbox that is not
#: installed (``MissingToolboxError`` is an ``ImportError``), a bad value. Their messages say
#: what to do. Tools that load checkpoints add ``uniformer_mm.checkpoint.CheckpointError``.
USER_ERRORS = (FileNotFoundError, ImportError, ValueError)


@contextlib.contextmanager
def exit_on_error(*errors: Type[BaseException]) -> Iterator[None]:
    """Exit with ``error: <message>`` (status 1) when one of ``errors`` escapes the block.

    The command-line tools wrap the steps whose failures are the user's to fix in this: the
    message names the file, flag or package and what to do, while the traceback would only
    show library internals. With the environment variable ``UNIFORMER_MM_DEBUG`` set
    (e.g. ``UNIFORMER_MM_DEBUG=1``) the exception propagates with its traceback instead.
    Other exceptions always propagate: they are bugs, and their traceback is what helps.

    Example::

        args = parse_args(argv)  # first, so that --help does not wait for heavy imports
        with cli.exit_on_error(*cli.USER_ERRORS, CheckpointError):
            ...

    Args:
        *errors (type): The exception classes to report in one line; at least one.

    Raises:
        SystemExit: With the message ``error: <the exception's message>``.
    """
    if not errors:
        raise TypeError('exit_on_error() needs the exception classes to report')
    try:
        yield
    except errors as e:
        if os.environ.get('UNIFORMER_MM_DEBUG'):
            raise
        sys.exit(f'error: {e}')
