# UniFormer-S, Something-Something V1, 32 frames, from Kinetics-600: 59.9 top-1,
# 1 clip x 3 crops (exp/uniformer_s32_sthv1_prek600: drop path 0.3, 32 videos per step,
# lr 2e-4).
_base_ = './uniformer_s_32_sthv1_prek400.py'
# The Kinetics-400 config with the Kinetics-600 weights (and drop path 0.3).
model = dict(
    backbone=dict(
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_small_k600_16x4.pth')))
