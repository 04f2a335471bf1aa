"""Heads for the toolboxes' task models.

They subclass toolbox classes, so nothing is imported here: each one is registered lazily in
:mod:`uniformer_mm.models` (:func:`uniformer_mm.registry.register_lazy`) and its module is
imported only when a config builds it.
"""
