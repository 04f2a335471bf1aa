# UniFormer on Something-Something V1: the V2 recipe of ./uniformer_sthv2.py for 60 epochs.
# V1 is released as JPEG frames; mmaction2's layout is data/sthv1/rawframes with
# `{:05d}.jpg` files. Repeated augmentation as in the official runs (AUG.NUM_SAMPLE 2: each
# clip decoded once and augmented twice) through uniformer_mm.RepeatAugRawframeDataset, the
# frame-folder counterpart of mmaction2's (video-only) RepeatAugDataset.
# This file is UniFormer-S, 16 frames, from Kinetics-400 (exp/uniformer_s16_sthv1_prek400:
# drop path 0.2).
_base_ = './uniformer_sthv2.py'

model = dict(backbone=dict(drop_path_rate=0.2))

label_order = 'mmaction2_sthv1'  # docs/labels.md
dataset_type = 'RawframeDataset'
data_root = 'data/sthv1/rawframes'
data_root_val = data_root
ann_file_train = 'data/sthv1/sthv1_train_list_rawframes.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_rawframes.txt'
ann_file_test = ann_file_val
filename_tmpl = '{:05d}.jpg'

# The V2 pipelines with frame files instead of a decoded video.
train_pipeline, val_pipeline, test_pipeline = (
    [dict(type='RawFrameDecode') if t['type'] == 'DecordDecode' else t
     for t in pipeline if t['type'] != 'DecordInit']
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))


def rawframe_dataset(ann_file, root, pipeline, kind=dataset_type, **kwargs):
    """A frame dataset in place of the V2 video one."""
    return dict(_delete_=True, type=kind, ann_file=ann_file, data_prefix=dict(img=root),
                filename_tmpl=filename_tmpl, pipeline=pipeline, **kwargs)


train_dataloader = dict(  # with the V2 (and Kinetics) repeat_pseudo_collate
    dataset=rawframe_dataset(ann_file_train, data_root, train_pipeline,
                             kind='uniformer_mm.RepeatAugRawframeDataset',
                             num_repeats=_base_.repeat_sample, sample_once=True))
val_dataloader = dict(
    dataset=rawframe_dataset(ann_file_val, data_root_val, val_pipeline, test_mode=True))
test_dataloader = dict(
    dataset=rawframe_dataset(ann_file_test, data_root_val, test_pipeline, test_mode=True))

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    {**_base_.param_scheduler[1], 'end': max_epochs},
]
