# UperNet, UniFormer-S trained and tested with hybrid attention (window 14), 160k: 46.9 mIoU /
# 48.0 multi-scale (exp/upernet_hybrid_small: drop path 0.25).
_base_ = './_base_/upernet_uniformer.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=14))
