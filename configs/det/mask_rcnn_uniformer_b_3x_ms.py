# Mask R-CNN, UniFormer-B (hybrid window 14), 3x + multi-scale: 50.3 box / 44.8 mask AP
# (object_detection/exp/mask_rcnn_3x_ms_hybrid_base: drop path 0.3).
_base_ = './_base_/mask_rcnn_uniformer_fpn_3x_ms.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.3, with_cp=(0, 0, 20, 0)))
