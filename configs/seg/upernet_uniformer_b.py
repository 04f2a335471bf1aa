# UperNet, UniFormer-B trained with global attention, 160k: 50.0 mIoU / 50.8 multi-scale,
# tested with global attention (exp/upernet_global_base + test_config_g.py: drop path 0.4,
# checkpointing of the first 2 stage-3 blocks to save memory).
_base_ = './_base_/upernet_uniformer.py'
model = dict(backbone=dict(**_base_.uniformer_b, drop_path_rate=0.4, with_cp=(0, 0, 2, 0)))
