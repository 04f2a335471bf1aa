# Cascade Mask R-CNN + FPN with a UniFormer backbone, 3x + multi-scale/crop training: the
# three box heads are 4conv1fc heads with SyncBN, decoded-box GIoU loss (weight 10) and the
# usual per-stage target stds (the Swin cascade recipe the official configs use). mmdet's
# ConvNeXt-T cascade ms-crop-3x config has exactly that detector and schedule; its backbone and
# layer-decay optimizer are replaced by the UniFormer recipe of ./uniformer_recipe.py.
_base_ = [
    'mmdet::convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py',
    './uniformer_recipe.py',
]

# The ConvNeXt config imports mmpretrain for its backbone; UniFormer needs no import.
custom_imports = dict(imports=[], allow_failed_imports=False)
checkpoint_file = None  # ConvNeXt's checkpoint variable; the backbone names its own file.
model = _base_.uniformer_model
optim_wrapper = _base_.uniformer_optim_wrapper
param_scheduler = _base_.uniformer_schedule_3x
