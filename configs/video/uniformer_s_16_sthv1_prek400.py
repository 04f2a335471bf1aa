# UniFormer-S, Something-Something V1, 16 frames, from Kinetics-400: 57.2 top-1,
# 1 clip x 3 crops (exp/uniformer_s16_sthv1_prek400: drop path 0.2, 32 videos per step,
# lr 2e-4).
_base_ = './_base_/uniformer_sthv1.py'
