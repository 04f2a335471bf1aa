# UniFormer-S-dagger (conv stem, head_dim 64) + token labeling, 224x224: 83.6 top-1
# (token_labeling/exp/uniformer_small_plus_dim64_tl_224).
_base_ = './_base_/uniformer_tl_in1k.py'
model = dict(backbone=dict(arch='tl_small_plus_dim64'))
