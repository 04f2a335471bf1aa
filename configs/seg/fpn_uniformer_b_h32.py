# fpn_uniformer_b.py's weights tested with hybrid attention (window 32, every 4th stage-3
# block global): 47.7 mIoU (fpn_seg/exp/fpn_global_base + test_config_h32.py).
_base_ = './fpn_uniformer_b.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=32))
