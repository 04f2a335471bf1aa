# fpn_uniformer_s.py's weights tested with hybrid attention (window 32, every 4th stage-3
# block global): 46.2 mIoU (fpn_seg/exp/fpn_global_small + test_config_h32.py).
_base_ = './fpn_uniformer_s.py'
model = dict(backbone=dict(attn_type='hybrid', window_size=32))
