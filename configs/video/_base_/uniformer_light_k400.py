# The efficient (hourglass) UniFormer on Kinetics-400 (video_classification/exp_light/*): the
# Kinetics recipe of ./uniformer_k400.py with sparse sampling (the video split into `clip_len`
# segments, one frame from each), 110 epochs with 10 warm-up epochs, mixed precision as the
# official tools/train_net_cls.py (autocast + NativeScaler) with the attention in float32
# (the `_fp32` models; the authors' remedy for NaN losses), the loss 0.5 x CE(pooled
# classifier) + 0.5 x CE(class-token classifier), 1 clip x 1 centre crop at test on a short
# side equal to the crop (slowfast/datasets/kinetics_sparse.py: min_scale = max_scale =
# crop_size = TEST_CROP_SIZE; its TRAIN_JITTER_SCALES[0] branch is commented out).
# This file is UniFormer-XXS, 16 frames at 160x160 (exp_light/uniformer_xxs16_160_k400:
# `Uniformer_light_fp32`, drop path 0.05, weight decay 0.1, rand-m5-n2-mstd0.25, 256 videos
# per step, lr 8e-4, from the ImageNet XXS weights at 160, test short side 160).
_base_ = './uniformer_k400.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='uniformer_mm.UniFormerLight3D',
        arch='xxs',
        drop_path_rate=0.05,
        attn_fp32=True,  # the `_fp32` models: attention in float32 even under autocast
        layer_scale_init_value=None,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_xxs_160_in1k.pth')),
    cls_head=dict(
        _delete_=True,
        type='uniformer_mm.LightVideoHead',
        num_classes=_base_.num_classes,  # the base's (a _delete_d head restates it)
        in_channels=448,
        pooled_loss_weight=0.5,
        token_loss_weight=0.5,
        label_smooth_eps=0.1,
        average_clips='score'))

clip_len = 16
img_size = 160
short_side = img_size  # the test short side is TEST_CROP_SIZE (kinetics_sparse.py)
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=clip_len),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    # timm's rand-m5-n2-mstd0.25: magnitude 5, 2 ops, magnitude noise std 0.25
    dict(type='PytorchVideoWrapper', op='RandAugment', magnitude=5, num_layers=2,
         sampling_hparas=dict(sampling_std=0.25)),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333)),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='uniformer_mm.FrameRandomErasing', erase_prob=0.25, mode='rand',
         fill_color=(114.75, 114.75, 114.75), fill_std=(57.375, 57.375, 57.375)),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=clip_len, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = test_pipeline
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(batch_size=4, dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=8e-4, weight_decay=0.1))  # the base's AmpOptimWrapper
# TEST.TEST_BEST True: the best validation epoch is the one tested.
default_hooks = dict(checkpoint=dict(save_best='acc/top1', rule='greater'))
auto_scale_lr = dict(base_batch_size=256)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 8e-4},
    _base_.param_scheduler[1],
]
