# UniFormer-S, Something-Something V1, 32 frames, from Kinetics-400: 58.8 top-1,
# 1 clip x 3 crops (exp/uniformer_s32_sthv1_prek400: drop path 0.2, 32 videos per step,
# lr 2e-4).
_base_ = './uniformer_s_16_sthv1_prek400.py'
# 32 frames: the base pipelines with this clip length.
clip_len = 32
train_pipeline, val_pipeline, test_pipeline = (
    [{**t, 'clip_len': clip_len} if t['type'] == 'UniformSample' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
