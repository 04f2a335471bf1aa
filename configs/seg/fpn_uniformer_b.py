# Semantic FPN, UniFormer-B trained with global attention, 80k: 48.0 mIoU tested with global
# attention (fpn_seg/exp/fpn_global_base + test_config_g.py: drop path 0.2).
_base_ = './_base_/fpn_uniformer.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.2))
