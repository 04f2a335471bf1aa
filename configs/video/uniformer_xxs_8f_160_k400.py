# UniFormer-XXS, Kinetics-400, 8 frames at 160x160: 71.4 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs8_160_k400: `Uniformer_light_fp32`; lr 4e-4).
_base_ = './_base_/uniformer_light_k400.py'
# The base pipelines at 8 frames.
clip_len = 8
train_pipeline, test_pipeline = (
    [{**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 4e-4},
    _base_.param_scheduler[1],
]
