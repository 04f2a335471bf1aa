# UniFormer-S, UCF101 split 1, 16x4 frames, from Kinetics-400: 98.3 top-1, 5 clips x 3 crops
# (video_classification/exp/uniformer_s16x4_ucf101_prek400): the Kinetics loader (DATASET
# kinetics: dense 16x4 sampling, flips) and recipe of ./_base_/uniformer_k400.py with 101
# classes, drop path 0.2, RandAugment rand-m5-n2-mstd0.25, 128 videos per step on 8 GPUs,
# lr 5e-5 (SOLVER.BASE_LR_SCALE_NUM_SHARDS False: not scaled), 25 epochs with 5 warm-up
# epochs, from the authors' Kinetics-400 S 16x4 weights. Validation every epoch and the best
# epoch is the one tested (TRAIN.EVAL_PERIOD 1, TEST.TEST_BEST True). Test: 5 clips x 3 crops
# of 224 on a short side of 224 (with 3 crops slowfast/datasets/kinetics.py resizes to
# TEST_CROP_SIZE). Videos and split-1 lists in mmaction2's data/ucf101 layout.
_base_ = './_base_/uniformer_k400.py'

num_classes = 101
label_order = 'mmaction2_ucf101'  # docs/labels.md
model = dict(
    backbone=dict(
        drop_path_rate=0.2,
        init_cfg=dict(checkpoint='pretrained/uniformer_small_k400_16x4.pth')),
    cls_head=dict(num_classes=num_classes),
    # the base's mixup / cutmix with these classes
    data_preprocessor=dict(blending=dict(augments=[
        {**a, 'num_classes': num_classes} for a in _base_.model.data_preprocessor.blending.augments
    ])))

data_root = 'data/ucf101/videos'
data_root_val = data_root
ann_file_train = 'data/ucf101/ucf101_train_split_1_videos.txt'
ann_file_val = 'data/ucf101/ucf101_val_split_1_videos.txt'
ann_file_test = ann_file_val

train_pipeline = [
    {**t, 'magnitude': 5, 'num_layers': 2, 'sampling_hparas': dict(sampling_std=0.25)}
    if t['type'] == 'PytorchVideoWrapper' else t for t in _base_.train_pipeline
]
# Validation: 1 clip x 1 centre crop on a short side of 224; test: 5 clips x 3 crops.
val_pipeline = [dict(t, scale=(-1, 224)) if t['type'] == 'Resize' else t
                for t in _base_.val_pipeline]
test_pipeline = [
    {**t, 'num_clips': 5} if t['type'].endswith('SampleFrames') else
    dict(type='ThreeCrop', crop_size=224) if t['type'] == 'CenterCrop' else t
    for t in val_pipeline
]
train_dataloader = dict(
    batch_size=16,  # 8 GPUs x 16 videos, each sampled twice
    dataset=dict(
        ann_file=ann_file_train, data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_val, data_prefix=dict(video=data_root_val), pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(
        ann_file=ann_file_test, data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=5e-5))
max_epochs = 25
warmup_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=_base_.warmup_start_lr / 5e-5, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
# TEST.TEST_BEST: keep the best validation epoch (test it with tools/test.py).
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', rule='greater'))
auto_scale_lr = dict(base_batch_size=128)
