# upernet_uniformer_b.py's weights tested with window attention (32x32 windows): 49.1 mIoU /
# 50.6 multi-scale (exp/upernet_global_base + test_config_w32.py).
_base_ = './upernet_uniformer_b.py'
model = dict(backbone=dict(attn_type='window', window_size=32))
