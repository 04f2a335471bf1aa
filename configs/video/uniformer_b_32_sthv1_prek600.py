# UniFormer-B, Something-Something V1, 32 frames, from Kinetics-600: 61.0 top-1,
# 1 clip x 3 crops (exp/uniformer_b32_sthv1_prek600: drop path 0.6, 32 videos per step,
# lr 2e-4).
_base_ = './uniformer_b_32_sthv1_prek400.py'
# The Kinetics-400 config with the Kinetics-600 weights.
model = dict(backbone=dict(init_cfg=dict(checkpoint='pretrained/uniformer_base_k600_16x4.pth')))
