# UniFormer-L with layer scale + token labeling, fine-tuned at 384x384: 86.3 top-1
# (token_labeling/exp/uniformer_large_ls_tl_384: drop path 0.3, 8 GPUs x 32; its run.sh
# names `uniformer_small_plus`, a copy-paste slip: the released model is the large one).
_base_ = './_base_/uniformer_tl_in1k_384.py'
checkpoint = 'pretrained/uniformer_large_ls_tl_224.pth'
model = dict(
    backbone=dict(arch='tl_large_ls', drop_path_rate=0.3, init_cfg=dict(checkpoint=checkpoint)),
    head=dict(in_channels=640, init_cfg=dict(checkpoint=checkpoint)))
train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=256)
