# UniFormer-S, Kinetics-400, 8x8 frames: 78.4 top-1 (exp/uniformer_s8x8_k400: 128 videos per
# step, lr 4e-4, 100 epochs).
_base_ = './_base_/uniformer_k400.py'
# 8 frames every 8: the base pipelines with this sampling.
sampling = dict(clip_len=8, frame_interval=8)
train_pipeline, val_pipeline, test_pipeline = (
    [{**t, **sampling} if t['type'].endswith('SampleFrames') else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
max_epochs = 100
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [  # warm-up from WARMUP_START_LR 1e-6 to this lr, cosine to 100 epochs
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 4e-4},
    {**_base_.param_scheduler[1], 'end': max_epochs},
]
auto_scale_lr = dict(base_batch_size=128)
