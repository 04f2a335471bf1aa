# Top-down heatmap pose estimation on COCO with a UniFormer backbone (pose_estimation/exp/
# top_down_*_global_*, mmpose 0.16): global attention, only the stride-32 output (after its
# LayerNorm), the SimpleBaseline head (three 4x4 deconvolutions 256 -> stride 4, 1x1 conv to
# 17 heatmaps, MSE loss with target weights), 210 epochs, AdamW weight decay 0.01 on every
# parameter, 500 linear warm-up iterations from 0.001 x lr, lr x0.1 after epochs 170 and 200,
# dynamic-loss-scale fp16 (-> AMP), flip test with shifted heatmaps, evaluated on the boxes of
# the person detector (COCO_val2017_detections_AP_H_56_person.json).
# mmpose's ResNet-50 256x192 top-down config has the model, data and evaluation; this file
# sets UniFormer-S at 256x192 (lr 2e-3, 8 GPUs x 128, drop path 0.2, sigma 2).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
    '../../_base_/uniformer_backbones.py',
]

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(
    # The official pose backbone returns only stage 4, after its own LayerNorm (norm4).
    backbone=dict(_delete_=True, **_base_.uniformer_s, out_indices=(3, ), attn_type='global',
                  drop_path_rate=0.2),
    head=dict(in_channels=512, decoder=codec))

# mmpose 0.16's augmentation: flip, half body (> 8 visible joints, p 0.3), scale factor
# 0.5 (here 0.5-1.5) and rotation 40 (clipped to +-80 degrees in 0.x; mmpose 1.x's
# rotate_factor is that clip, sampled from a truncated normal), no box shift (1.x adds a
# random shift by default; the official recipe had none).
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform', shift_prob=0., scale_factor=(0.5, 1.5),
         rotate_factor=80.),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, betas=(0.9, 0.999),
                   weight_decay=0.01))
# The official schedule (mmcv 'step' policy): lr x0.1 after epochs 170 and 200 of 210, and a
# linear warm-up over 500 iterations from 0.001 x lr multiplying it (lr x (0.001 + 0.999 k /
# 500) at iteration k < 500; mmengine's LinearLR reaches its end factor at end - 1, hence 501).
param_scheduler = [
    dict(type='LinearLR', begin=0, end=501, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True),
]
# 8 GPUs x 128 images (`--auto-scale-lr` rescales the lr for another total batch).
auto_scale_lr = dict(base_batch_size=1024)
