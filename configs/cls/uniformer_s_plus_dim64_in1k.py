# UniFormer-S-dagger re-trained with head_dim 64, ImageNet-1K, 224x224: 83.4 top-1
# (exp/uniformer_small_plus_dim64).
_base_ = './_base_/uniformer_in1k.py'
model = dict(backbone=dict(arch='small_plus_dim64'))
