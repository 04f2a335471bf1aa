# Cascade Mask R-CNN, UniFormer-S (hybrid window 14), 3x + multi-scale: 52.1 box / 45.2 mask
# AP (object_detection/exp/cascade_mask_rcnn_3x_ms_hybrid_small: drop path 0.2).
_base_ = './_base_/cascade_mask_rcnn_uniformer_fpn_3x_ms.py'
model = dict(backbone=dict(with_cp=(0, 0, 8, 0)))
