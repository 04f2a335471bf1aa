# UniFormer-S-dagger (head_dim 32) + token labeling, fine-tuned at 384x384: 84.9 top-1
# (token_labeling/exp/uniformer_small_plus_tl_384).
_base_ = './_base_/uniformer_tl_in1k_384.py'
checkpoint = 'pretrained/uniformer_small_plus_tl_224.pth'
model = dict(
    backbone=dict(arch='tl_small_plus', init_cfg=dict(checkpoint=checkpoint)),
    head=dict(init_cfg=dict(checkpoint=checkpoint)))
