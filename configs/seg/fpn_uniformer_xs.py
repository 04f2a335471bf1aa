# Semantic FPN, UniFormer-XS (hourglass), 80k: 44.4 mIoU (fpn_seg/exp_light/fpn_xs: drop path
# 0.1, ImageNet weights at 224).
_base_ = './_base_/fpn_uniformer.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='uniformer_mm.UniFormerLight',
        arch='xs',
        mode='dense',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_xs_224_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
