# Mask R-CNN + FPN with a UniFormer backbone, COCO instance segmentation, 1x schedule
# (12 epochs, lr x0.1 after epochs 8 and 11), single-scale 1333x800 training, 8 GPUs x 2
# images: mmdet's Swin-T Mask R-CNN 1x config (mmdet's own model, data, schedule and runtime)
# with the UniFormer recipe of ./uniformer_recipe.py.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
    './uniformer_recipe.py',
]

pretrained = None  # Swin's checkpoint variable; the backbone names its own file.
model = dict(
    backbone=dict(_delete_=True, **_base_.uniformer_backbone),
    neck=dict(in_channels=_base_.uniformer_neck_in_channels))
optim_wrapper = dict(_delete_=True, **_base_.uniformer_optim_wrapper)
max_epochs = 12
param_scheduler = [
    _base_.uniformer_warmup,
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1),
]
# 8 GPUs x 2 images (`--auto-scale-lr` rescales the lr for another total batch).
auto_scale_lr = dict(base_batch_size=16)
