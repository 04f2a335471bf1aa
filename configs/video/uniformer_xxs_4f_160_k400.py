# UniFormer-XXS, Kinetics-400, 4 frames at 160x160: 65.8 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs4_160_k400:
# `Uniformer_light_ls_fp32`, i.e. layer scale 0.1 in every block; timm's plain `rand`
# RandAugment (m10-n2); lr 4e-4).
_base_ = './_base_/uniformer_light_k400.py'
# The base pipelines at 4 frames, with RandAugment m10-n2 (timm's plain `rand`: no magnitude
# noise).
clip_len = 4
train_pipeline = [
    {**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else
    {**t, 'magnitude': 10, 'num_layers': 2, 'sampling_hparas': dict(sampling_std=0.)}
    if t['type'] == 'PytorchVideoWrapper' else t
    for t in _base_.train_pipeline
]
test_pipeline = [{**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else t
                 for t in _base_.test_pipeline]
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(backbone=dict(layer_scale_init_value=0.1))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 4e-4},
    _base_.param_scheduler[1],
]
