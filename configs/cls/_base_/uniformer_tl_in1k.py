# UniFormer with token labeling on ImageNet-1K (image_classification/token_labeling, the
# LV-ViT recipe, timm's train.py): AdamW lr 1.6e-3 (not scaled) and weight decay 0.05, 5
# warm-up epochs from 1e-6, cosine to 1e-5 over 300 epochs plus 10 cool-down epochs (this
# script does train epochs + cooldown = 310), RandAugment rand-m9-mstd0.5-inc1, random erasing
# 0.25, label smoothing 0.1, no mixup/cutmix (MixToken runs inside the network), no repeated
# augmentation, model EMA 0.99992, apex AMP, 8 GPUs x 128. Every epoch validates the raw and
# the EMA weights and keeps the EMA result: here accuracy/top1 (EMA) and
# accuracy/top1_origin (raw).
#
# The dense NFNet-F6 token labels (`--token-label-data`; LV-ViT's `label_top5_train_nfnet`, one
# (2, 5, 14, 14) top-5 map per training image, mirroring train/<class>/<name>.JPEG as
# <class>/<name>.pt) follow the image through every geometric augmentation and become 7x7 soft
# targets (`--token-label-size 7`) in the data pipeline (uniformer_mm/datasets/token_label.py).
# To train without them, use the base pipeline (mmpretrain's transforms): every token then
# learns its image's class target (the official fallback).
_base_ = './uniformer_in1k.py'

model = dict(
    _delete_=True,
    type='uniformer_mm.TokenLabelClassifier',
    mix_token=True,  # official beta 1.0
    backbone=dict(type='uniformer_mm.UniFormer', arch='tl_small', drop_path_rate=0.1),
    head=dict(
        type='uniformer_mm.TokenLabelClsHead',
        num_classes=1000,
        in_channels=512,
        aux_weight=0.5,  # evaluation: class logits + 0.5 x max over tokens
        cls_weight=1.0,
        dense_weight=1.0,
        label_smooth_val=0.1))

token_label_root = 'data/imagenet/label_top5_train_nfnet'
token_label_size = 7
# The base ImageNet pipeline with the token labels, in LV-ViT's order
# (token_labeling/tlt/data/label_transforms_factory.py): the label map is loaded after the
# image and follows the flip, RandAugment's shear / translate / rotate on the whole image and
# then the crop (`--train-interpolation random`: bilinear or bicubic per image); it becomes the
# token targets before packing.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='uniformer_mm.LoadTokenLabel', label_root=token_label_root),
] + [
    {**t, 'type': 'uniformer_mm.TokenLabel' + t['type']}
    for t in _base_.train_pipeline if t['type'] in ('RandomFlip', 'RandAugment')
] + [
    dict(type='uniformer_mm.TokenLabelRandomResizedCrop', scale=224, backend='pillow',
         interpolation='random'),
] + [t for t in _base_.train_pipeline if t['type'] == 'RandomErasing'] + [
    dict(type='uniformer_mm.TokenLabelTarget', num_classes=1000, label_size=token_label_size),
    dict(type='PackInputs', algorithm_keys=('token_label', )),
]
# timm's train.py: plain distributed sampler (no repeated augmentation).
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
# timm validation of these models uses their default crop_pct 0.9 (timm ViT _cfg):
# short side int(224 / 0.9) = 248, centre crop 224.
val_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=248, edge='short', backend='pillow',
             interpolation='bicubic'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackInputs'),
    ]))
test_dataloader = val_dataloader

# The token-labeling code does not scale the lr with the batch.
lr = 1.6e-3
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr), _base_.param_scheduler[1]]
train_cfg = dict(max_epochs=_base_.cosine_epochs + 10)
custom_hooks = [
    dict(_base_.custom_hooks[0], momentum=8e-5, evaluate_on_ema=True, evaluate_on_origin=True)
]
