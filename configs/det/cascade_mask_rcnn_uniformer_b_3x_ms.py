# Cascade Mask R-CNN, UniFormer-B (hybrid window 14), 3x + multi-scale: 53.8 box / 46.4 mask
# AP (object_detection/exp/cascade_mask_rcnn_3x_ms_hybrid_base: drop path 0.4).
_base_ = './_base_/cascade_mask_rcnn_uniformer_fpn_3x_ms.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.4, with_cp=(0, 0, 20, 0)))
