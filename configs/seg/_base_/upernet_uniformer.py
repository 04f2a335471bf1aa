# UperNet with a UniFormer backbone on ADE20K, 160k iterations (semantic_segmentation/exp/
# upernet_*, the Swin recipe): 512x512 crops, 8 GPUs x 2 images, AdamW lr 6e-5, betas
# (0.9, 0.999), weight decay 0.01 except norms, 1500 linear warm-up iterations, poly decay
# (power 1) to 0 over the 160k iterations with mmcv's warm-up multiplying it, fp32. UPerHead (512 channels, pool scales 1/2/3/6) on the four outputs,
# auxiliary FCN head (loss weight 0.4) on the stride-16 output. Test: whole image at
# 2048x512; the multi-scale + flip column is mmseg's TTA (`tools/test.py --tta`: ratios
# 0.5-1.75 and flips, as the official `--aug-test`).
# mmseg's Swin-T UperNet 160k config is that recipe; its backbone is replaced here.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    '../../_base_/uniformer_backbones.py',
]

checkpoint_file = None  # Swin's checkpoint variable; the backbone names its own file.
model = dict(
    backbone=dict(_delete_=True, **_base_.uniformer_s, out_indices=(0, 1, 2, 3),
                  attn_type='global', drop_path_rate=0.25),
    decode_head=dict(in_channels=[64, 128, 320, 512]),
    auxiliary_head=dict(in_channels=320))
# mmcv's poly decay runs over all iterations from 0 and its warm-up multiplies it by
# 1e-6 + (1 - 1e-6) k / 1500 at iteration k < 1500 (mmseg's Swin config starts the decay
# after the warm-up instead): overlapping schedulers, which mmengine chains multiplicatively;
# LinearLR reaches its end factor at end - 1, hence 1501.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1501),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=160000, by_epoch=False),
]
# 8 GPUs x 2 images (`--auto-scale-lr` rescales the lr for another total batch).
auto_scale_lr = dict(base_batch_size=16)
