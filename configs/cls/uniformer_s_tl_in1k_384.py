# UniFormer-S (head_dim 32) + token labeling, fine-tuned at 384x384: 84.6 top-1
# (token_labeling/exp/uniformer_small_tl_384).
_base_ = './_base_/uniformer_tl_in1k_384.py'
