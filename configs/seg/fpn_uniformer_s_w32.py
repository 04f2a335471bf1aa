# fpn_uniformer_s.py's weights tested with window attention (32x32 windows): 45.6 mIoU
# (fpn_seg/exp/fpn_global_small + test_config_w32.py). Test-time variant: same training.
_base_ = './fpn_uniformer_s.py'
model = dict(backbone=dict(attn_type='window', window_size=32))
