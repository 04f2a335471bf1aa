# Demo (make demo): a tiny UniFormer video recognizer on the generated Kinetics-style data
# (MPEG-4 videos + "<file> <label>" list files), decoded with PyAV, trained from scratch on CPU
# until it tells the direction of motion in held-out videos (make demo expects >= 90% top-1).
# The classes look alike in every frame (a square of a random colour at a random place): only
# the motion across the 8 sampled frames separates them, so no horizontal flip (it would turn
# "move_right" into "move_left").
# Data root: $UNIFORMER_MM_DEMO_DATA (default work_dirs/demo/data).
_base_ = ['mmaction::_base_/default_runtime.py', './_base_/iter_schedule.py']

data_root = '{{$UNIFORMER_MM_DEMO_DATA:work_dirs/demo/data}}/kinetics/'
classes = ('move_right', 'move_left', 'move_down', 'move_up')
tiny = dict(depths=(1, 1, 1, 1), embed_dims=(16, 32, 64, 128), head_dim=16)

model = dict(
    type='Recognizer3D',
    backbone=dict(type='uniformer_mm.UniFormer3D', arch=tiny, drop_path_rate=0.),
    cls_head=dict(type='uniformer_mm.UniFormerClsHead', num_classes=len(classes),
                  in_channels=128, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[114.75, 114.75, 114.75],
                           std=[57.375, 57.375, 57.375], format_shape='NCTHW'))

train_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    # InfiniteSampler: over a DefaultSampler, mmengine's IterBasedTrainLoop sleeps 2 s each
    # time it restarts the data (every 16 iterations here, also while --resume skips them)
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=data_root + 'kinetics_train_list_videos.txt',
                 data_prefix=dict(video=data_root + 'videos_train'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=data_root + 'kinetics_val_list_videos.txt',
                 data_prefix=dict(video=data_root + 'videos_val'), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

# The paper's video optimizer (AdamW, wd 0.05, no decay on 1-D params) at a from-scratch
# learning rate.
iters = 120
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
                     clip_grad=dict(max_norm=20, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=iters, eta_min=2e-5),
]
train_cfg = dict(max_iters=iters, val_interval=iters)
auto_scale_lr = dict(enable=False, base_batch_size=8)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=iters // 2, by_epoch=False,
                    max_keep_ckpts=2, save_best=None))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
