"""Placeholder for ``mmaction.models.localizers.drn.drn`` (installed by tools/env/install.sh).

The mmaction2 1.2.0 wheel *and* sdist on PyPI lack the ``mmaction/models/localizers/drn``
package (it has no ``__init__.py``, so ``find_packages`` skipped it; mmaction2 issue #2714,
fix PR #2721 unmerged), which makes ``import mmaction.models`` fail for every model. The DRN
sources exist only in the git repository, so this module takes their place: it keeps the
``DRN`` name importable and registered, and building it says how to get the real one.
"""
from mmaction.registry import MODELS


@MODELS.register_module()
class DRN:
    """Stands in for mmaction2's DRN temporal localizer, whose code the PyPI release lacks."""

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError(
            "mmaction2 1.2.0's PyPI release does not contain the DRN localizer "
            '(mmaction/models/localizers/drn, mmaction2 issue #2714). To use DRN, install '
            'mmaction2 from its git repository: pip install -e <mmaction2 checkout>.')
