"""Shared pytest fixtures and helpers: golden fixtures, tolerances, log capture, threading of
tiny-model tests, and the generated demo data sets."""
import logging
import os
from pathlib import Path
from typing import Callable, Iterator, List, Sequence, Tuple

import pytest
import torch

# mmpose imports albumentations, which would ask PyPI for a newer release on every import
# (the stack pins 1.4.24; the tools turn the check off the same way in uniformer_mm.cli).
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

DATA_DIR = Path(__file__).parent / 'data'


# --- golden fixtures, tolerances and mmengine log capture --------------------------------------
@pytest.fixture
def golden_case(tmp_path: Path) -> Callable[[str], Tuple[str, torch.Tensor, List[torch.Tensor]]]:
    """``load(name) -> (checkpoint path, input, expected outputs)`` for ``tests/data/NAME.pth``.

    The fixture's ``'checkpoint'`` entry (an official-format file) is written to ``tmp_path``
    so that models can load it through ``init_cfg=dict(type='Pretrained', checkpoint=path)``.
    """
    def load(name: str) -> Tuple[str, torch.Tensor, List[torch.Tensor]]:
        fx = torch.load(DATA_DIR / f'{name}.pth', weights_only=True)
        path = tmp_path / f'{name}_official.pth'
        torch.save(fx['checkpoint'], path)
        return str(path), fx['input'], list(fx['outputs'])
    return load


def max_rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """Largest absolute difference relative to the scale (max abs) of ``expected``."""
    assert actual.shape == expected.shape, (tuple(actual.shape), tuple(expected.shape))
    return float((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-12))


@pytest.fixture
def mm_log() -> Sequence[logging.LogRecord]:
    """Records logged through mmengine's current logger (``print_log(logger='current')``)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records: List[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[assignment]
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


# --- tiny-model test modules: one intra-op thread ---------------------------------------------
@pytest.fixture(scope='module')
def one_intraop_thread() -> Iterator[None]:
    """One torch intra-op thread for a whole module (``pytestmark = pytest.mark.usefixtures(
    'one_intraop_thread')``): tiny models gain nothing from a second thread, and on a busy
    2-core machine OpenMP's synchronisation (threads spin-waiting for a descheduled peer)
    makes each step several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- generated demo data sets (tools/demo/make_data.py) --------------------------------------
def make_demo_data(root: Path, only: Sequence[str]) -> Path:
    """Generate the demo data sets ``only`` (``'cls'``, ``'coco'``, ``'ade'``, ``'kinetics'``)
    under ``root``, in their real formats, with ``tools/demo/make_data.py``."""
    from tools.demo.make_data import make_all
    make_all(str(root), only=tuple(only))
    return root


@pytest.fixture(autouse=True)
def _default_scope_restored() -> Iterator[None]:
    """Each test leaves mmengine's current ``DefaultScope`` as it found it.

    mmengine keeps the last created scope process-wide: a test that builds a Runner or calls
    ``init_default_scope`` would otherwise decide which registry later tests' unprefixed
    names (``PackInputs``, ...) are looked up in, and results would depend on test order.
    """
    from mmengine.registry import DefaultScope
    before = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
