# The UniFormer backbones of the downstream configs (det, seg, pose), written once as named
# pieces. A task base lists this file next to its toolbox's config and splices a piece in with
# `backbone=dict(_delete_=True, **_base_.<piece>, out_indices=..., drop_path_rate=...)` (the
# outputs, attention and drop path belong to each task's recipe). A leaf config for another
# model of the same class merges its piece over that with its own drop path and checkpointing,
# `backbone=dict(**_base_.uniformer_b, drop_path_rate=...)`; the hourglass XS replaces it
# (`_delete_`) as a base does. Every piece starts from the paper's ImageNet-1K weights (no
# token labeling, no layer scale).
#   uniformer_s    UniFormer-S for dense prediction: every output passes its own LayerNorm
#                  (`final_norm=False`: no classification BatchNorm); BatchNorms stay
#                  trainable (the official downstream backbones never froze them).
#   uniformer_b    UniFormer-B, otherwise as uniformer_s.
#   uniformer_xs   UniFormer-XS (hourglass) for dense prediction (`final_norm=False`, as
#                  uniformer_s), ImageNet-1K weights at 224.
#   uniformer_xxs  UniFormer-XXS (hourglass), otherwise as uniformer_xs.
uniformer_s = dict(
    type='uniformer_mm.UniFormer',
    arch='small',
    final_norm=False,
    norm_eval=False,
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_small_in1k.pth'))
uniformer_b = dict(
    uniformer_s,
    arch='base',
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_base_in1k.pth'))
uniformer_xs = dict(
    type='uniformer_mm.UniFormerLight',
    arch='xs',
    final_norm=False,
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_xs_224_in1k.pth'))
uniformer_xxs = dict(
    uniformer_xs,
    arch='xxs',
    init_cfg=dict(type='Pretrained', checkpoint='pretrained/uniformer_xxs_224_in1k.pth'))
