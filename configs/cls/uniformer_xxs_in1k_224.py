# UniFormer-XXS at 224x224: 80.6 top-1 (exp_light/xxs_224).
_base_ = './_base_/uniformer_xxs_in1k.py'
