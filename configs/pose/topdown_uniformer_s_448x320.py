# Top-down heatmaps, UniFormer-S, COCO 448x320: 76.2 AP (exp/top_down_448x320_global_small:
# sigma 3, lr 1e-3, 8 GPUs x 64).
_base_ = './_base_/topdown_uniformer_coco.py'
codec = dict(input_size=(320, 448), heatmap_size=(80, 112), sigma=3)
model = dict(head=dict(decoder=codec))
# The base pipelines at this input size (affine crop and heatmap targets follow the codec).
train_pipeline = [
    {**t, 'input_size': codec['input_size']} if t['type'] == 'TopdownAffine' else
    {**t, 'encoder': {**t['encoder'], **codec}} if t['type'] == 'GenerateTarget' else t
    for t in _base_.train_pipeline
]
val_pipeline = [{**t, 'input_size': codec['input_size']} if t['type'] == 'TopdownAffine' else t
                for t in _base_.val_pipeline]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=512)
