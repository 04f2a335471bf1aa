# Semantic FPN, UniFormer-XS (hourglass), 80k: 44.4 mIoU (fpn_seg/exp_light/fpn_xs: drop path
# 0.1, ImageNet weights at 224).
_base_ = './_base_/fpn_uniformer.py'
model = dict(
    backbone=dict(_delete_=True, **_base_.uniformer_xs, out_indices=(0, 1, 2, 3),
                  drop_path_rate=0.1),
    neck=dict(in_channels=[64, 128, 256, 512]))
