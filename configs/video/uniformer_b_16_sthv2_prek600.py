# UniFormer-B, Something-Something V2, 16 frames, from Kinetics-600: 70.2 top-1,
# 1 clip x 3 crops (exp/uniformer_b16_sthv2_prek600: drop path 0.5, 40 videos per step,
# lr 2.5e-4).
_base_ = './uniformer_b_16_sthv2_prek400.py'
# The Kinetics-400 config with the Kinetics-600 weights (and drop path 0.5).
model = dict(
    backbone=dict(
        drop_path_rate=0.5,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_k600_16x4.pth')))
