# Mask R-CNN, UniFormer-XXS (hourglass), 1x, fp32: 42.8 box / 39.2 mask AP
# (object_detection/exp_light/mask_rcnn_1x_xxs: no drop path).
_base_ = './mask_rcnn_uniformer_xs.py'
model = dict(
    backbone=dict(**_base_.uniformer_xxs, drop_path_rate=0.),
    neck=dict(in_channels=[56, 112, 224, 448]))
