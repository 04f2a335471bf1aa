# The demo-sized run of the det, seg and video demos (listed next to their toolbox's
# default_runtime, which defines none of these keys): 20 training iterations with a 5-iteration
# linear warm-up from 0.1 x lr, validation once at the end, a fixed seed. The cls demo (another
# warm-up, mmpretrain's randomness) and the pose demo (mmpose's default_runtime already has the
# loops) set their own.
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=0)
