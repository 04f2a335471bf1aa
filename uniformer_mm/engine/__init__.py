"""Training helpers registered in uniformer_mm's engine registries (optimizer constructors, hooks)."""
from .hooks import ExactResumeHook  # noqa: F401  (issue 9: exact resume after a kill)
from .optimizers import LayerDecayOptimWrapperConstructor  # noqa: F401  (issue 3)
