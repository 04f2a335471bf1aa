# upernet_uniformer_b.py's weights tested with hybrid attention (window 32): 49.5 mIoU /
# 50.7 multi-scale (exp/upernet_global_base + test_config_h32.py).
_base_ = './upernet_uniformer_b.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=32))
