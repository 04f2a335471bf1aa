# Semantic FPN with a UniFormer backbone on ADE20K, 80k iterations (the PVT recipe of
# semantic_segmentation/fpn_seg): 512x512 crops, 8 GPUs x 4 images, AdamW lr 2e-4 and weight
# decay 1e-4 on every parameter, cosine decay to 1e-8 x lr over the 80k iterations with a
# 1000-iteration linear warm-up from 0.1 x lr multiplying it (mmcv's warm-up), fp32,
# checkpoints and evaluation every 4000 iterations. Test: whole image at
# 2048x512, then resized so both sides are multiples of 32 (the official AlignResize is
# mmseg's ResizeToMultiple). mmseg's FPN model, ADE20K data, 80k schedule and runtime.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/uniformer_backbones.py',
]

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(_delete_=True, **_base_.uniformer_s, out_indices=(0, 1, 2, 3),
                  attn_type='global', drop_path_rate=0.1),
    neck=dict(in_channels=[64, 128, 320, 512]),
    decode_head=dict(num_classes=150))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    # Annotations are loaded after resizing: evaluation is at the original resolution.
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# The official RepeatDataset(times=50) only lengthened epochs; iteration-based training with
# an infinite sampler needs no wrapper.
train_dataloader = dict(batch_size=4)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4))
max_iters = 80000
# mmcv's cosine runs over all iterations from 0 and its warm-up multiplies it by
# 0.1 + 0.9 k / 1000 at iteration k < 1000: the two schedulers overlap (mmengine chains them
# multiplicatively) and LinearLR, which reaches its end factor at end - 1, ends at 1001.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1001),
    dict(type='CosineAnnealingLR', eta_min=2e-4 * 1e-8, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
auto_scale_lr = dict(base_batch_size=32)
