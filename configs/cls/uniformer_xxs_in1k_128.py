# UniFormer-XXS at 128x128: 76.8 top-1 (exp_light/xxs_128).
_base_ = './_base_/uniformer_xxs_in1k.py'
img_size = 128
# The light base pipelines at this resolution (train crop; DeiT test resize).
train_pipeline = [{**t, 'scale': img_size} if t['type'] == 'RandomResizedCrop' else t
                  for t in _base_.train_pipeline]
test_pipeline = [{**t, 'scale': int(256 / 224 * img_size)} if t['type'] == 'ResizeEdge'
                 else {**t, 'crop_size': img_size} if t['type'] == 'CenterCrop' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
