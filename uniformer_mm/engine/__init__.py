"""Training helpers registered in uniformer_mm's engine registries (optimizer constructors, hooks)."""
from .optimizers import LayerDecayOptimWrapperConstructor  # noqa: F401  (issue 3)
