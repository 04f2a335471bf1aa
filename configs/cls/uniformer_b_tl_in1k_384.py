# UniFormer-B (head_dim 32) + token labeling, fine-tuned at 384x384: 86.0 top-1
# (token_labeling/exp/uniformer_base_tl_384: drop path 0.3).
_base_ = './_base_/uniformer_tl_in1k_384.py'
checkpoint = 'pretrained/uniformer_base_tl_224.pth'
model = dict(
    backbone=dict(arch='tl_base', drop_path_rate=0.3, init_cfg=dict(checkpoint=checkpoint)),
    head=dict(init_cfg=dict(checkpoint=checkpoint)))
