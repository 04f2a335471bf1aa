# UniFormer-B, Something-Something V2, 16 frames, from Kinetics-400: 70.4 top-1,
# 1 clip x 3 crops (exp/uniformer_b16_sthv2_prek400: drop path 0.4, 40 videos per step,
# lr 2.5e-4).
_base_ = './uniformer_s_16_sthv2_prek400.py'
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.4,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_k400_16x4.pth')))
train_dataloader = dict(batch_size=5)
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(base_batch_size=40)
param_scheduler = [  # the warm-up from WARMUP_START_LR 1e-6 to this lr
    {**_base_.param_scheduler[0], 'start_factor': _base_.warmup_start_lr / 2.5e-4},
    _base_.param_scheduler[1],
]
