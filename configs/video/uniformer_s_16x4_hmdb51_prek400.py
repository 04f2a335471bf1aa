# UniFormer-S, HMDB51 split 1, 16x4 frames, from Kinetics-400: 77.5 top-1, 5 clips x 3 crops
# (video_classification/exp/uniformer_s16x4_hmdb51_prek400): the UCF101 recipe of
# ./uniformer_s_16x4_ucf101_prek400.py on HMDB51's JPEG frames (slowfast/datasets/hmdb.py:
# `img_{:05d}.jpg` frame folders, the same dense 16x4 sampling and 224 test scale), with
# repeated augmentation through uniformer_mm.RepeatAugRawframeDataset. 51 classes: the
# official config.yaml says MODEL.NUM_CLASSES 101, so its classifier has 50 rows no video
# ever had (see docs/recipes.md; converting an official file drops them, docs/labels.md).
# Frames and split-1 lists in mmaction2's data/hmdb51 layout.
_base_ = './uniformer_s_16x4_ucf101_prek400.py'

num_classes = 51
label_order = 'mmaction2_hmdb51'  # docs/labels.md
model = dict(
    cls_head=dict(num_classes=num_classes),
    data_preprocessor=dict(blending=dict(augments=[
        {**a, 'num_classes': num_classes} for a in _base_.model.data_preprocessor.blending.augments
    ])))

dataset_type = 'RawframeDataset'
data_root = 'data/hmdb51/rawframes'
data_root_val = data_root
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_rawframes.txt'
ann_file_val = 'data/hmdb51/hmdb51_val_split_1_rawframes.txt'
ann_file_test = ann_file_val
filename_tmpl = 'img_{:05d}.jpg'

# The UCF101 pipelines with frame files instead of a decoded video.
train_pipeline, val_pipeline, test_pipeline = (
    [dict(type='RawFrameDecode') if t['type'] == 'DecordDecode' else t
     for t in pipeline if t['type'] != 'DecordInit']
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))


def rawframe_dataset(ann_file, root, pipeline, kind=dataset_type, **kwargs):
    """A frame dataset in place of the UCF101 video one."""
    return dict(_delete_=True, type=kind, ann_file=ann_file, data_prefix=dict(img=root),
                filename_tmpl=filename_tmpl, pipeline=pipeline, **kwargs)


train_dataloader = dict(  # with the base's repeat_pseudo_collate
    dataset=rawframe_dataset(ann_file_train, data_root, train_pipeline,
                             kind='uniformer_mm.RepeatAugRawframeDataset',
                             num_repeats=_base_.repeat_sample, sample_once=True))
val_dataloader = dict(
    dataset=rawframe_dataset(ann_file_val, data_root_val, val_pipeline, test_mode=True))
test_dataloader = dict(
    dataset=rawframe_dataset(ann_file_test, data_root_val, test_pipeline, test_mode=True))
