# UniFormer-S, Kinetics-600, 16x8 frames: 82.7 top-1 (exp/uniformer_s16x8_k600).
_base_ = './_base_/uniformer_k600.py'
# 16 frames every 8: the base pipelines with this sampling.
sampling = dict(clip_len=16, frame_interval=8)
train_pipeline, val_pipeline, test_pipeline = (
    [{**t, **sampling} if t['type'].endswith('SampleFrames') else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
