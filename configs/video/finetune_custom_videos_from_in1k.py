# Fine-tune UniFormer-S 16x4 on your own videos from the official ImageNet-1K (image) weights:
# ./finetune_custom_videos.py (same data layout, class count and commands) with the image
# file inflated to 3D as the official Kinetics recipe does (every 2D kernel averaged over
# time; the load logs what it inflated), and the longer schedule training from image weights
# needs (the Kinetics recipe's 10 warm-up epochs, here 50 epochs in all).
_base_ = './finetune_custom_videos.py'

# The official ImageNet-1K UniFormer-S file (image_classification/README.md).
pretrained = 'pretrained/uniformer_small_in1k.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained)))

max_epochs = 50
warmup_epochs = 10
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], begin=warmup_epochs, end=max_epochs),
]
