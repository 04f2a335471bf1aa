# Semantic FPN, UniFormer-S trained and tested with hybrid attention (window 14), 80k:
# 46.3 mIoU (fpn_seg/exp/fpn_hybrid_small: drop path 0.1).
_base_ = './_base_/fpn_uniformer.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=14))
