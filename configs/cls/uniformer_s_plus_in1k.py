# UniFormer-S-dagger (conv stem, head_dim 32), ImageNet-1K, 224x224: 83.4 top-1
# (exp/uniformer_small_plus).
_base_ = './_base_/uniformer_in1k.py'
model = dict(backbone=dict(arch='small_plus'))
