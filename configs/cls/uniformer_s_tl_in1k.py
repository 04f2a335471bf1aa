# UniFormer-S (head_dim 32) + token labeling, 224x224: 83.4 top-1
# (token_labeling/exp/uniformer_small_tl_224).
_base_ = './_base_/uniformer_tl_in1k.py'
