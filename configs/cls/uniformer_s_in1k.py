# UniFormer-S, ImageNet-1K, 224x224: 82.9 top-1 (exp/uniformer_small).
_base_ = './_base_/uniformer_in1k.py'
