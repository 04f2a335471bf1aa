"""Training helpers registered in uniformer_mm's engine registries (optimizer constructors,
hooks, loops)."""
from .hooks import ExactResumeHook, PreemptionCheckpointHook  # noqa: F401  (issue 9)
from .log_interval import ScaleLogIntervalHook  # noqa: F401  (issue 16)
from .loops import EpochBasedTrainLoop  # noqa: F401  (mid-epoch resume)
from .optimizers import LayerDecayOptimWrapperConstructor  # noqa: F401  (issue 3)
