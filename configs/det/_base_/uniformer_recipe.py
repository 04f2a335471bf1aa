# What every UniFormer detector here shares (object_detection/exp*/config.py), kept as named
# pieces that the detector bases splice into mmdet's configs with `_base_.<name>`:
#   uniformer_backbone       UniFormer-S, four LayerNorm'd outputs (strides 4-32), stage-3
#                            hybrid attention (window 14, every 4th block global), ImageNet-1K
#                            weights of the paper (no token labeling, no layer scale).
#   uniformer_optim_wrapper  AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.05 except every
#                            parameter whose name contains 'norm' (all BN/LN of the backbone,
#                            as the official custom_keys), apex O1 AMP -> AmpOptimWrapper.
#   uniformer_warmup         mmdet 2.x 'step' policy warm-up: linear over 500 iterations from
#                            0.001 x lr.
# Leaf configs change `model.backbone` (arch, drop path, checkpointing, checkpoint file).
uniformer_backbone = dict(
    type='uniformer_mm.UniFormer',
    arch='small',
    out_indices=(0, 1, 2, 3),
    final_norm=False,
    attn_type='hybrid',
    window_size=14,
    drop_path_rate=0.2,
    # The authors did not freeze BN ("we forget to freeze BN"); keep it trainable to reproduce.
    norm_eval=False,
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_small_in1k.pth'))
uniformer_neck_in_channels = [64, 128, 320, 512]
uniformer_optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
uniformer_warmup = dict(
    type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500)
