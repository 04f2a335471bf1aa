# Semantic FPN, UniFormer-B trained and tested with hybrid attention (window 14), 80k:
# 47.0 mIoU (fpn_seg/exp/fpn_hybrid_base: drop path 0.2).
_base_ = './fpn_uniformer_b.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=14))
