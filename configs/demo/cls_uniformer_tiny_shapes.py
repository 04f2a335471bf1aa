# Demo (make demo): a tiny UniFormer image classifier on the generated ImageNet-style folders
# (<data>/cls/{train,val}/<class>/*.png), trained from scratch on CPU until it classifies the
# held-out images (make demo expects >= 90% top-1).
# Data root: $UNIFORMER_MM_DEMO_DATA (default work_dirs/demo/data), set by tools/demo/run_e2e.py.
_base_ = ['mmpretrain::_base_/default_runtime.py']

data_root = '{{$UNIFORMER_MM_DEMO_DATA:work_dirs/demo/data}}/cls/'
# mmpretrain's CustomDataset numbers the class folders in sorted order: the names in that order.
classes = ('blue_bar', 'green_square', 'red_disk', 'yellow_ring')
tiny = dict(depths=(1, 1, 1, 1), embed_dims=(16, 32, 64, 128), head_dim=16)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='uniformer_mm.UniFormer', arch=tiny, drop_path_rate=0.),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=len(classes), in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
data_preprocessor = dict(num_classes=len(classes), mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train',
                 metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val',
                 metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

iters = 80
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=iters, eta_min=4e-5),
]
# val_begin: make demo's first half sets it past the end (no validation before its stop)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_begin=1, val_interval=iters)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=iters // 2, by_epoch=False,
                    max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
