"""Training helpers registered in uniformer_mm's engine registries (optimizer constructors,
hooks, loops)."""
from .checkpoint_hook import CheckpointHook  # noqa: F401  (crash-consistent checkpoints)
from .hooks import (ExactResumeHook, NonFiniteLossHook,  # noqa: F401
                    PreemptionCheckpointHook)
from .log_interval import ScaleLogIntervalHook  # noqa: F401  (log lines a few times per epoch)
from .loops import EpochBasedTrainLoop  # noqa: F401  (mid-epoch resume)
from .optimizers import LayerDecayOptimWrapperConstructor  # noqa: F401
