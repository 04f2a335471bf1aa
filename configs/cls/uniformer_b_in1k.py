# UniFormer-B, ImageNet-1K, 224x224: 83.8 top-1 (exp/uniformer_base: drop path 0.3,
# lr 4e-4 x 1024 / 512).
_base_ = './_base_/uniformer_in1k.py'
model = dict(backbone=dict(arch='base', drop_path_rate=0.3))
lr = 8e-4
optim_wrapper = dict(optimizer=dict(lr=lr))
# The warm-up still starts at timm's --warmup-lr 1e-6.
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr), _base_.param_scheduler[1]]
