# UniFormer on Kinetics-600: the Kinetics-400 recipe of ./uniformer_k400.py with 600 classes
# and mmaction2's Kinetics-600 layout under data/kinetics600.
_base_ = './uniformer_k400.py'

num_classes = 600
label_order = 'mmaction2_k600'  # docs/labels.md
model = dict(
    cls_head=dict(num_classes=num_classes),
    # the base's mixup / cutmix with these classes
    data_preprocessor=dict(blending=dict(augments=[
        {**a, 'num_classes': num_classes} for a in _base_.model.data_preprocessor.blending.augments
    ])))

data_root = 'data/kinetics600/videos_train'
data_root_val = 'data/kinetics600/videos_val'
ann_file_train = 'data/kinetics600/kinetics600_train_list_videos.txt'
ann_file_val = 'data/kinetics600/kinetics600_val_list_videos.txt'
ann_file_test = ann_file_val
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
