# UniFormer-B, Kinetics-400, 8x8 frames: 79.8 top-1 (exp/uniformer_b8x8_k400: drop path 0.3,
# 64 videos per step, lr 2e-4, 100 epochs).
_base_ = './uniformer_s_8x8_k400.py'
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_in1k.pth')))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
auto_scale_lr = dict(base_batch_size=64)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 2e-4},
    _base_.param_scheduler[1],
]
