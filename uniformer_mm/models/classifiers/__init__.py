"""Task models (classifiers) that subclass a toolbox's classes.

Nothing is imported here: each one is registered lazily in :mod:`uniformer_mm.models`
(:func:`uniformer_mm.registry.register_lazy`) and its module is imported only when built.
"""
