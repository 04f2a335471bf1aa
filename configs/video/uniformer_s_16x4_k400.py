# UniFormer-S, Kinetics-400, 16x4 frames: 80.8 top-1, 4 clips x 1 crop
# (video_classification/exp/uniformer_s16x4_k400).
_base_ = './_base_/uniformer_k400.py'
