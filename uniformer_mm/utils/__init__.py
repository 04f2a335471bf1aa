"""Utilities that are not models: :mod:`uniformer_mm.utils.benchmark` (speed / memory
measurements behind ``tools/analysis/benchmark.py``).

Nothing is imported here, so that ``import uniformer_mm.utils`` stays cheap.
"""
