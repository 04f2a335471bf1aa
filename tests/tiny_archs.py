"""The tiny architectures of the test suite, defined once.

Their shapes match the golden fixtures of ``tests/data`` (outputs of the official code with
synthetic weights), so changing one breaks those tests on purpose.
"""
#: 2D / 3D UniFormer: one block in stages 1, 2 and 4, two in stage 3.
TINY = dict(depths=(1, 1, 2, 1), embed_dims=(16, 32, 64, 128), head_dim=16)
#: The dense fixtures: four stage-3 blocks, so that hybrid attention has a global block.
DENSE_TINY = dict(TINY, depths=(1, 1, 4, 1))
#: The light (hourglass) fixtures: official depth=[1,1,3,2], embed_dim=[16,32,64,128],
#: head_dim=16, mlp_ratio=3, prune_ratio=trade_off=[[],[],[1,.5,.5],[.5,.5]].
LIGHT_TINY = dict(depths=(1, 1, 3, 2), embed_dims=(16, 32, 64, 128), head_dim=16,
                  mlp_ratio=3, prune_ratios=[[], [], [1, .5, .5], [.5, .5]])
