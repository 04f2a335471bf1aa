# UniFormer-S, Kinetics-400, 32x4 frames: 82.0 top-1 (exp/uniformer_s32x4_k400; the authors
# released the log only).
_base_ = './_base_/uniformer_k400.py'
# 32 frames every 4: the base pipelines with this sampling.
sampling = dict(clip_len=32, frame_interval=4)
train_pipeline, val_pipeline, test_pipeline = (
    [{**t, **sampling} if t['type'].endswith('SampleFrames') else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
