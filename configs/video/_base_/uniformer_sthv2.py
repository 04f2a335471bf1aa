# UniFormer on Something-Something V2 (video_classification/exp/uniformer_*_sthv2_prek*),
# fine-tuned from the authors' Kinetics 16x4 weights: the Kinetics recipe of
# ./uniformer_k400.py with 174 classes, 16 frames sampled uniformly over the whole video (one
# per segment; the official sampling rate is unused by the Something-Something loader), no
# horizontal flips (labels such as "left to right" depend on direction), 50 epochs with 5
# warm-up epochs, lr 2e-4. Test: 1 clip x 3 crops of 224 on a short side of 224.
# This file is UniFormer-S, 16 frames, from Kinetics-400 (exp/uniformer_s16_sthv2_prek400:
# drop path 0.3, 32 videos per step). Videos in mmaction2's data/sthv2 layout.
_base_ = './uniformer_k400.py'

num_classes = 174
label_order = 'mmaction2_sthv2'  # docs/labels.md
model = dict(
    backbone=dict(
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_small_k400_16x4.pth')),
    cls_head=dict(num_classes=num_classes),
    # the base's mixup / cutmix with these classes
    data_preprocessor=dict(blending=dict(augments=[
        {**a, 'num_classes': num_classes} for a in _base_.model.data_preprocessor.blending.augments
    ])))

data_root = 'data/sthv2/videos'
data_root_val = data_root
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'
ann_file_test = ann_file_val

clip_len = 16
train_pipeline = [
    dict(type='UniformSample', clip_len=clip_len) if t['type'].endswith('SampleFrames') else t
    for t in _base_.train_pipeline if t['type'] != 'Flip'
]
# Short side 224 at test (exp/uniformer_s16_sthv1_prek400/test.yaml: TRAIN_JITTER_SCALES
# [224, 224], TEST_CROP_SIZE 224; slowfast/datasets/sth.py resizes to TEST_CROP_SIZE).
val_pipeline = [
    dict(type='UniformSample', clip_len=clip_len, test_mode=True)
    if t['type'].endswith('SampleFrames') else
    dict(t, scale=(-1, 224)) if t['type'] == 'Resize' else t for t in _base_.val_pipeline
]
test_pipeline = [dict(type='ThreeCrop', crop_size=224) if t['type'] == 'CenterCrop' else t
                 for t in val_pipeline]
train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_train, data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val, data_prefix=dict(video=data_root_val), pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_test, data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=2e-4))
max_epochs = 50
warmup_epochs = 5
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=_base_.warmup_start_lr / 2e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
