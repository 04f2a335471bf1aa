# UniFormer-B, Kinetics-400, 32x4 frames: 82.9 top-1 (exp/uniformer_b32x4_k400: drop path 0.3,
# 32 videos per step, lr 1e-4).
_base_ = './uniformer_s_32x4_k400.py'
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_in1k.pth')))
