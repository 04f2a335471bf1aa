# UniFormer-XS at 224x224: 82.0 top-1 (exp_light/xs_224).
_base_ = './_base_/uniformer_light_in1k.py'
