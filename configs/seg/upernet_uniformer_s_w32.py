# upernet_uniformer_s.py's weights tested with window attention (32x32 windows): 46.6 mIoU /
# 48.4 multi-scale (exp/upernet_global_small + test_config_w32.py).
_base_ = './upernet_uniformer_s.py'
model = dict(backbone=dict(attn_type='window', window_size=32))
