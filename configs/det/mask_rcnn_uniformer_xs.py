# Mask R-CNN, UniFormer-XS (hourglass), 1x, fp32: 44.6 box / 40.9 mask AP
# (object_detection/exp_light/mask_rcnn_1x_xs: drop path 0.15). The official light runs
# train in fp32 (mixed precision gave NaN losses).
_base_ = './_base_/mask_rcnn_uniformer_fpn.py'
model = dict(
    backbone=dict(_delete_=True, **_base_.uniformer_xs, out_indices=(0, 1, 2, 3),
                  drop_path_rate=0.15),
    neck=dict(in_channels=[64, 128, 256, 512]))
optim_wrapper = dict(type='OptimWrapper')
