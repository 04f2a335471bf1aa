# Fine-tune UniFormer-S 16x4 from the official Kinetics-400 weights on your own videos: a list
# file of `path label` lines (mmaction2's VideoDataset), walk-through in docs/finetune.md.
#
#   data/custom_videos/videos/<any path>.mp4     (any format decord reads)
#   data/custom_videos/train.txt                 "<path under videos/> <label 0..N-1>" per line
#   data/custom_videos/val.txt
#
#   python tools/train.py configs/video/finetune_custom_videos.py --cfg-options num_classes=3
#
# The class count is set in ONE place, `num_classes` below (or --cfg-options num_classes=N):
# tools/train.py writes it into the head and the MixUp/CutMix blending of the data
# preprocessor and clips the metric's top-k, logs what it changed (the 400-class Kinetics
# classifier is not loaded: the head starts from scratch) and stops before training if a label
# of the list files is >= num_classes. The backbone is already 3D: no inflation (for the
# ImageNet-weights variant, with inflation, see ./finetune_custom_videos_from_in1k.py).
# The recipe is ./uniformer_s_16x4_k400.py (the official Kinetics recipe) shortened for
# fine-tuning as the official Something-Something fine-tuning from Kinetics
# (./_base_/uniformer_sthv2.py): 30 epochs with 3 warm-up epochs, lr 2e-4 at 32 videos per step,
# drop path 0.1, cosine decay.
_base_ = './uniformer_s_16x4_k400.py'

num_classes = 3
data_root = 'data/custom_videos'
# The official Kinetics-400 UniFormer-S 16x4 file (video_classification/README.md).
pretrained = 'pretrained/uniformer_small_k400_16x4.pth'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    cls_head=dict(num_classes=num_classes),
    data_preprocessor=dict(blending=dict(augments=[
        {**a, 'num_classes': num_classes} for a in _base_.model.data_preprocessor.blending.augments
    ])))

# Paths relative to data_root (mmengine joins them); elsewhere: edit data_root in a copy of this
# file, or pass {train,val,test}_dataloader.dataset.data_root=... (docs/finetune.md).
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='train.txt', data_prefix=dict(video='videos')))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='val.txt', data_prefix=dict(video='videos')))
test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='val.txt', data_prefix=dict(video='videos')))

optim_wrapper = dict(optimizer=dict(lr=2e-4))
max_epochs = 30
warmup_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='auto'))
