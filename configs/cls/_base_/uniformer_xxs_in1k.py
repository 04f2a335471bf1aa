# UniFormer-XXS on ImageNet-1K (exp_light/xxs_*): the light recipe with no drop path, weight
# decay 0.1, lr 4e-4 x 4096 / 512, and timm's AutoAugment `v0` policy instead of RandAugment
# (here mmpretrain's ImageNet AutoAugment policy, the closest available). Leaf configs set the
# resolution through ``img_size`` and the two pipelines.
_base_ = './uniformer_light_in1k.py'

model = dict(
    backbone=dict(arch='xxs', drop_path_rate=0.), head=dict(in_channels=448))
optim_wrapper = dict(optimizer=dict(lr=3.2e-3, weight_decay=0.1))

# `--aa v0`: AutoAugment in place of RandAugment, same fill value and interpolation.
train_pipeline = [
    dict(type='AutoAugment', policies='imagenet', hparams=t['hparams'])
    if t['type'] == 'RandAugment' else t for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
