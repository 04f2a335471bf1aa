# UniFormer-S, Kinetics-600, 16x4 frames: 82.8 top-1 (exp/uniformer_s16x4_k600: 96 videos per
# step, lr 3e-4).
_base_ = './_base_/uniformer_k600.py'
train_dataloader = dict(batch_size=12)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
auto_scale_lr = dict(base_batch_size=96)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 3e-4},
    _base_.param_scheduler[1],
]
