# Fine-tune the semantic FPN with UniFormer-S (backbone from the official ImageNet-1K weights,
# as the paper's segmentation models) on your own images and label maps, walk-through in
# docs/finetune.md.
#
#   data/custom_seg/images/{train,val}/<name>.jpg
#   data/custom_seg/annotations/{train,val}/<name>.png   (one channel: the class index of
#                                                         each pixel, 0..N-1; 255 = ignore)
#
#   python tools/train.py configs/seg/finetune_custom_seg.py
#
# The class count follows `classes` (num_classes = len(classes)) into the decode head;
# tools/train.py stops before training if the head and `classes` disagree. Label maps are used
# as they are (no ADE20K-style `reduce_zero_label`: class 0 is a class). The recipe is the
# paper's semantic FPN (./fpn_uniformer_s.py: 512x512 crops, AdamW lr 2e-4 at 32 images per
# step, warm-up and cosine decay), shortened to 8k iterations for fine-tuning.
_base_ = './fpn_uniformer_s.py'

classes = ('background', 'road', 'car')
palette = [[0, 0, 0], [128, 64, 128], [0, 0, 142]]
num_classes = len(classes)
data_root = 'data/custom_seg'

model = dict(
    # The official ImageNet-1K UniFormer-S file (image_classification/README.md).
    backbone=dict(init_cfg=dict(type='Pretrained',
                                checkpoint='pretrained/uniformer_small_in1k.pth')),
    decode_head=dict(num_classes=num_classes))

# ADE20K's pipelines without its reduce_zero_label.
train_pipeline = [{**t, 'reduce_zero_label': False} if t['type'] == 'LoadAnnotations' else t
                  for t in _base_.train_pipeline]
test_pipeline = [{**t, 'reduce_zero_label': False} if t['type'] == 'LoadAnnotations' else t
                 for t in _base_.test_pipeline]
dataset = dict(_delete_=True, type='BaseSegDataset', data_root=data_root, img_suffix='.jpg',
               seg_map_suffix='.png', reduce_zero_label=False,
               metainfo=dict(classes=classes, palette=palette))
# Elsewhere: edit data_root in a copy of this file, or pass
# {train,val,test}_dataloader.dataset.data_root=... (docs/finetune.md).
train_dataloader = dict(dataset=dict(
    **dataset, pipeline=train_pipeline,
    data_prefix=dict(img_path='images/train', seg_map_path='annotations/train')))
val_dataloader = dict(dataset=dict(
    **dataset, pipeline=test_pipeline,
    data_prefix=dict(img_path='images/val', seg_map_path='annotations/val')))
test_dataloader = val_dataloader

max_iters = 8000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=2e-4 * 1e-8, by_epoch=False, begin=500,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2, save_best='mIoU'))
