"""Misfit pretrained files stop the run, on every route; backbone arguments are validated.

The files are built here, tiny, in the layouts users meet: a torchvision ResNet, UniFormer
keys under an unknown prefix, a UniFormer of other depths, UniFormerV2 and lucidrains'
uniformer-pytorch. Each must fail with an error naming the file, what it looks like, what the
model is and the fix -- never leave random weights behind a "Loaded 0 tensors" line.
"""
import logging
from typing import List

import pytest
import torch
import torch.nn as nn
from tiny_archs import DENSE_TINY, LIGHT_TINY, TINY

from uniformer_mm.checkpoint import ArchMismatchError, load_pretrained
from uniformer_mm.models import UniFormer, UniFormer3D, UniFormerLight, UniFormerLight3D


def pretrained(path, **kwargs) -> dict:
    return dict(type='Pretrained', checkpoint=str(path), **kwargs)


def warnings(records) -> List[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def resnet_like() -> dict:
    """The key set of a torchvision ResNet (shapes shrunk)."""
    return {'conv1.weight': torch.zeros(8, 3, 7, 7), 'bn1.weight': torch.ones(8),
            'bn1.bias': torch.zeros(8), 'layer1.0.conv1.weight': torch.zeros(8, 8, 3, 3),
            'layer1.0.bn1.weight': torch.ones(8), 'fc.weight': torch.zeros(10, 8),
            'fc.bias': torch.zeros(10)}


def test_a_torchvision_resnet_is_refused(tmp_path):
    path = tmp_path / 'resnet18.pth'
    torch.save(resnet_like(), path)
    for kwargs in ({}, dict(allow_partial=True)):  # loading nothing is never deliberate
        model = UniFormer(arch=TINY, init_cfg=pretrained(path, **kwargs))
        with pytest.raises(ArchMismatchError) as e:
            model.init_weights()
        msg = str(e.value)
        assert 'resnet18.pth' in msg and 'not one tensor of the file loads' in msg
        assert 'looks like a torchvision / timm ResNet' in msg
        assert '2D UniFormer, depths=(1, 1, 2, 1)' in msg  # the model
        assert 'not a UniFormer checkpoint' in msg and 'allow_partial=True' in msg


def test_an_unknown_prefix_is_refused_naming_the_prefix(tmp_path):
    source = UniFormer(arch=TINY)
    path = tmp_path / 'encoder.pth'
    torch.save({'state_dict': {'encoder.' + k: v for k, v in source.state_dict().items()}},
               path)
    with pytest.raises(ArchMismatchError, match="prefix='encoder.'"):
        UniFormer(arch=TINY, init_cfg=pretrained(path)).init_weights()
    model = UniFormer(arch=TINY, init_cfg=pretrained(path, prefix='encoder.'))
    model.init_weights()
    assert torch.equal(model.blocks3[1].attn.qkv.weight, source.blocks3[1].attn.qkv.weight)


def test_another_depth_is_refused_and_a_partial_load_needs_the_option(tmp_path, mm_log):
    # A "3D-S" file into a "3D-B" model (tiny: 2 vs 3 stage-3 blocks, same widths): no shape
    # differs, so only the architecture check catches it.
    small = UniFormer3D(arch=TINY)
    path = tmp_path / 'video_s.pth'
    torch.save({'model_state': small.state_dict()}, path)
    deeper = dict(TINY, depths=(1, 1, 3, 1))
    with pytest.raises(ArchMismatchError) as e:
        UniFormer3D(arch=deeper, init_cfg=pretrained(path)).init_weights()
    msg = str(e.value)
    assert 'depths: file (1, 1, 2, 1) vs model (1, 1, 3, 1)' in msg
    assert 'would keep their random initialisation: blocks3.*' in msg and 'video_s.pth' in msg
    # and the other way round: a deeper file into the smaller model
    path_b = tmp_path / 'video_b.pth'
    torch.save({'model_state': UniFormer3D(arch=deeper).state_dict()}, path_b)
    with pytest.raises(ArchMismatchError, match='have no place in the model: blocks3'):
        UniFormer3D(arch=TINY, init_cfg=pretrained(path_b)).init_weights()
    # A deliberate partial load: the option, then warnings instead of the error.
    model = UniFormer3D(arch=deeper, init_cfg=pretrained(path, allow_partial=True))
    model.init_weights()
    assert torch.equal(model.blocks3[1].attn.qkv.weight, small.blocks3[1].attn.qkv.weight)
    found = warnings(mm_log)
    assert any('partial load' in m and 'allow_partial=True' in m for m in found)
    assert any('MISSING' in m and 'blocks3.*' in m for m in found)
    with pytest.raises(ValueError, match='allow_partial must be True or False'):
        UniFormer3D(arch=deeper, init_cfg=pretrained(path, allow_partial='yes')).init_weights()


def test_uniformerv2_and_uniformer_pytorch_files_are_refused(tmp_path):
    v2 = {'backbone.conv1.weight': torch.zeros(32, 3, 1, 16, 16),
          'backbone.class_embedding': torch.zeros(32),
          'backbone.positional_embedding': torch.zeros(5, 32),
          'backbone.transformer.resblocks.0.attn.in_proj_weight': torch.zeros(96, 32),
          'backbone.transformer.dpe.0.weight': torch.zeros(32, 1, 3, 3, 3),
          'cls_head.fc_cls.weight': torch.zeros(10, 32)}
    lucidrains = {'to_tokens.weight': torch.zeros(16, 3, 3, 4, 4),
                  'stages.0.0.layers.0.0.fn.norm.g': torch.ones(1, 16, 1, 1, 1),
                  'stages.0.1.0.weight': torch.zeros(32, 16, 1, 2, 2),
                  'to_logits.1.weight': torch.ones(128), 'to_logits.2.weight': torch.zeros(10, 128)}
    for name, sd, looks in [('uniformerv2.pth', {'state_dict': v2}, 'UniFormerV2'),
                            ('uniformer_pytorch.pth', lucidrains, 'uniformer-pytorch')]:
        torch.save(sd, tmp_path / name)
        with pytest.raises(ArchMismatchError) as e:
            UniFormer3D(arch=TINY, init_cfg=pretrained(tmp_path / name)).init_weights()
        assert name in str(e.value) and looks in str(e.value)
        assert '3D UniFormer, depths=(1, 1, 2, 1)' in str(e.value)


class TinyPoseModel(nn.Module):
    """A whole model, as tools/test.py loads it: backbone + head."""

    def __init__(self, **backbone) -> None:
        super().__init__()
        self.backbone = UniFormer(arch=DENSE_TINY, **backbone)
        self.head = nn.Conv2d(128, 17, 1)


def test_legitimately_unused_keys_stay_info_on_every_route(tmp_path, mm_log):
    # An official-style pose file holds norm1..norm4; a model using stage 4 only has no place
    # for norm1-3. That is by design: INFO on the init_cfg route and on the whole-model route
    # of tools/test.py alike.
    full = TinyPoseModel(out_indices=(0, 1, 2, 3), final_norm=False)
    path = tmp_path / 'pose.pth'
    torch.save({'state_dict': full.state_dict()}, path)
    backbone = UniFormer(arch=DENSE_TINY, out_indices=(3, ), final_norm=False,
                         init_cfg=pretrained(path))
    backbone.init_weights()
    assert not warnings(mm_log)
    assert any("['norm1', 'norm2', 'norm3']" in r.getMessage() for r in mm_log)
    mm_log.clear()
    model = TinyPoseModel(out_indices=(3, ), final_norm=False)
    load_pretrained(model, path)
    assert not warnings(mm_log)
    assert any("['norm1', 'norm2', 'norm3']" in r.getMessage() for r in mm_log)
    assert torch.equal(model.head.weight, full.head.weight)
    assert torch.equal(model.backbone.norm4.weight, full.backbone.norm4.weight)


def test_the_whole_model_route_refuses_a_foreign_backbone(tmp_path):
    # tools/test.py with an OpenMMLab checkpoint whose backbone is not a UniFormer.
    path = tmp_path / 'resnet_detector.pth'
    sd = {'backbone.' + k: v for k, v in resnet_like().items()}
    sd['head.weight'] = torch.zeros(17, 128, 1, 1)
    torch.save({'state_dict': sd, 'meta': {'converted_by': 'uniformer_mm'}}, path)
    with pytest.raises(ArchMismatchError, match='not one tensor of the file loads'):
        load_pretrained(TinyPoseModel(out_indices=(3, ), final_norm=False), path)


def test_light_misfits_are_refused_too(tmp_path):
    # The hourglass model of other depths, into the 2D and (inflated) 3D light backbones.
    path = tmp_path / 'light.pth'
    torch.save({'model': UniFormerLight(arch=dict(LIGHT_TINY, depths=(1, 2, 3, 2))).state_dict()},
               path)
    for cls in (UniFormerLight, UniFormerLight3D):
        with pytest.raises(ArchMismatchError, match=r'depths: file \(1, 2, 3, 2\)'):
            cls(arch=LIGHT_TINY, init_cfg=pretrained(path)).init_weights()


# ------------------------------------------------------------------ argument validation
FAMILIES = [(UniFormer, TINY), (UniFormer3D, TINY), (UniFormerLight, LIGHT_TINY),
            (UniFormerLight3D, LIGHT_TINY)]
BAD_ARGS = [
    (dict(drop_path_rate=1.0), ValueError, r'drop_path_rate must be in \[0, 1\)'),
    (dict(drop_path_rate=-0.1), ValueError, r'drop_path_rate must be in \[0, 1\)'),
    (dict(drop_path_rate='0.1'), TypeError, r"drop_path_rate must be a number .* got '0.1'"),
    (dict(drop_rate=1.5), ValueError, r'drop_rate must be in \[0, 1\)'),
    (dict(attn_drop_rate=True), TypeError, 'attn_drop_rate must be a number'),
    (dict(in_channels=-1), ValueError, 'in_channels must be an int > 0, got -1'),
    (dict(in_channels=3.0), TypeError, 'in_channels must be an int > 0'),
    (dict(norm_eval='no'), TypeError, "norm_eval must be True or False, got 'no'"),
    (dict(final_norm=1), TypeError, 'final_norm must be True or False'),
    (dict(qkv_bias='yes'), TypeError, 'qkv_bias must be True or False'),
    (dict(qk_scale=0), ValueError, 'qk_scale must be None or a number > 0'),
    (dict(frozen_stages=True), ValueError, 'frozen_stages must be an int'),
    (dict(layer_scale_init_value='1e-6'), TypeError, 'layer_scale_init_value must be'),
]


@pytest.mark.parametrize('cls,arch', FAMILIES, ids=[f[0].__name__ for f in FAMILIES])
@pytest.mark.parametrize('kwargs,error,match', BAD_ARGS,
                         ids=[next(iter(b[0])) + '=' + repr(next(iter(b[0].values())))
                              for b in BAD_ARGS])
def test_backbone_arguments_are_validated(cls, arch, kwargs, error, match):
    with pytest.raises(error, match=match) as e:
        cls(arch=dict(arch), **kwargs)
    assert cls.__name__ in str(e.value) and 'fix' in str(e.value)


@pytest.mark.parametrize('ratio', [0, -1., '4', (4, 4, 4)])
def test_mlp_ratio_is_validated(ratio):
    for cls, arch in FAMILIES:
        with pytest.raises(ValueError, match='mlp_ratio must be a number > 0'):
            cls(arch=dict(arch, mlp_ratio=ratio))
