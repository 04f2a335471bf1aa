# Top-down heatmaps, UniFormer-B, COCO 384x288: 76.7 AP (exp/top_down_384x288_global_base:
# drop path 0.5, lr 5e-4, 8 GPUs x 32).
_base_ = './topdown_uniformer_s_384x288.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.5))
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
auto_scale_lr = dict(base_batch_size=256)
