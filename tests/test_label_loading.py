"""Official video classifiers reach every loading path in the dataset's class order.

An official-layout Kinetics-400 checkpoint (the tiny video fixture with a 400-row classifier
whose row ``i`` encodes official class ``i``: bias ``i``, first weight column ``i``) goes
through the converter, the loader of ``tools/test.py`` and ``init_cfg``; each time class
``c`` must end on row ``mmaction2_k400.index(c)``. mmaction2-layout files (mmaction2's own
zoo) must not be reordered a second time.
"""
import runpy
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmaction')
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from uniformer_mm.checkpoint.labels import normalize_label, read_labels  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / 'tests' / 'data'
CONVERTER = REPO / 'tools' / 'model_converters' / 'uniformer_official2mm.py'
OFFICIAL = read_labels('official_k400')
MM = read_labels('mmaction2_k400')
#: The official row of each mmaction2 class: what row j must hold after the reordering.
EXPECTED = torch.tensor([float({normalize_label(n): i for i, n in enumerate(OFFICIAL)}[
    normalize_label(n)]) for n in MM])
IDENTITY = torch.arange(400, dtype=torch.float32)


@pytest.fixture(scope='module')
def official_file(tmp_path_factory) -> str:
    """The tiny official video file ({'model_state': ...}) with a 400-class, row-coded head."""
    sd = dict(torch.load(DATA / 'video_tiny.pth', weights_only=True)['checkpoint']['model_state'])
    width = sd['head.weight'].shape[1]
    sd['head.weight'] = IDENTITY[:, None].repeat(1, width).clone()
    sd['head.bias'] = IDENTITY.clone()
    path = tmp_path_factory.mktemp('official') / 'uniformer_tiny_k400.pth'
    torch.save({'model_state': sd}, path)
    return str(path)


@pytest.fixture(scope='module')
def config(tmp_path_factory) -> str:
    """The tiny video demo config with the fixture's architecture and Kinetics-400's order."""
    path = tmp_path_factory.mktemp('cfg') / 'video_tiny_k400.py'
    path.write_text(
        f"_base_ = ['{REPO}/configs/demo/video_uniformer_tiny_kinetics_demo.py']\n"
        "model = dict(backbone=dict(arch=dict(depths=(1, 1, 2, 1), embed_dims=(16, 32, 64, "
        "128), head_dim=16)), cls_head=dict(num_classes=400))\n"
        "label_order = 'mmaction2_k400'\n")
    return str(path)


def _build(cfg_path: str, **head):
    from uniformer_mm import apis
    cfg = Config.fromfile(cfg_path)
    cfg.model.cls_head.update(head)
    with DefaultScope.overwrite_default_scope('mmaction'):
        return apis.build_model(cfg)


def _convert(*argv: str) -> None:
    saved = sys.argv
    sys.argv = [str(CONVERTER), *argv]
    try:
        runpy.run_path(str(CONVERTER), run_name='__main__')
    finally:
        sys.argv = saved


def test_converter_reorders_to_the_configs_order_once(official_file, config, tmp_path):
    dst = tmp_path / 'converted.pth'
    _convert(official_file, str(dst), '--config', config)
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['label_order'] == 'mmaction2_k400'
    assert torch.equal(ckpt['state_dict']['cls_head.fc_cls.bias'], EXPECTED)
    assert torch.equal(ckpt['state_dict']['cls_head.fc_cls.weight'][:, 0], EXPECTED)
    # converting the converted file again changes nothing (its meta says it is in order)
    again = tmp_path / 'again.pth'
    _convert(str(dst), str(again), '--config', config)
    assert torch.equal(torch.load(again, weights_only=True)['state_dict'][
        'cls_head.fc_cls.bias'], EXPECTED)
    # without a destination the rows stay official, and the file says so
    plain = tmp_path / 'plain.pth'
    _convert(official_file, str(plain))
    ckpt = torch.load(plain, weights_only=True)
    assert ckpt['meta']['label_order'] == 'official_k400'
    assert torch.equal(ckpt['state_dict']['cls_head.fc_cls.bias'], IDENTITY)
    # ... which a later load into the config reorders from that record
    from uniformer_mm import apis
    model = _build(config)
    apis.load_test_checkpoint(model, str(plain), config, scope='mmaction',
                              dst_labels='mmaction2_k400')
    assert torch.equal(model.cls_head.fc_cls.bias.detach(), EXPECTED)


def test_tools_test_loader_reorders_official_files(official_file, config):
    from uniformer_mm import apis
    model = _build(config)
    kind = apis.load_test_checkpoint(model, official_file, config, scope='mmaction',
                                     dst_labels=Config.fromfile(config).label_order)
    assert kind == 'video'
    assert torch.equal(model.cls_head.fc_cls.bias.detach(), EXPECTED)
    assert torch.equal(model.cls_head.fc_cls.weight.detach()[:, 0], EXPECTED)
    # 'none' keeps the official rows (a user whose lists follow the official order)
    model = _build(config)
    apis.load_test_checkpoint(model, official_file, config, scope='mmaction',
                              src_labels='none', dst_labels='mmaction2_k400')
    assert torch.equal(model.cls_head.fc_cls.bias.detach(), IDENTITY)


def test_mmaction2_zoo_files_are_not_reordered_again(official_file, config, tmp_path):
    """A file in mmaction2's layout without meta['label_order'] (mmaction2's own UniFormer
    zoo is already in its label maps' order) loads as it is."""
    from uniformer_mm import apis
    from uniformer_mm.checkpoint import convert_official_to_mm, load_checkpoint_file
    sd = convert_official_to_mm(load_checkpoint_file(official_file)['model_state'], 'video')
    sd['cls_head.fc_cls.bias'] = EXPECTED.clone()
    zoo = tmp_path / 'mmaction2_zoo.pth'
    torch.save({'state_dict': sd, 'meta': {'mmengine_version': '0.10.7'}}, zoo)
    model = _build(config)
    assert apis.load_test_checkpoint(model, str(zoo), config, scope='mmaction',
                                     dst_labels='mmaction2_k400') == 'mm'
    assert torch.equal(model.cls_head.fc_cls.bias.detach(), EXPECTED)


def test_init_cfg_reorders_with_dst_labels(official_file, config):
    head = _build(config, init_cfg=dict(type='Pretrained', checkpoint=official_file,
                                        dst_labels='mmaction2_k400')).cls_head
    head.init_weights()
    assert torch.equal(head.fc_cls.bias.detach(), EXPECTED)
    # an explicit source order as a label file works the same
    path = Path(official_file).with_name('official_order.txt')
    path.write_text('\n'.join(OFFICIAL) + '\n')
    head = _build(config, init_cfg=dict(type='Pretrained', checkpoint=official_file,
                                        src_labels=str(path),
                                        dst_labels='mmaction2_k400')).cls_head
    head.init_weights()
    assert torch.equal(head.fc_cls.bias.detach(), EXPECTED)
    # without an order the rows load as they are
    head = _build(config, init_cfg=dict(type='Pretrained', checkpoint=official_file)).cls_head
    head.init_weights()
    assert torch.equal(head.fc_cls.bias.detach(), IDENTITY)
