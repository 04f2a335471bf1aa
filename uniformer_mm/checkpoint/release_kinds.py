"""The kinds of checkpoint files the converter and the loaders recognise (plain data).

This module imports nothing: ``tools/model_converters/uniformer_official2mm.py --help`` reads
it by path without importing the package (which imports torch), so that its help is instant.
"""
from typing import Dict, Optional

__all__ = ['RELEASE_KINDS', 'RELEASE_TOOLBOX']

#: Release kind -> what it is (for messages and ``--help``).
RELEASE_KINDS: Dict[str, str] = {
    'image': 'ImageNet classification (DeiT main.py, {"model": ...})',
    'image_tl': 'ImageNet token labeling (timm CheckpointSaver, {"state_dict": ...}, aux_head)',
    'image_light': 'ImageNet light / hourglass classification (main_light.py)',
    'video': 'video classification (SlowFast, {"model_state": ...})',
    'video_light': 'light video classification (SlowFast, {"model_state": ...})',
    'backbone': 'a bare backbone state_dict (no classifier)',
    'mmdet': 'COCO detection / instance segmentation (mmdet 2.11, EpochBasedRunnerAmp)',
    'mmseg': 'ADE20K segmentation (mmseg 0.13 UperNet or PVT-style semantic FPN)',
    'mmpose': 'COCO top-down pose (mmpose 0.16 TopDown + TopDownSimpleHead)',
    'mm': 'a model already in the OpenMMLab 2.0 layout (backbone.* keys: converted, trained '
          'with an mmengine Runner, or a dense release holding the backbone only)',
}
#: Release kind -> the 2.0 toolbox (default_scope) whose model layout it converts to.
RELEASE_TOOLBOX: Dict[str, Optional[str]] = {
    'image': 'mmpretrain', 'image_tl': 'mmpretrain', 'image_light': 'mmpretrain',
    'video': 'mmaction', 'video_light': 'mmaction', 'backbone': None, 'mmdet': 'mmdet',
    'mmseg': 'mmseg', 'mmpose': 'mmpose', 'mm': None,
}
