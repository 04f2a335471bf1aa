# Top-down heatmaps, UniFormer-B, COCO 448x320: 77.4 AP (exp/top_down_448x320_global_base:
# drop path 0.55, lr 5e-4, 8 GPUs x 32).
_base_ = './topdown_uniformer_s_448x320.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.55))
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
auto_scale_lr = dict(base_batch_size=256)
