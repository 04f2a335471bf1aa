# UniFormer-XXS, Kinetics-400, 16 frames at 128x128: 73.3 top-1, 1 clip x 1 crop
# (exp_light/uniformer_xxs16_128_k400: `Uniformer_light_fp32`; lr 8e-4).
_base_ = './_base_/uniformer_light_128_k400.py'
