# UniFormer-S, Something-Something V2, 16 frames, from Kinetics-400: 67.7 top-1,
# 1 clip x 3 crops (exp/uniformer_s16_sthv2_prek400: drop path 0.3, 32 videos per step,
# lr 2e-4).
_base_ = './_base_/uniformer_sthv2.py'
