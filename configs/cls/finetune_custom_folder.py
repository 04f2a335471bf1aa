# Fine-tune UniFormer-S from the official ImageNet-1K weights on your own images: one folder
# per class (mmpretrain's CustomDataset), walk-through in docs/finetune.md.
#
#   data/custom/train/<class name>/<any name>.jpg|png|...
#   data/custom/val/<class name>/<any name>.jpg|png|...
#
#   python tools/train.py configs/cls/finetune_custom_folder.py --cfg-options num_classes=3
#
# The class count is set in ONE place, `num_classes` below (or --cfg-options num_classes=N):
# tools/train.py writes it into the head, the data preprocessor (mixup/cutmix targets) and the
# metric's top-k, logs what it changed (the 1000-class ImageNet classifier is not loaded: the
# head starts from scratch) and stops before training if the class folders disagree.
# The recipe is ./uniformer_s_in1k.py (AdamW, RandAugment, mixup/cutmix, label smoothing,
# random erasing), shortened for fine-tuning: 30 epochs from lr 1e-4 (a total batch of 64)
# with 2 warm-up epochs and a cosine decay, drop path 0.1, no EMA (its 0.99996 decay needs
# hundreds of thousands of iterations), no repeated augmentation.
_base_ = './uniformer_s_in1k.py'

num_classes = 3
data_root = 'data/custom'
# The official ImageNet-1K file (image_classification/README.md); official and converted
# files both load (the classifier `head.*` is left out: it belongs to 1000 classes).
pretrained = 'pretrained/uniformer_small_in1k.pth'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)

# CustomDataset instead of the base's ImageNet (`_delete_`: ImageNet's `split` and
# `ann_file` are no CustomDataset arguments). Elsewhere: edit data_root in a copy of this file,
# or pass {train,val,test}_dataloader.dataset.data_root=... (docs/finetune.md).
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
# top-5 needs >= 5 classes: tools/train.py drops what the class count cannot have.
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-4))
max_epochs = 30
warmup_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
custom_hooks = []  # no EMA
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='auto'))
auto_scale_lr = dict(base_batch_size=64)
