# Top-down heatmaps, UniFormer-B, COCO 256x192: 75.0 AP (exp/top_down_256x192_global_base:
# drop path 0.4, lr 2e-3, 8 GPUs x 128).
_base_ = './_base_/topdown_uniformer_coco.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.4))
