# UniFormer-XXS, Kinetics-400, 8 frames at 160x160: 71.4 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs8_160_k400: `Uniformer_light_fp32`; lr 4e-4).
_base_ = './_base_/uniformer_light_k400.py'
# The base pipelines at 8 frames, 160x160 (test short side 192).
clip_len, img_size, short_side = 8, 160, 192
train_pipeline = [
    {**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else
    {**t, 'scale': (img_size, img_size)} if t['type'] == 'Resize' and not t.get('keep_ratio', 1)
    else t for t in _base_.train_pipeline
]
test_pipeline = [
    {**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else
    {**t, 'scale': (-1, short_side)} if t['type'] == 'Resize' else
    {**t, 'crop_size': img_size} if t['type'] == 'CenterCrop' else t
    for t in _base_.test_pipeline
]
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
