# UniFormer-B, Kinetics-600, 16x4 frames: 84.0 top-1 (exp/uniformer_b16x4_k600: drop path 0.3,
# 40 videos per step, lr 1.25e-4).
_base_ = './_base_/uniformer_k600.py'
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_in1k.pth')))
train_dataloader = dict(batch_size=5)
optim_wrapper = dict(optimizer=dict(lr=1.25e-4))
auto_scale_lr = dict(base_batch_size=40)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 1.25e-4},
    _base_.param_scheduler[1],
]
