# Semantic FPN, UniFormer-XXS (hourglass), 80k: 42.3 mIoU (fpn_seg/exp_light/fpn_xxs: no drop
# path).
_base_ = './fpn_uniformer_xs.py'
model = dict(
    backbone=dict(**_base_.uniformer_xxs, drop_path_rate=0.),
    neck=dict(in_channels=[56, 112, 224, 448]))
