# UniFormer-B, Kinetics-600, 32x4 frames: 84.5 top-1 (exp/uniformer_b32x4_k600: drop path 0.3;
# trained on 4 nodes x 8 GPUs with 32 videos per node, i.e. 128 per step, and SlowFast's
# per-node lr scaling 1e-4 x 4).
_base_ = './_base_/uniformer_k600.py'
# 32 frames every 4: the base pipelines with this sampling.
sampling = dict(clip_len=32, frame_interval=4)
train_pipeline, val_pipeline, test_pipeline = (
    [{**t, **sampling} if t['type'].endswith('SampleFrames') else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_in1k.pth')))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
auto_scale_lr = dict(base_batch_size=128)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 4e-4},
    _base_.param_scheduler[1],
]
