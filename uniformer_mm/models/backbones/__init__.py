"""UniFormer backbones."""
from .uniformer3d import UniFormer3D  # noqa: F401  (issue 5: video backbone)
from .uniformer_light import UniFormerLight, UniFormerLight3D  # noqa: F401  (issue 4: light models)
from .uniformer import UniFormer  # noqa: F401  (issue 3: image backbone)
