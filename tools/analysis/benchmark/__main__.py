"""``python -m tools.analysis.benchmark``: see :mod:`tools.analysis.benchmark.cli`."""
from .cli import main

main()
