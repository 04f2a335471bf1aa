# UniFormer-S, Something-Something V2, 16 frames, from Kinetics-600: 69.4 top-1,
# 1 clip x 3 crops (exp/uniformer_s16_sthv2_prek600: drop path 0.3, 32 videos per step,
# lr 2e-4).
_base_ = './_base_/uniformer_sthv2.py'
model = dict(backbone=dict(init_cfg=dict(checkpoint='pretrained/uniformer_small_k600_16x4.pth')))
