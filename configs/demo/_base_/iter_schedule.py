# The loops of the det, seg and video demos (listed next to their toolbox's default_runtime,
# which defines none of these keys): iteration-based training with one validation at the end,
# a fixed seed. Each demo sets its length and learning-rate schedule (a linear warm-up, then a
# cosine decay), long enough for its task to learn on the generated data within make demo's
# budget; tools/demo/run_e2e.py lists the same lengths.
# val_begin: make demo's first half sets it past the end (no validation before its stop).
train_cfg = dict(type='IterBasedTrainLoop', val_begin=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=0)
