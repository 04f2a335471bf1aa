# UniFormer-XXS, Kinetics-400, 8 frames at 128x128: 68.3 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs8_128_k400:
# `Uniformer_light_ls_fp32`, i.e. layer scale 0.1 in every block; timm's plain `rand`
# RandAugment (m10-n2); lr 4e-4).
_base_ = './uniformer_xxs_4f_128_k400.py'
# The 4-frame config at 8 frames.
clip_len = 8
train_pipeline, test_pipeline = (
    [{**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
