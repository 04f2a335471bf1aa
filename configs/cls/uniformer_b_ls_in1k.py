# UniFormer-B with layer scale (init 1e-6, attention blocks), ImageNet-1K, 224x224: 83.9
# top-1 (exp/uniformer_base_ls).
_base_ = './uniformer_b_in1k.py'
model = dict(backbone=dict(arch='base_ls'))
