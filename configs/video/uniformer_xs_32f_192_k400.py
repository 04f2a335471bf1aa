# UniFormer-XS, Kinetics-400, 32 frames at 192x192: 78.6 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xs32_192_k400: `Uniformer_light_fp32`; XS
# settings: drop path 0.1, weight decay 0.05, rand-m7-n4-mstd0.5-inc1, 128 videos per
# step, lr 4e-4).
_base_ = './_base_/uniformer_light_k400.py'
# The base pipelines at 32 frames, 192x192 (test short side 192, TEST_CROP_SIZE).
clip_len, img_size, short_side = 32, 192, 192
train_pipeline = [
    {**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else
    {**t, 'scale': (img_size, img_size)} if t['type'] == 'Resize' and not t.get('keep_ratio', 1)
    else {**t, 'magnitude': 7, 'num_layers': 4, 'sampling_hparas': dict(sampling_std=0.5)}
    if t['type'] == 'PytorchVideoWrapper'
    else t for t in _base_.train_pipeline
]
test_pipeline = [
    {**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else
    {**t, 'scale': (-1, short_side)} if t['type'] == 'Resize' else
    {**t, 'crop_size': img_size} if t['type'] == 'CenterCrop' else t
    for t in _base_.test_pipeline
]
val_pipeline = test_pipeline
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    backbone=dict(
        arch='xs',
        drop_path_rate=0.1,
        init_cfg=dict(checkpoint='pretrained/uniformer_xs_192_in1k.pth')),
    cls_head=dict(in_channels=512))
optim_wrapper = dict(optimizer=dict(lr=4e-4, weight_decay=0.05))
auto_scale_lr = dict(base_batch_size=128)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 4e-4},
    _base_.param_scheduler[1],
]
