# Demo (make demo): top-down heatmap pose estimation (the paper's SimpleBaseline head, mmpose
# 1.x HeatmapHead) with a tiny UniFormer on the generated COCO person keypoints, trained from
# scratch on CPU until it places the keypoints of held-out people (make demo expects
# AP >= 0.5).
# Data root: $UNIFORMER_MM_DEMO_DATA (default work_dirs/demo/data).
_base_ = ['mmpose::_base_/default_runtime.py']

data_root = '{{$UNIFORMER_MM_DEMO_DATA:work_dirs/demo/data}}/coco/'
# Named at the top level, as mmpose's configs do: its inferencers (MMPoseInferencer) read them.
dataset_type = 'CocoDataset'
data_mode = 'topdown'
tiny = dict(depths=(1, 1, 2, 1), embed_dims=(16, 32, 64, 128), head_dim=16)
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    # The official pose backbone outputs the stride-32 map only (out_indices=(3, )).
    backbone=dict(type='uniformer_mm.UniFormer', arch=tiny, out_indices=(3, ),
                  final_norm=False, drop_path_rate=0.),
    head=dict(type='HeatmapHead', in_channels=128, out_channels=17,
              deconv_out_channels=(32, 32, 32), deconv_kernel_sizes=(4, 4, 4),
              loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    # InfiniteSampler: over a DefaultSampler, mmengine's IterBasedTrainLoop sleeps 2 s each
    # time it restarts the data (every 10 iterations here, also while --resume skips them)
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator

# The paper's pose optimizer (AdamW, weight decay 0.01 on everything) at a from-scratch
# learning rate.
iters = 200
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=iters, eta_min=4e-5),
]
# mmpose's default_runtime sets train_cfg=dict(by_epoch=True); replace it.
# (val_begin: make demo's first half sets it past the end: no validation before its stop)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=iters, val_begin=1,
                 val_interval=iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=iters // 2, by_epoch=False,
                    max_keep_ckpts=2),
    visualization=dict(type='PoseVisualizationHook', enable=False, kpt_thr=0.0))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
