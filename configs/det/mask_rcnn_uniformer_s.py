# Mask R-CNN, UniFormer-S (hybrid window 14), 1x: 45.6 box / 41.6 mask AP
# (object_detection/exp/mask_rcnn_1x_hybrid_small: drop path 0.2, checkpointing of the 8
# stage-3 blocks to save memory).
_base_ = './_base_/mask_rcnn_uniformer_fpn.py'
model = dict(backbone=dict(with_cp=(0, 0, 8, 0)))
