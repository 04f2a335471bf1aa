# UniFormer-B (head_dim 64) + token labeling, 224x224: 84.8 top-1
# (token_labeling/exp/uniformer_base_dim64_tl_224: drop path 0.3).
_base_ = './_base_/uniformer_tl_in1k.py'
model = dict(backbone=dict(arch='tl_base_dim64', drop_path_rate=0.3))
