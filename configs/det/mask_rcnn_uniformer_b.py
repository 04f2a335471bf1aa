# Mask R-CNN, UniFormer-B (hybrid window 14), 1x: 47.4 box / 43.1 mask AP
# (object_detection/exp/mask_rcnn_1x_hybrid_base: drop path 0.3, no checkpointing).
_base_ = './_base_/mask_rcnn_uniformer_fpn.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.3))
