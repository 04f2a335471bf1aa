# UniFormer on ImageNet-1K with the official DeiT recipe (image_classification/main.py):
# AdamW, lr 5e-4 x (total batch / 512), weight decay 0.05 except 1-D parameters and biases,
# 5 warm-up epochs from 1e-6, cosine to 1e-5 over 300 epochs (main.py discards timm's
# 10 cool-down epochs: it trains exactly 300), RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 /
# cutmix 1.0 with label smoothing 0.1, random erasing 0.25, repeated augmentation, model EMA
# 0.99996 (kept, never evaluated: the official numbers are the raw weights'), native AMP,
# 8 GPUs x 128. docs/recipes.md lists every value with its source.
# mmpretrain's Swin-style ImageNet data base is exactly that pipeline (bicubic
# RandomResizedCrop, timm-increasing RandAugment, random erasing; test: short side 256, centre
# crop 224 = DeiT's int(256 / 224 * 224)).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='uniformer_mm.UniFormer', arch='small', drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        # The mixup/cutmix targets are smoothed by 0.1 as timm's Mixup(label_smoothing=0.1).
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        # Official `_init_weights`: every Linear trunc-normal(0.02), bias 0.
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    # DeiT: mixup or cutmix per batch with probability 0.5 each (mixup_switch_prob 0.5).
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# 8 GPUs x 128 images; DeiT's RASampler repeats every image 3 times per epoch; the last
# incomplete batch is dropped.
train_dataloader = dict(
    batch_size=128, drop_last=True, sampler=dict(type='RepeatAugSampler', shuffle=True))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# lr = 5e-4 x 1024 / 512 (DeiT's linear scaling rule at the official total batch of 1024).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(lr=1e-3),
    # timm's add_weight_decay: no decay for 1-D parameters (norms, layer-scale gammas) and
    # biases. The depthwise position-embedding convs ARE decayed (official
    # no_weight_decay() names 'pos_embed', which matches no parameter).
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.))

warmup_epochs = 5
cosine_epochs = 300
# timm's schedule, stepped once per epoch: lr x (1e-6 / lr + (1 - 1e-6 / lr) t / 5) in epoch
# t < 5 (--warmup-lr 1e-6), then 1e-5 + (lr - 1e-5)(1 + cos(pi t / 300)) / 2, a cosine counted
# from epoch 0 (timm's warmup_prefix=False). mmengine chains overlapping schedulers
# multiplicatively: the warm-up ramp (ending at factor 1 in epoch 5) times the cosine from 0
# gives timm's lr from epoch 5 on, to 1e-4 relative (during the warm-up, timm's ramp times
# the cosine factor, >= 0.9993). T_max with end = T_max + 1 reaches the minimum in epoch 300 (the cool-down of the
# token-labeling runs).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 1e-3, end_factor=1.0, by_epoch=True, begin=0,
         end=warmup_epochs + 1),
    dict(type='CosineAnnealingLR', T_max=cosine_epochs, eta_min=1e-5, by_epoch=True, begin=0,
         end=cosine_epochs + 1),
]
# timm's create_scheduler returns (scheduler, 300 + 10 cool-down epochs), but main.py keeps
# only the scheduler and loops over --epochs: 300 epochs.
train_cfg = dict(by_epoch=True, max_epochs=cosine_epochs, val_interval=1)

# DeiT's ModelEma(decay=0.99996), updated every iteration, averaging buffers (BN statistics)
# too. main.py saves it but validates and reports the raw weights: so does this hook
# (mmpretrain's EMAHook; its checkpoints keep both sets of weights).
custom_hooks = [
    dict(type='EMAHook', momentum=4e-5, update_buffers=True, evaluate_on_ema=False,
         evaluate_on_origin=True, priority='ABOVE_NORMAL')
]

# Total batch of the official runs: the lr above is for 8 x 128 images; `--auto-scale-lr`
# rescales it linearly for another total batch (DeiT's own rule).
auto_scale_lr = dict(base_batch_size=1024)
