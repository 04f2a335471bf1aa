# Semantic FPN, UniFormer-S trained with global attention, 80k: 46.6 mIoU tested with global
# attention (fpn_seg/exp/fpn_global_small + test_config_g.py: drop path 0.1).
_base_ = './_base_/fpn_uniformer.py'
