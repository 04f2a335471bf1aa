# Top-down heatmaps, UniFormer-S, COCO 384x288: 75.9 AP (exp/top_down_384x288_global_small:
# sigma 3, lr 2e-3, 8 GPUs x 128).
_base_ = './_base_/topdown_uniformer_coco.py'
codec = dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(head=dict(decoder=codec))
# The base pipelines at this input size (affine crop and heatmap targets follow the codec).
train_pipeline = [
    {**t, 'input_size': codec['input_size']} if t['type'] == 'TopdownAffine' else
    {**t, 'encoder': {**t['encoder'], **codec}} if t['type'] == 'GenerateTarget' else t
    for t in _base_.train_pipeline
]
val_pipeline = [{**t, 'input_size': codec['input_size']} if t['type'] == 'TopdownAffine' else t
                for t in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
