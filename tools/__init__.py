"""The command-line tools. Scripts run by path (``python tools/train.py``); the analysis tools
that share the benchmark package run as modules from the repository root
(``python -m tools.analysis.benchmark``), and tests import them as ``tools.*``."""
