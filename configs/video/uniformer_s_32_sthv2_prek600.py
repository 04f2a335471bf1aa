# UniFormer-S, Something-Something V2, 32 frames, from Kinetics-600: 70.4 top-1,
# 1 clip x 3 crops (exp/uniformer_s32_sthv2_prek600: drop path 0.3, 32 videos per step,
# lr 2e-4).
_base_ = './uniformer_s_32_sthv2_prek400.py'
# The Kinetics-400 config with the Kinetics-600 weights.
model = dict(backbone=dict(init_cfg=dict(checkpoint='pretrained/uniformer_small_k600_16x4.pth')))
