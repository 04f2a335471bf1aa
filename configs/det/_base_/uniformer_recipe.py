# What every UniFormer detector here shares (object_detection/exp*/config.py), kept as named
# pieces that the detector bases splice into mmdet's configs with `_base_.<name>`:
#   uniformer_model          replaces mmdet's backbone by UniFormer-S
#                            (../../_base_/uniformer_backbones.py) with four outputs (strides
#                            4-32), stage-3 hybrid attention (window 14, every 4th block global)
#                            and drop path 0.2, and gives the FPN its widths.
#   uniformer_optim_wrapper  replaces mmdet's optimizer wrapper: AdamW lr 1e-4, betas
#                            (0.9, 0.999), weight decay 0.05 except every parameter whose name
#                            contains 'norm' (all BN/LN of the backbone, as the official
#                            custom_keys), apex O1 AMP -> AmpOptimWrapper.
#   uniformer_warmup         mmdet 2.x 'step' policy warm-up: linear over 500 iterations from
#                            0.001 x lr (mmcv: lr x (0.001 + 0.999 k / 500) at iteration
#                            k < 500; mmengine's LinearLR reaches its end factor at end - 1,
#                            hence end=501), multiplying the step schedule.
#   uniformer_schedule_1x    the warm-up, then lr x0.1 after epochs 8 and 11 of 12.
#   uniformer_schedule_3x    the warm-up, then lr x0.1 after epochs 27 and 33 of 36.
# (mmdet's schedules have these epochs and decay, but a 1000-iteration warm-up.) The total batch
# is mmdet's too: 8 GPUs x 2 images, `auto_scale_lr.base_batch_size=16`.
# Leaf configs change `model.backbone` (arch, drop path, checkpointing, checkpoint file).
# The authors did not freeze BN ("we forget to freeze BN"); it stays trainable to reproduce.
_base_ = '../../_base_/uniformer_backbones.py'

uniformer_model = dict(
    backbone=dict(_delete_=True, **_base_.uniformer_s, out_indices=(0, 1, 2, 3),
                  attn_type='hybrid', window_size=14, drop_path_rate=0.2),
    neck=dict(in_channels=[64, 128, 320, 512]))
uniformer_optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
uniformer_warmup = dict(
    type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=501)
uniformer_schedule_1x = [
    uniformer_warmup,
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
uniformer_schedule_3x = [
    uniformer_warmup,
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
