# The efficient (hourglass) UniFormer on ImageNet-1K (image_classification/main_light.py and
# exp_light/*/run.sh): the DeiT recipe of ./uniformer_in1k.py trained longer and lighter --
# 600 epochs with 30 warm-up epochs, no repeated augmentation, 8 GPUs x 512, fp32 (the
# authors report NaN losses with mixed precision), EMA 0.9999, and the loss 0.5 x CE(pooled
# classifier) + 0.5 x CE(class-token classifier).
# This file holds UniFormer-XS at 224 (exp_light/xs_224: drop path 0.1, lr 5e-4 x 4096 / 512).
_base_ = './uniformer_in1k.py'

img_size = 224
model = dict(
    backbone=dict(
        _delete_=True, type='uniformer_mm.UniFormerLight', arch='xs', final_norm=True,
        drop_path_rate=0.1),
    neck=None,  # the backbone pools itself and also returns the class token
    head=dict(_delete_=True, type='uniformer_mm.LightClsHead', num_classes=1000,
              in_channels=512, pooled_loss_weight=0.5, token_loss_weight=0.5,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))

# Every size-dependent step follows img_size; DeiT evaluates at int(256 / 224 * img_size).
train_pipeline = [{**t, 'scale': img_size} if t['type'] == 'RandomResizedCrop' else t
                  for t in _base_.train_pipeline]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=int(256 / 224 * img_size), edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=512,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # --no-repeated-aug
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# lr 5e-4 x 4096 / 512; fp32.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=4e-3))
# The base's warm-up and cosine schedule, longer.
warmup_epochs = 30
cosine_epochs = 600
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], begin=warmup_epochs, end=cosine_epochs),
]
train_cfg = dict(max_epochs=cosine_epochs + 10)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=4096)
