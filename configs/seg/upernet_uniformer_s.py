# UperNet, UniFormer-S trained with global attention, 160k: 47.6 mIoU / 48.5 multi-scale,
# tested with global attention (exp/upernet_global_small + test_config_g.py: drop path 0.25).
_base_ = './_base_/upernet_uniformer.py'
