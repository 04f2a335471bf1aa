# UperNet, UniFormer-B trained and tested with hybrid attention (window 14), 160k: 48.9 mIoU /
# 50.0 multi-scale (exp/upernet_hybrid_base: drop path 0.4).
_base_ = './upernet_uniformer_b.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=14))
