# UniFormer-S video (uniformer_mm.UniFormer3D), ImageNet-1K -> Kinetics-400, 16 frames x rate 4.
# Official recipe: video_classification/exp/uniformer_s16x4_k400 (run.sh), see
# ../shared/reference/uniformer_official.md §7.6; published top-1 80.8 (4 clips x 1 crop).
# Differences from the official training (not available as mmaction2 1.2 transforms without
# extra packages): RandAugment (needs pytorchvideo: add
#   dict(type='PytorchVideoWrapper', op='RandAugment', magnitude=7, num_layers=4)
# after the crop) and the 2x repeated augmentation. The official run uses AMP: pass --amp.
_base_ = ['mmaction::_base_/default_runtime.py']

num_classes = 400
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='uniformer_mm.UniFormer3D',
        arch='small',
        drop_path_rate=0.1,
        # The ImageNet file of the official release ({'model': ...}); its 2D kernels are
        # inflated (average, as the official code) and its 1000-class head is skipped.
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_small_in1k.pth')),
    cls_head=dict(
        type='uniformer_mm.UniFormerClsHead',
        num_classes=num_classes,
        in_channels=512,
        label_smooth_eps=0.1,
        # Average the softmax of the test views (4 clips x 1 crop).
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        # Official DATA.MEAN/STD 0.45/0.225 on [0, 1] pixels.
        mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375],
        format_shape='NCTHW',
        blending=dict(
            type='RandomBatchAugment',
            augments=[
                dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
                dict(type='CutmixBlending', alpha=1.0, num_classes=num_classes)
            ])))

dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# Validation during training: one centre view (the official code validates on random crops).
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# Official Kinetics test protocol: 4 clips (TEST.NUM_ENSEMBLE_VIEWS) x 1 crop
# (NUM_SPATIAL_CROPS), short side 256 (TRAIN_JITTER_SCALES[0]), centre crop 224.
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=4, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

# Official total batch 32 (8 GPUs x 4).
train_dataloader = dict(
    batch_size=4,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

max_epochs = 110
warmup_epochs = 10
base_lr = 1e-4
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# AdamW, weight decay 0.05 except on 1-D parameters (norms, biases: ZERO_WD_1D_PARAM),
# gradient clipping at 20, cosine from 1e-4 to 1e-6 after a linear warm-up from 1e-6.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(flat_decay_mult=0.0),
    clip_grad=dict(max_norm=20, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True)
]

default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=32)
