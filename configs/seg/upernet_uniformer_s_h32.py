# upernet_uniformer_s.py's weights tested with hybrid attention (window 32): 47.0 mIoU /
# 48.5 multi-scale (exp/upernet_global_small + test_config_h32.py).
_base_ = './upernet_uniformer_s.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=32))
