# Fine-tuning a token-labeling UniFormer at 384x384 (token_labeling/exp/*_tl_384/run.sh):
# --epochs 50 plus timm's 10 cool-down epochs = 60 epochs, all at lr 5e-6 (lr = min-lr, no
# warm-up), weight decay 1e-8, token labels 12x12, 8 GPUs x 64, apex AMP, no EMA, starting
# from the 224x224 token-labeling weights (`--finetune`; here backbone and head init_cfg).
_base_ = './uniformer_tl_in1k.py'

img_size = 384
checkpoint = 'pretrained/uniformer_small_tl_224.pth'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    head=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))

# The 224 pipeline at 384: the crop size and the token label grid (`--token-label-size 12`)
# are its only size-dependent steps.
train_pipeline = [
    {**t, 'scale': img_size} if t['type'] == 'uniformer_mm.TokenLabelRandomResizedCrop' else
    {**t, 'label_size': 12} if t['type'] == 'uniformer_mm.TokenLabelTarget' else t
    for t in _base_.train_pipeline]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
# crop_pct 0.9 at 384: short side int(384 / 0.9) = 426, centre crop 384.
val_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=426, edge='short', backend='pillow',
             interpolation='bicubic'),
        dict(type='CenterCrop', crop_size=img_size),
        dict(type='PackInputs'),
    ]))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=5e-6, weight_decay=1e-8))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=50)]
train_cfg = dict(max_epochs=50 + 10)
custom_hooks = []  # run.sh passes no --model-ema
auto_scale_lr = dict(base_batch_size=512)
