# Mask R-CNN + FPN with a UniFormer backbone, COCO instance segmentation, 1x schedule
# (12 epochs, lr x0.1 after epochs 8 and 11), single-scale 1333x800 training, 8 GPUs x 2
# images: mmdet's Swin-T Mask R-CNN 1x config (mmdet's own model, data, schedule and runtime)
# with the UniFormer recipe of ./uniformer_recipe.py.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
    './uniformer_recipe.py',
]

pretrained = None  # Swin's checkpoint variable; the backbone names its own file.
model = _base_.uniformer_model
optim_wrapper = _base_.uniformer_optim_wrapper
param_scheduler = _base_.uniformer_schedule_1x
