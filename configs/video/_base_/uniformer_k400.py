# UniFormer on Kinetics-400 (video_classification/exp/uniformer_*_k400, the SlowFast/MViT-era
# recipe; run.sh values): ImageNet-1K weights inflated to 3D (average over time), AdamW
# weight decay 0.05 except 1-D parameters and biases, 10 linear warm-up epochs from 1e-6,
# cosine to 1e-6, gradient clipping at 20, native AMP; RandAugment rand-m7-n4-mstd0.5-inc1,
# random resized crops, flips, random erasing 0.25, mixup 0.8 / cutmix 1.0 with label
# smoothing 0.1, and repeated augmentation (each video sampled twice per batch). Test: 4
# clips x 1 centre crop of 224 on a short side of 256 (with 1 crop, slowfast/datasets/kinetics.py
# resizes to TRAIN_JITTER_SCALES[0]), logits averaged (the official sum).
# This file is UniFormer-S 16x4 (exp/uniformer_s16x4_k400: drop path 0.1, lr 1e-4, 32 videos
# per step on 8 GPUs, 110 epochs). Every `data/kinetics400` path follows mmaction2's layout.
_base_ = 'mmaction::_base_/default_runtime.py'

num_classes = 400
# The class order of this config's annotation lists (mmaction2's label map): the classifier
# rows of official checkpoints are put in this order when loaded (docs/labels.md).
label_order = 'mmaction2_k400'
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='uniformer_mm.UniFormer3D',
        arch='small',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_small_in1k.pth')),
    cls_head=dict(
        type='uniformer_mm.UniFormerClsHead',
        num_classes=num_classes,
        in_channels=512,
        label_smooth_eps=0.1,
        # the official test ensembles the views' raw logits (the model has no softmax)
        average_clips='score'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        # SlowFast's DATA.MEAN / STD (0.45, 0.225) on the 0-255 scale.
        mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375],
        blending=dict(
            type='RandomBatchAugment',
            augments=[
                dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
                dict(type='CutmixBlending', alpha=1., num_classes=num_classes),
            ]),
        format_shape='NCTHW'))

dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
ann_file_test = ann_file_val

# The official frame indices (slowfast/datasets/decoder.py with decord and
# DATA.USE_OFFSET_SAMPLING True): linspace over the clip span, random start in training, test
# clips from the first to the last frame (mmaction2's SampleFrames would pick other frames).
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='uniformer_mm.DenseSampleFrames', clip_len=16, frame_interval=4),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    # timm's rand-m7-n4-mstd0.5-inc1 (pytorchvideo's RandAugment, as mmaction2's MViT recipe).
    dict(type='PytorchVideoWrapper', op='RandAugment', magnitude=7, num_layers=4,
         sampling_hparas=dict(sampling_std=0.5)),
    # DATA.TRAIN_JITTER_SCALES_RELATIVE / TRAIN_JITTER_ASPECT_RELATIVE
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(0.75, 1.3333)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    # AUG.RE_PROB 0.25, RE_MODE pixel: timm's RandomErasing per frame, N(0, 1) noise after the
    # normalisation (114.75 +- 57.375 before it)
    dict(type='uniformer_mm.FrameRandomErasing', erase_prob=0.25, mode='rand',
         fill_color=(114.75, 114.75, 114.75), fill_std=(57.375, 57.375, 57.375)),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
# Validation: 1 clip x 1 centre crop of 224 on a short side of 256 (TRAIN_JITTER_SCALES[0]);
# test: the same with 4 clips (exp/*/test.sh: TEST.NUM_ENSEMBLE_VIEWS 4, NUM_SPATIAL_CROPS 1).
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='uniformer_mm.DenseSampleFrames', clip_len=16, frame_interval=4, num_clips=1,
         test_mode=True, use_offset=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [{**t, 'num_clips': 4} if t['type'].endswith('SampleFrames') else t
                 for t in val_pipeline]

repeat_sample = 2  # official AUG.NUM_SAMPLE
train_dataloader = dict(
    batch_size=4,  # 8 GPUs x 4 videos, each sampled twice
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='repeat_pseudo_collate'),
    dataset=dict(
        type='RepeatAugDataset',
        num_repeats=repeat_sample,
        sample_once=True,
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
test_dataloader = dict(  # the validation loader with one video (4 clips) per batch
    val_dataloader,
    batch_size=1,
    dataset=dict(val_dataloader['dataset'], ann_file=ann_file_test, pipeline=test_pipeline))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

max_epochs = 110
warmup_epochs = 10
warmup_start_lr = 1e-6  # SOLVER.WARMUP_START_LR, absolute whatever the lr
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    # SlowFast ZERO_WD_1D_PARAM: no decay for 1-D parameters (BN/LN) and biases.
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.),
    clip_grad=dict(max_norm=20, norm_type=2))
param_scheduler = [
    # From WARMUP_START_LR 1e-6 to lr, per iteration: configs with another lr recompute
    # start_factor = warmup_start_lr / lr.
    dict(type='LinearLR', start_factor=warmup_start_lr / 1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))

# Total videos per optimizer step in the official run (`--auto-scale-lr` rescales the lr).
auto_scale_lr = dict(base_batch_size=32)
