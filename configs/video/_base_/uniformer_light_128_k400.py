# The efficient UniFormer on Kinetics-400 at 128x128: the recipe of ./uniformer_light_k400.py
# with 128x128 crops, a test short side of 128 (TEST_CROP_SIZE) and the ImageNet XXS weights
# at 128.
# This file is UniFormer-XXS, 16 frames (exp_light/uniformer_xxs16_128_k400).
_base_ = './uniformer_light_k400.py'

model = dict(backbone=dict(init_cfg=dict(checkpoint='pretrained/uniformer_xxs_128_in1k.pth')))

img_size = 128
short_side = img_size  # TEST_CROP_SIZE (kinetics_sparse.py)
train_pipeline = [
    {**t, 'scale': (img_size, img_size)} if t['type'] == 'Resize' and not t.get('keep_ratio', 1)
    else t for t in _base_.train_pipeline
]
test_pipeline = [
    {**t, 'scale': (-1, short_side)} if t['type'] == 'Resize' else
    {**t, 'crop_size': img_size} if t['type'] == 'CenterCrop' else t
    for t in _base_.test_pipeline
]
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
