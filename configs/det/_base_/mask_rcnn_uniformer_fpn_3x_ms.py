# Mask R-CNN + FPN with a UniFormer backbone, 3x schedule (36 epochs, lr x0.1 after epochs 27
# and 33) with the DETR-style multi-scale + crop augmentation of the official 3x+MS configs
# (flip; then either a resize with the short side in 480..800 step 32, or a resize to
# 400/500/600, a 384..600 crop and the 480..800 resize): mmdet's Swin-T Mask R-CNN
# ms-crop-3x config with the UniFormer recipe of ./uniformer_recipe.py.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    './uniformer_recipe.py',
]

pretrained = None  # Swin's checkpoint variable; the backbone names its own file.
model = _base_.uniformer_model
optim_wrapper = _base_.uniformer_optim_wrapper
param_scheduler = _base_.uniformer_schedule_3x
