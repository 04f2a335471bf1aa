# Fine-tune Mask R-CNN with UniFormer-S (backbone from the official ImageNet-1K weights, as the
# paper's detectors) on your own COCO-format data, walk-through in docs/finetune.md.
#
#   data/custom_coco/train/<image files>        data/custom_coco/annotations/train.json
#   data/custom_coco/val/<image files>          data/custom_coco/annotations/val.json
#
#   python tools/train.py configs/det/finetune_custom_coco.py
#
# The json files are COCO instances files: `images`, `annotations` (bbox [x, y, w, h];
# `segmentation` polygons or RLE for the mask head) and `categories`; the names in `classes`
# below must be category names of the json (mmdet keeps the annotations of those names, in
# this order). The class count follows `classes` (num_classes = len(classes)) into the box and
# mask heads; tools/train.py stops before training if the heads, `classes` and the json's
# categories disagree. The recipe is the paper's 1x Mask R-CNN (./mask_rcnn_uniformer_s.py):
# AdamW lr 1e-4 at 16 images per step, 12 epochs.
_base_ = './mask_rcnn_uniformer_s.py'

classes = ('cat', 'dog', 'bird')
num_classes = len(classes)
data_root = 'data/custom_coco/'
metainfo = dict(classes=classes)

model = dict(
    # The official ImageNet-1K UniFormer-S file (image_classification/README.md).
    backbone=dict(init_cfg=dict(type='Pretrained',
                                checkpoint='pretrained/uniformer_small_in1k.pth')),
    roi_head=dict(bbox_head=dict(num_classes=num_classes),
                  mask_head=dict(num_classes=num_classes)))

# Elsewhere: edit data_root in a copy of this file, or pass the data_root of the three
# dataloaders and the evaluators' ann_file (docs/finetune.md).
train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/train.json', data_prefix=dict(img='train/')))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/val.json', data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2, save_best='auto'))
