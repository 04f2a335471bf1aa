# UniFormer-XXS on ImageNet-1K (exp_light/xxs_*): the light recipe with no drop path, weight
# decay 0.1, lr 4e-4 x 4096 / 512, and timm's AutoAugment policy `v0` (`--aa v0`) instead of
# RandAugment. Leaf configs set the resolution through ``img_size`` and the two pipelines.
_base_ = './uniformer_light_in1k.py'

model = dict(
    backbone=dict(arch='xxs', drop_path_rate=0.), head=dict(in_channels=448))
lr = 3.2e-3
optim_wrapper = dict(optimizer=dict(lr=lr, weight_decay=0.1))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr), _base_.param_scheduler[1]]

# timm's auto_augment_policy_v0 (the ImageNet policy of the TPU EfficientNet code): one of 25
# sub-policies per image, each operation applied with its probability at a fixed level L
# (0-10), written with mmpretrain's transforms. timm's level -> argument: shear 0.3 L/10,
# rotation 30 L/10 degrees, translation 0.45 L/10 of the image (these three with a random
# sign, mmpretrain's default random_negative_prob 0.5), colour factor 0.1 + 1.8 L/10 (no
# sign: ColorTransform's factor is 1 + magnitude), solarize threshold int(25.6 L), solarize-add
# int(11 L), posterize keeping int(0.4 L) bits. Each line's comment is timm's
# (operation, probability, level).
timm_aa_v0 = [
    # (Equalize, 0.8, 1), (ShearY, 0.8, 4)
    [dict(type='Equalize', prob=0.8),
     dict(type='Shear', magnitude=0.12, prob=0.8, direction='vertical')],
    # (Color, 0.4, 9), (Equalize, 0.6, 3)
    [dict(type='ColorTransform', magnitude=0.72, prob=0.4, random_negative_prob=0.0),
     dict(type='Equalize', prob=0.6)],
    # (Color, 0.4, 1), (Rotate, 0.6, 8)
    [dict(type='ColorTransform', magnitude=-0.72, prob=0.4, random_negative_prob=0.0),
     dict(type='Rotate', angle=24.0, prob=0.6)],
    # (Solarize, 0.8, 3), (Equalize, 0.4, 7)
    [dict(type='Solarize', thr=76, prob=0.8), dict(type='Equalize', prob=0.4)],
    # (Solarize, 0.4, 2), (Solarize, 0.6, 2)
    [dict(type='Solarize', thr=51, prob=0.4), dict(type='Solarize', thr=51, prob=0.6)],
    # (Color, 0.2, 0), (Equalize, 0.8, 8)
    [dict(type='ColorTransform', magnitude=-0.9, prob=0.2, random_negative_prob=0.0),
     dict(type='Equalize', prob=0.8)],
    # (Equalize, 0.4, 8), (SolarizeAdd, 0.8, 3)
    [dict(type='Equalize', prob=0.4), dict(type='SolarizeAdd', magnitude=33, prob=0.8)],
    # (ShearX, 0.2, 9), (Rotate, 0.6, 8)
    [dict(type='Shear', magnitude=0.27, prob=0.2, direction='horizontal'),
     dict(type='Rotate', angle=24.0, prob=0.6)],
    # (Color, 0.6, 1), (Equalize, 1.0, 2)
    [dict(type='ColorTransform', magnitude=-0.72, prob=0.6, random_negative_prob=0.0),
     dict(type='Equalize', prob=1.0)],
    # (Invert, 0.4, 9), (Rotate, 0.6, 0)
    [dict(type='Invert', prob=0.4), dict(type='Rotate', angle=0.0, prob=0.6)],
    # (Equalize, 1.0, 9), (ShearY, 0.6, 3)
    [dict(type='Equalize', prob=1.0),
     dict(type='Shear', magnitude=0.09, prob=0.6, direction='vertical')],
    # (Color, 0.4, 7), (Equalize, 0.6, 0)
    [dict(type='ColorTransform', magnitude=0.36, prob=0.4, random_negative_prob=0.0),
     dict(type='Equalize', prob=0.6)],
    # (Posterize, 0.4, 6), (AutoContrast, 0.4, 7)
    [dict(type='Posterize', bits=2, prob=0.4), dict(type='AutoContrast', prob=0.4)],
    # (Solarize, 0.6, 8), (Color, 0.6, 9)
    [dict(type='Solarize', thr=204, prob=0.6),
     dict(type='ColorTransform', magnitude=0.72, prob=0.6, random_negative_prob=0.0)],
    # (Solarize, 0.2, 4), (Rotate, 0.8, 9)
    [dict(type='Solarize', thr=102, prob=0.2), dict(type='Rotate', angle=27.0, prob=0.8)],
    # (Rotate, 1.0, 7), (TranslateYRel, 0.8, 9)
    [dict(type='Rotate', angle=21.0, prob=1.0),
     dict(type='Translate', magnitude=0.405, prob=0.8, direction='vertical')],
    # (ShearX, 0.0, 0), (Solarize, 0.8, 4)
    [dict(type='Shear', magnitude=0.0, prob=0.0, direction='horizontal'),
     dict(type='Solarize', thr=102, prob=0.8)],
    # (ShearY, 0.8, 0), (Color, 0.6, 4)
    [dict(type='Shear', magnitude=0.0, prob=0.8, direction='vertical'),
     dict(type='ColorTransform', magnitude=-0.18, prob=0.6, random_negative_prob=0.0)],
    # (Color, 1.0, 0), (Rotate, 0.6, 2)
    [dict(type='ColorTransform', magnitude=-0.9, prob=1.0, random_negative_prob=0.0),
     dict(type='Rotate', angle=6.0, prob=0.6)],
    # (Equalize, 0.8, 4), (Equalize, 0.0, 8)
    [dict(type='Equalize', prob=0.8), dict(type='Equalize', prob=0.0)],
    # (Equalize, 1.0, 4), (AutoContrast, 0.6, 2)
    [dict(type='Equalize', prob=1.0), dict(type='AutoContrast', prob=0.6)],
    # (ShearY, 0.4, 7), (SolarizeAdd, 0.6, 7)
    [dict(type='Shear', magnitude=0.21, prob=0.4, direction='vertical'),
     dict(type='SolarizeAdd', magnitude=77, prob=0.6)],
    # (Posterize, 0.8, 2), (Solarize, 0.6, 10)
    [dict(type='Posterize', bits=0, prob=0.8), dict(type='Solarize', thr=256, prob=0.6)],
    # (Solarize, 0.6, 8), (Equalize, 0.6, 1)
    [dict(type='Solarize', thr=204, prob=0.6), dict(type='Equalize', prob=0.6)],
    # (Color, 0.8, 6), (Rotate, 0.4, 5)
    [dict(type='ColorTransform', magnitude=0.18, prob=0.8, random_negative_prob=0.0),
     dict(type='Rotate', angle=15.0, prob=0.4)],
]
# `--aa v0`: AutoAugment in place of RandAugment, with RandAugment's fill (the ImageNet mean)
# and bicubic interpolation (timm's aa_params).
train_pipeline = [
    dict(type='AutoAugment', policies=timm_aa_v0, hparams=t['hparams'])
    if t['type'] == 'RandAugment' else t for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
