"""The checkpoint package: safe reading, unwrapping, conversion, description, loading.

Official files are imitated with the key lists of ``tests/data/keys`` (shapes on the meta
device) and with the tiny golden checkpoints of ``tests/data``.
"""
import argparse
import collections
import logging
import re
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
import torch.nn as nn

from tiny_archs import TINY

from uniformer_mm.checkpoint import (ArchMismatchError, CheckpointError, CorruptCheckpointError,
                                     ShapeMismatchError, UnsafeCheckpointError,
                                     convert_official_to_mm, describe_state_dict,
                                     load_checkpoint_file, load_pretrained,
                                     make_mm_checkpoint, strip_prefix,
                                     summarize_keys, unwrap_state_dict)
from uniformer_mm.models.backbones.uniformer import UniFormer

KEYS = Path(__file__).parent / 'data' / 'keys'


def keys_state_dict(name: str) -> Dict[str, torch.Tensor]:
    """An official state_dict of ``keys/NAME.txt`` with meta tensors (no memory)."""
    sd = collections.OrderedDict()
    for line in (KEYS / f'{name}.txt').read_text().splitlines()[1:]:
        key, shape = line.split('\t')
        sd[key] = torch.empty(eval(shape), device='meta')
    return sd


def tiny_sd(**arch) -> Dict[str, torch.Tensor]:
    """The state_dict of a freshly built tiny classification backbone plus an official head."""
    m = UniFormer(arch=dict(TINY, **arch))
    sd = collections.OrderedDict(m.state_dict())
    sd['head.weight'], sd['head.bias'] = torch.randn(10, 128), torch.randn(10)
    return sd


def messages(records, level=None):
    return [r.getMessage() for r in records if level is None or r.levelno == level]


# ---------------------------------------------------------------------------- reading files
class Evil:
    """Pickles as a call of ``print`` -- what a malicious checkpoint would do."""

    def __reduce__(self):
        return (print, ('this must never run', ))


def test_reads_what_official_releases_contain(tmp_path):
    # DeiT ImageNet file: args Namespace; mmcv 1.x file: numpy scores in meta; OrderedDict.
    ckpt = {'model': collections.OrderedDict(w=torch.ones(2)), 'args': argparse.Namespace(lr=1e-3),
            'epoch': 299, 'max_accuracy': 82.9,
            'meta': {'hook_msgs': {'best_score': np.float64(0.5)}, 'config': 'model = ...',
                     'CLASSES': ('a', 'b')}}
    path = tmp_path / 'release.pth'
    torch.save(ckpt, path)
    out = load_checkpoint_file(path)
    assert out['args'].lr == 1e-3 and float(out['meta']['hook_msgs']['best_score']) == 0.5
    assert torch.equal(out['model']['w'], torch.ones(2))


def test_reads_mmengine_runner_checkpoints(tmp_path):
    # Fine-tuning from one's own run: message_hub holds HistoryBuffers of numpy arrays.
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_checkpoint')
    hub.update_scalar('train/loss', np.float32(1.5))
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'message_hub': hub.state_dict(),
                'meta': {'epoch': 1}}, path)
    out = load_checkpoint_file(path)
    assert out['message_hub']['log_scalars']['train/loss'].current() == 1.5


def test_refuses_unknown_globals_and_names_them(tmp_path, capsys):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': Evil()}, path)
    with pytest.raises(UnsafeCheckpointError) as e:
        load_checkpoint_file(path)
    msg = str(e.value)
    assert "'print'" in msg and 'weights_only=True' in msg and str(path) in msg
    assert 'this must never run' not in capsys.readouterr().out


@pytest.mark.parametrize('damage', ['truncate', 'empty', 'garbage'])
def test_corrupted_files_name_the_file(tmp_path, damage):
    good = tmp_path / 'good.pth'
    torch.save({'model': {'w': torch.randn(64, 64)}}, good)
    data = good.read_bytes()
    bad = tmp_path / f'{damage}.pth'
    bad.write_bytes({'truncate': data[:len(data) // 2], 'empty': b'',
                     'garbage': b'not a checkpoint' * 10}[damage])
    with pytest.raises(CorruptCheckpointError, match=re.escape(str(bad))):
        load_checkpoint_file(bad)


def test_missing_file_and_non_dict(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')
    torch.save(torch.ones(3), tmp_path / 'tensor.pth')
    with pytest.raises(CorruptCheckpointError, match='not a dict'):
        load_checkpoint_file(tmp_path / 'tensor.pth')


# ---------------------------------------------------------------------------- unwrapping
@pytest.mark.parametrize('wrapper', ['model', 'state_dict', 'model_state', None])
def test_unwrap_official_layouts(wrapper):
    sd = collections.OrderedDict([('module.a.weight', torch.ones(1)), ('b', torch.zeros(1))])
    ckpt = sd if wrapper is None else {wrapper: sd, 'epoch': 3}
    out = unwrap_state_dict(ckpt)
    assert list(out) == ['a.weight', 'b']


def test_unwrap_explicit_key_and_errors():
    ckpt = {'state_dict': {'a': torch.ones(1)}, 'state_dict_ema': {'a': torch.zeros(1)}}
    assert unwrap_state_dict(ckpt, key='state_dict_ema')['a'].item() == 0
    assert unwrap_state_dict(ckpt)['a'].item() == 1
    with pytest.raises(KeyError, match='model_ema'):
        unwrap_state_dict(ckpt, key='model_ema')
    with pytest.raises(KeyError, match='cannot find the weights'):
        unwrap_state_dict({'epoch': 1, 'optimizer': {}})


def test_strip_prefix():
    sd = {'backbone.a': 1, 'neck.b': 2, 'backbone.c.d': 3}
    assert strip_prefix(sd, 'backbone') == {'a': 1, 'c.d': 3}
    assert strip_prefix(sd, 'head.') == {}


# ---------------------------------------------------------------------------- conversion
def test_convert_cls_tl_dense_video():
    sd = keys_state_dict('tl_uniformer_small')
    cls = convert_official_to_mm(sd, 'cls')
    assert 'head.fc.weight' in cls and 'head.aux_fc.bias' in cls
    assert 'backbone.norm.running_mean' in cls and 'backbone.blocks3.0.attn.qkv.weight' in cls
    assert not any(k.startswith(('head.weight', 'aux_head')) for k in cls)
    assert len(cls) == len(sd)
    dense = convert_official_to_mm(sd, 'det')
    assert not any(k.startswith(('backbone.norm.', 'head', 'aux_head')) for k in dense)
    assert len(dense) == len(sd) - 5 - 4  # BN norm (5 entries), head and aux_head
    video = convert_official_to_mm(keys_state_dict('video_uniformer_small_k400'), 'video')
    assert 'cls_head.fc_cls.weight' in video and 'backbone.patch_embed1.proj.weight' in video
    # Files already in the OpenMMLab layout are left alone.
    mm = keys_state_dict('dense_uniformer_small')
    mm = {'backbone.' + k: v for k, v in mm.items()}
    assert convert_official_to_mm(mm, 'seg') == mm
    with pytest.raises(KeyError, match='unknown task'):
        convert_official_to_mm(sd, 'nope')


# ---------------------------------------------------------------------------- description
@pytest.mark.parametrize('name,expect', [
    ('cls_uniformer_small', dict(depths=(3, 4, 8, 3), conv_stem=False, layer_scale=None,
                                 final_norm=True, num_classes=1000, matches=['small'])),
    ('cls_uniformer_small_plus', dict(depths=(3, 5, 9, 3), conv_stem=True, conv_downsample=True,
                                      matches=['small_plus', 'small_plus_dim64'])),
    ('cls_uniformer_base_ls', dict(depths=(5, 8, 20, 7), layer_scale='attention',
                                   matches=['base_ls'])),
    ('tl_uniformer_large_ls', dict(embed_dims=(128, 192, 448, 640), layer_scale='all',
                                   aux_head=True, matches=['tl_large_ls'])),
    ('tl_uniformer_small', dict(aux_head=True, matches=['tl_small', 'tl_small_dim64'])),
    ('dense_uniformer_small', dict(out_norms=(0, 1, 2, 3), final_norm=False, num_classes=None)),
    ('video_uniformer_small_k400', dict(ndim=3, depths=(3, 4, 8, 3))),
])
def test_describe_official_files(name, expect):
    info = describe_state_dict(keys_state_dict(name))
    assert info.ndim == expect.pop('ndim', 2)
    for field, value in expect.items():
        if field == 'matches':
            assert [m.split(' ')[0] for m in info.matches] == value, info.matches
        else:
            assert getattr(info, field) == value, (field, info)
    assert 'head_dim not recorded' in str(info)


def test_describe_uses_recorded_head_dim_and_rejects_non_uniformer():
    info = describe_state_dict(keys_state_dict('tl_uniformer_small'),
                               meta={'arch': {'head_dim': 32}})
    assert info.head_dim == 32 and [m.split(' ')[0] for m in info.matches] == ['tl_small']
    assert 'not a UniFormer' in str(describe_state_dict({'fc.weight': torch.ones(2, 2)}))


def test_summarize_keys_groups_blocks():
    text = summarize_keys(['blocks3.0.gamma_1', 'blocks3.1.gamma_1', 'norm.weight'])
    assert text == 'blocks3.*.gamma_1 (x2), norm.weight'


# ---------------------------------------------------------------------------- loading
def test_shape_mismatch_is_an_error_naming_keys_and_archs(tmp_path):
    path = tmp_path / 'wide.pth'
    torch.save({'model': tiny_sd(embed_dims=(16, 32, 64, 256))}, path)
    model = UniFormer(arch=TINY)
    with pytest.raises(ShapeMismatchError) as e:
        load_pretrained(model, path)
    msg = str(e.value)
    assert 'blocks4.0.attn.qkv.weight' in msg and '(768, 256)' in msg
    assert 'embed_dims=(16, 32, 64, 256)' in msg and 'embed_dims=(16, 32, 64, 128)' in msg


def test_missing_and_unexpected_keys_are_warnings(tmp_path, mm_log):
    # A layer-scale file into a model without layer scale: the gammas are reported (the
    # official strict=False load dropped them silently), everything else loads.
    sd = tiny_sd(layer_scale='attention')
    path = tmp_path / 'ls.pth'
    torch.save({'model': sd}, path)
    model = UniFormer(arch=TINY)
    load_pretrained(model, path)
    warnings = messages(mm_log, logging.WARNING)
    assert any('UNEXPECTED 6 keys' in m and 'blocks3.*.gamma_1 (x2)' in m for m in warnings)
    assert torch.equal(model.blocks3[0].attn.qkv.weight, sd['blocks3.0.attn.qkv.weight'])
    # And the other way round: the model's gammas are missing.
    mm_log.clear()
    ls_model = UniFormer(arch=dict(TINY, layer_scale='attention'))
    torch.save({'model': tiny_sd()}, path)
    load_pretrained(ls_model, path)
    assert any('MISSING 6 keys' in m for m in messages(mm_log, logging.WARNING))


def test_dense_backbone_from_imagenet_file(tmp_path, mm_log):
    sd = tiny_sd()
    path = tmp_path / 'in1k.pth'
    torch.save({'model': sd, 'args': argparse.Namespace(model='uniformer_small')}, path)
    model = UniFormer(arch=TINY, out_indices=(0, 1, 2, 3), final_norm=False)
    load_pretrained(model, path)
    # The new output norms are expected to be missing (INFO); norm/head are dropped by design.
    assert not messages(mm_log, logging.WARNING)
    assert any('norm1.weight' in m for m in messages(mm_log, logging.INFO))
    assert torch.equal(model.blocks1[0].conv1.weight, sd['blocks1.0.conv1.weight'])


def test_prefix_and_mmcv_layout(tmp_path, mm_log):
    sd = {f'backbone.{k}': v for k, v in tiny_sd().items() if not k.startswith('head')}
    sd['neck.conv.weight'] = torch.ones(1)
    path = tmp_path / 'mmdet.pth'
    torch.save({'state_dict': sd, 'meta': {'epoch': 12}}, path)
    for prefix in (None, 'backbone.', 'backbone'):
        model = UniFormer(arch=TINY)
        load_pretrained(model, path, prefix=prefix)
        assert torch.equal(model.norm.running_mean, sd['backbone.norm.running_mean'])
    assert not messages(mm_log, logging.WARNING)
    with pytest.raises(CheckpointError, match="prefix 'teacher.'"):
        load_pretrained(UniFormer(arch=TINY), path, prefix='teacher.')


def test_make_mm_checkpoint_records_the_arch(tmp_path):
    model = UniFormer(arch=dict(TINY, head_dim=32))
    ckpt = make_mm_checkpoint(tiny_sd(), 'cls', arch=model.arch_settings)
    assert ckpt['meta']['arch']['head_dim'] == 32 and 'head.fc.weight' in ckpt['state_dict']
    path = tmp_path / 'converted.pth'
    torch.save(ckpt, path)
    load_pretrained(model, path)  # backbone.* selected, head_dim agrees
    with pytest.raises(ArchMismatchError):
        load_pretrained(UniFormer(arch=TINY), path)


def test_recorded_head_dim_is_checked(tmp_path):
    path = tmp_path / 'converted.pth'
    torch.save({'state_dict': tiny_sd(), 'meta': {'arch': dict(TINY, head_dim=32)}}, path)
    with pytest.raises(ArchMismatchError, match='head_dim=32'):
        load_pretrained(UniFormer(arch=TINY), path)
    load_pretrained(UniFormer(arch=dict(TINY, head_dim=32)), path)
    torch.save({'state_dict': tiny_sd(), 'meta': {'arch': 'tl_small'}}, path)
    with pytest.raises(ArchMismatchError, match='head_dim=32'):
        load_pretrained(UniFormer(arch=TINY), path)


def test_ambiguous_token_labeling_file_warns_about_head_dim(mm_log):
    # A real-size TL small file (aux_head): it may be head_dim 32 (tl_small) or 64
    # (tl_small_dim64); loading into head_dim 64 must say so. Meta tensors keep it cheap.
    sd = keys_state_dict('tl_uniformer_small')
    with torch.device('meta'):
        model = UniFormer(arch='tl_small_dim64')
    # Writing and reading 22M real parameters would be slow; the check runs on the metadata.
    from uniformer_mm.checkpoint.loading import _check_head_dim
    _check_head_dim(model, None, describe_state_dict(sd), 'tl_small.pth', 'current')
    assert not messages(mm_log, logging.WARNING)  # arch named like the file: a choice
    with torch.device('meta'):
        model = UniFormer(arch=dict(depths=(3, 4, 8, 3), embed_dims=(64, 128, 320, 512),
                                    head_dim=64))
    _check_head_dim(model, None, describe_state_dict(sd), 'tl_small.pth', 'current')
    warnings = messages(mm_log, logging.WARNING)
    assert any('tl_small: 32' in m and 'tl_small_dim64: 64' in m for m in warnings)
    mm_log.clear()
    _check_head_dim(model, None, describe_state_dict(keys_state_dict('cls_uniformer_small')),
                    'in1k.pth', 'current')
    assert not messages(mm_log, logging.WARNING)


def test_whole_model_is_converted(tmp_path):
    # What tools/test.py does with an official file: the model has a backbone and a head.
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = UniFormer(arch=TINY)
            self.head = nn.Module()
            self.head.fc = nn.Linear(128, 10)

    sd = tiny_sd()
    path = tmp_path / 'in1k.pth'
    torch.save({'model': sd}, path)
    model = Classifier()
    load_pretrained(model, path)
    assert torch.equal(model.head.fc.weight, sd['head.weight'])
    assert torch.equal(model.backbone.blocks4[0].mlp.fc2.bias, sd['blocks4.0.mlp.fc2.bias'])


def test_whole_dense_model_from_imagenet_file(tmp_path, mm_log):
    class Segmentor(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = UniFormer(arch=TINY, out_indices=(0, 1, 2, 3), final_norm=False)
            self.decode_head = nn.Conv2d(16, 2, 1)

    sd = tiny_sd()
    path = tmp_path / 'in1k.pth'
    torch.save({'model': sd}, path)
    model = Segmentor()
    load_pretrained(model, path)
    # Only the decode head is reported; the new output norms are expected (INFO).
    warnings = messages(mm_log, logging.WARNING)
    assert len(warnings) == 1 and 'decode_head.weight' in warnings[0]
    assert 'norm1' not in warnings[0]
    assert torch.equal(model.backbone.blocks3[1].norm2.bias, sd['blocks3.1.norm2.bias'])
