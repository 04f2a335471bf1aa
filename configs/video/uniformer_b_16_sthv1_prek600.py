# UniFormer-B, Something-Something V1, 16 frames, from Kinetics-600: 58.8 top-1,
# 1 clip x 3 crops (exp/uniformer_b16_sthv1_prek600: drop path 0.5, 40 videos per step,
# lr 2.5e-4).
_base_ = './uniformer_s_16_sthv1_prek600.py'
model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.5,
        init_cfg=dict(checkpoint='pretrained/uniformer_base_k600_16x4.pth')))
train_dataloader = dict(batch_size=5)
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(base_batch_size=40)
