# Distributed-equivalence check (make demo, tests): the same run as 1 process x batch 4 and as
# tools/dist_train.sh ... 2 (2 processes x batch 2) must give the same final weights.
# What makes the two runs the same computation:
# * batches: DefaultSampler with a fixed seed draws one permutation of the training images;
#   process r takes positions r, r+2, ..., so 2 processes x batch 2 cover exactly the samples
#   of the 1 x batch 4 run in every iteration (256 images in make demo's data, 32 in the
#   tests': divisible by 4, no padded or partial batches);
# * gradients: the loss is a per-sample mean, and DDP averages the two processes' gradients,
#   which equals the mean over the 4 samples;
# * randomness: same seed everywhere (model init identical; DDP also broadcasts rank 0's
#   weights), no random augmentation, no drop path / dropout;
# * BatchNorm: batch statistics of 2 samples differ from those of 4, and torch's SyncBatchNorm
#   refuses CPU tensors, so the conv blocks' BatchNorms are frozen (norm_eval=True: running
#   statistics). With GPUs, use norm_eval=False and --cfg-options sync_bn=torch instead.
_base_ = ['./cls_uniformer_tiny_shapes.py']

model = dict(backbone=dict(norm_eval=True))
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
# An explicit sampler seed: without one each run draws it from its RNG state.
train_dataloader = dict(batch_size=2, sampler=dict(seed=0),
                        dataset=dict(pipeline=train_pipeline))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=1000)
param_scheduler = []
default_hooks = dict(logger=dict(interval=2),
                     checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False,
                                     max_keep_ckpts=-1))
