# UniFormer-B (head_dim 32) + token labeling, 224x224: 85.1 top-1
# (token_labeling/exp/uniformer_base_tl_224: drop path 0.3).
_base_ = './_base_/uniformer_tl_in1k.py'
model = dict(backbone=dict(arch='tl_base', drop_path_rate=0.3))
