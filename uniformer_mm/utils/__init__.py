"""Utilities that are not models: :mod:`uniformer_mm.utils.flops` (the FLOP counter with
fused attention that ``tools/analysis/get_flops.py`` and the benchmark share).

Nothing is imported here, so that ``import uniformer_mm.utils`` stays cheap.
"""
