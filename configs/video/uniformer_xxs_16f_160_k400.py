# UniFormer-XXS, Kinetics-400, 16 frames at 160x160: 75.1 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs16_160_k400: `Uniformer_light_fp32`; lr 8e-4).
_base_ = './_base_/uniformer_light_k400.py'
