# UniFormer-L with layer scale (every block, init 1e-6) + token labeling, 224x224: 85.6 top-1
# (token_labeling/exp/uniformer_large_ls_tl_224: drop path 0.4, lr 1.2e-3).
_base_ = './_base_/uniformer_tl_in1k.py'
model = dict(
    backbone=dict(arch='tl_large_ls', drop_path_rate=0.4), head=dict(in_channels=640))
lr = 1.2e-3
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr), _base_.param_scheduler[1]]
