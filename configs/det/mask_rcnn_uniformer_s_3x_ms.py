# Mask R-CNN, UniFormer-S (hybrid window 14), 3x + multi-scale: 48.2 box / 43.4 mask AP
# (object_detection/exp/mask_rcnn_3x_ms_hybrid_small: drop path 0.1).
_base_ = './_base_/mask_rcnn_uniformer_fpn_3x_ms.py'
model = dict(backbone=dict(drop_path_rate=0.1, with_cp=(0, 0, 8, 0)))
