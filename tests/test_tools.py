"""The command-line tools: official checkpoint converter, tools/test.py, tools/train.py, the
demos and distributed CPU training.

Converter round trips use the golden official-format fixtures of ``tests/data``: the converted
file must read with a plain ``torch.load(weights_only=True)``, load into the OpenMMLab model
with ``strict=True`` and reproduce the official outputs. The command-line tools run as
subprocesses, as a user runs them, on tiny models and the generated demo data.
"""
import copy
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
from conftest import DATA_DIR, make_demo_data, max_rel_err
from tiny_archs import TINY

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
CONVERTER = REPO / 'tools' / 'model_converters' / 'uniformer_official2mm.py'
LIGHT = dict(depths=[1, 1, 3, 2], embed_dims=[16, 32, 64, 128], head_dim=16,
             mlp_ratio=[3, 3, 3, 3])


def golden(name: str) -> dict:
    return torch.load(DATA_DIR / f'{name}.pth', weights_only=True)


def official_file(tmp_path: Path, name: str) -> str:
    """The fixture's checkpoint as the official release file it stands for."""
    path = tmp_path / f'{name}_official.pth'
    torch.save(golden(name)['checkpoint'], path)
    return str(path)


def run_tool(args: List[str], env: Optional[Dict[str, str]] = None, code: Optional[str] = None,
             timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` (or ``python -c CODE ARGS``) from the repository root."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **(env or {}))
    full_env.pop('UNIFORMER_MM_DEBUG', None)
    cmd = [PY, '-c', code, *args] if code else [PY, *args]
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


#: Third-party messages the user cannot act on, which the tools filter (uniformer_mm.cli.console).
KNOWN_NOISE = ('pkg_resources is deprecated', '"FileClient" will be deprecated',
               '"HardDiskBackend" is the alias', 'Because batch augmentations are enabled',
               'paramwise_options --', '``build_loss`` would be deprecated',
               '`broadcast_buffers` is deprecated', 'A matched config file',
               'Failed to add <class', 'The draw is False', 'The prefix is not set in metric',
               '`reduce_zero_label` will be deprecated', '``avg_non_ignore`` is False')


def assert_quiet(r: subprocess.CompletedProcess) -> None:
    """None of :data:`KNOWN_NOISE` in a tool's output."""
    printed = [n for n in KNOWN_NOISE if n in r.stdout + r.stderr]
    assert not printed, printed


def test_known_messages_are_filtered_in_the_tools_only():
    """The toolboxes' notes about their own internals (as they print them) disappear once a
    tool called quiet_known_messages; before that, and any other warning, they stay."""
    code = r"""
import logging, warnings
warnings.simplefilter('always')
from mmengine.logging import MMLogger, print_log
notes = [('pkg_resources is deprecated as an API.', UserWarning),
         ('``build_loss`` would be deprecated soon, please use ...', UserWarning),
         ('`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead.',
          FutureWarning),
         ('The metainfo config file "configs/_base_/datasets/coco.py" does not exist. A matched '
          'config file "/x/coco.py" will be used instead.', UserWarning),
         ("Failed to add <class 'mmengine.visualization.vis_backend.LocalVisBackend'>, please "
          'provide the `save_dir` argument.', UserWarning),
         ('The draw is False, it means that the hook for visualization will not take effect.',
          UserWarning),
         ('`reduce_zero_label` will be deprecated, if you would like to ignore the zero label, '
          'please set `reduce_zero_label=True` when dataset initialized', UserWarning),
         ('Default ``avg_non_ignore`` is False, if you would like to ignore the certain label '
          'and average loss over non-ignore labels, ...', UserWarning)]
def emit(tag):
    for text, category in notes:
        warnings.warn(f'{text} [{tag}]', category)
    warnings.warn(f'a warning of the user [{tag}]', UserWarning)
    print_log(f'The prefix is not set in metric class DumpResults. [{tag}]',
              logger='current', level=logging.WARNING)
emit('before')
from uniformer_mm.cli import quiet_known_messages
quiet_known_messages()
MMLogger.get_instance('run')  # a runner's logger, made afterwards
emit('after')
"""
    r = run_tool([], code=code)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert out.count('[before]') == 10, out
    assert out.count('[after]') == 1 and 'a warning of the user [after]' in out, out


def convert(src: str, dst: str, *extra: str) -> None:
    """The converter's command line, run in-process (errors are ``SystemExit('error: ...')``)."""
    import runpy
    argv = sys.argv
    sys.argv = [str(CONVERTER), src, dst, *extra]
    try:
        runpy.run_path(str(CONVERTER), run_name='__main__')
    finally:
        sys.argv = argv


def build(scope: str, cfg: dict):
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(copy.deepcopy(cfg)).eval()


# ------------------------------------------------------------------------- the models
def cls_model(arch: dict, head: Optional[dict] = None) -> dict:
    cfg = dict(type='ImageClassifier', backbone=dict(type='uniformer_mm.UniFormer', arch=arch),
               neck=dict(type='GlobalAveragePooling'),
               head=head or dict(type='LinearClsHead', num_classes=10, in_channels=128))
    if head is not None:  # the token-labeling head pools the map itself
        del cfg['neck']
    return cfg


def video_model(backbone: dict, head_type: str) -> dict:
    return dict(type='Recognizer3D', backbone=backbone,
                cls_head=dict(type=head_type, num_classes=10, in_channels=128,
                              average_clips='score'),
                data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))


#: fixture -> (toolbox, model config, release kind)
ROUND_TRIPS = {
    'cls_tiny': ('mmpretrain', cls_model(TINY), 'image'),
    'cls_tiny_convstem': ('mmpretrain', cls_model(dict(TINY, depths=(1, 2, 2, 1),
                                                       conv_stem=True)), 'image'),
    'cls_tiny_ls': ('mmpretrain', cls_model(dict(TINY, layer_scale='attention')), 'image'),
    'tl_tiny_ls': ('mmpretrain', cls_model(dict(TINY, layer_scale='all'), dict(
        type='uniformer_mm.TokenLabelClsHead', num_classes=10, in_channels=128)),
        'image_tl'),
    'light_tiny': ('mmpretrain', dict(
        type='ImageClassifier', backbone=dict(type='uniformer_mm.UniFormerLight', arch=LIGHT),
        head=dict(type='uniformer_mm.LightClsHead', num_classes=10, in_channels=128)),
        'image_light'),
    'video_tiny': ('mmaction', video_model(dict(type='uniformer_mm.UniFormer3D', arch=TINY),
                                           'uniformer_mm.UniFormerClsHead'), 'video'),
    'video_light_tiny': ('mmaction', video_model(
        dict(type='uniformer_mm.UniFormerLight3D', arch=LIGHT), 'uniformer_mm.LightVideoHead'),
        'video_light'),
}


def logits(scope: str, model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        if scope == 'mmaction':
            from mmaction.structures import ActionDataSample
            data = dict(inputs=[x[0][None]], data_samples=[ActionDataSample()])
            return model.test_step(data)[0].pred_score[None]
        return model(x, mode='tensor')


# ------------------------------------------------------------------------- converter
@pytest.mark.parametrize('name', sorted(ROUND_TRIPS))
def test_converter_round_trip_reproduces_official_outputs(tmp_path, name):
    scope, cfg, kind = ROUND_TRIPS[name]
    pytest.importorskip(scope)
    dst = tmp_path / 'converted.pth'
    convert(official_file(tmp_path, name), str(dst))
    # Plain tensors: no allow-list needed.
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['release_kind'] == kind
    assert ckpt['meta']['arch']['depths'] == list(cfg['backbone']['arch']['depths'])
    model = build(scope, cfg)
    model.load_state_dict(ckpt['state_dict'], strict=True)  # every key mapped, none left
    g = golden(name)
    assert max_rel_err(logits(scope, model, g['input']), g['outputs'][0]) < 1e-4


def test_converter_dense_release_and_config_check(tmp_path, capsys):
    """A dense release (backbone.* keys) checked against a dense config: the extra output
    norms of a pose-style config (out_indices=(3,)) are dropped, head_dim recorded."""
    from uniformer_mm.models import UniFormer
    src = official_file(tmp_path, 'dense_tiny_hybrid')
    cfg = tmp_path / 'pose_like.py'
    cfg.write_text(f"_base_ = ['{REPO}/configs/demo/pose_uniformer_tiny_coco_demo.py']\n"
                   f"model = dict(backbone=dict(arch=dict(depths=(1, 1, 4, 1), "
                   "embed_dims=(16, 32, 64, 128), head_dim=16)))\n")
    dst = tmp_path / 'converted.pth'
    convert(src, str(dst), '--config', str(cfg))
    out = capsys.readouterr().out
    assert 'MISSING' in out and 'head.' in out  # the pose head is not in a backbone file
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['arch']['head_dim'] == 16
    assert not any(k.startswith(('backbone.norm1.', 'backbone.norm2.')) for k in ckpt['state_dict'])
    model = UniFormer(arch=dict(TINY, depths=(1, 1, 4, 1)), out_indices=(3, ),
                     final_norm=False, attn_type='hybrid', window_size=4).eval()
    sd = {k[9:]: v for k, v in ckpt['state_dict'].items() if k.startswith('backbone.')}
    model.load_state_dict(sd, strict=True)
    g = golden('dense_tiny_hybrid')
    with torch.no_grad():
        (out4, ) = model(g['input'])
    assert max_rel_err(out4, g['outputs'][3]) < 1e-4


def test_mmdet211_file_with_apex_amp(tmp_path):
    """mmdet 2.11 releases: {'meta', 'state_dict', 'optimizer', 'amp'}; only the model stays."""
    import numpy as np
    sd = dict(golden('dense_tiny_global')['checkpoint']['state_dict'])
    sd['roi_head.bbox_head.fc_cls.weight'] = torch.randn(81, 64)
    sd['rpn_head.rpn_conv.weight'] = torch.randn(32, 32, 3, 3)
    src = tmp_path / 'mask_rcnn_1x_hybrid_small.pth'
    torch.save({'meta': {'mmcv_version': '1.3.0', 'CLASSES': ('person', 'car'),
                         'hook_msgs': {'best_score': np.float64(0.4)}},
                'state_dict': sd, 'optimizer': {'state': {}, 'param_groups': []},
                'amp': {'loss_scaler0': {'loss_scale': 512.0, 'unskipped': 13}}}, src)
    dst = tmp_path / 'out.pth'
    convert(str(src), str(dst))
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['meta']['release_kind'] == 'mmdet' and ckpt['meta']['toolbox'] == 'mmdet'
    assert ckpt['meta']['dataset_meta']['classes'] == ('person', 'car')
    assert ckpt['state_dict'].keys() == sd.keys()


@pytest.mark.parametrize('extra_convs', [0, 1])
def test_mmpose016_head_names_match_mmpose1(extra_convs):
    """keypoint_head.* (TopDownSimpleHead) -> head.* (HeatmapHead), checked against mmpose's
    own old-version hook and by a strict load."""
    pytest.importorskip('mmpose')
    from mmpose.models.heads import HeatmapHead

    from uniformer_mm.checkpoint.release import convert_release
    kwargs = dict(in_channels=128, out_channels=17, deconv_out_channels=(32, 32),
                  deconv_kernel_sizes=(4, 4),
                  conv_out_channels=(32, ) * extra_convs, conv_kernel_sizes=(1, ) * extra_convs)
    ref = HeatmapHead(**kwargs)
    new = dict(ref.state_dict())
    # the 0.x layout: extra convs and the output conv together in final_layer.<i>
    old = {}
    for k, v in new.items():
        if k.startswith('conv_layers.'):
            old['final_layer.' + k[len('conv_layers.'):]] = v
        elif k.startswith('final_layer.') and extra_convs:
            old[f'final_layer.{3 * extra_convs}.' + k.split('.', 1)[1]] = v
        else:
            old[k] = v
    official = {'backbone.patch_embed1.proj.weight': torch.ones(1),
                **{'keypoint_head.' + k: v for k, v in old.items()}}
    converted, kind = convert_release(official)
    assert kind == 'mmpose'
    head = {k[len('head.'):]: v for k, v in converted.items() if k.startswith('head.')}
    assert head.keys() == new.keys()
    HeatmapHead(**kwargs).load_state_dict(head, strict=True)


def test_head_dim_is_recorded_or_reported(tmp_path, capsys):
    from uniformer_mm.checkpoint import describe_state_dict
    from uniformer_mm.checkpoint.release import infer_head_dim

    def keys(name: str) -> Dict[str, torch.Tensor]:
        """An official state_dict of ``keys/NAME.txt`` as meta tensors (shapes only)."""
        out = {}
        for line in (DATA_DIR / 'keys' / f'{name}.txt').read_text().splitlines()[1:]:
            key, shape = line.split('\t')
            out[key] = torch.empty(json.loads(shape), device='meta')
        return out

    hd, _ = infer_head_dim(describe_state_dict(keys('cls_uniformer_small')))
    assert hd == 64  # ImageNet small: unique
    hd, cands = infer_head_dim(describe_state_dict(keys('tl_uniformer_small')))
    assert hd is None and {n: h for n, h in cands} == {'tl_small': 32, 'tl_small_dim64': 64}
    # tiny fixtures match no official model: the tool says so and --head-dim records it
    src = official_file(tmp_path, 'cls_tiny')
    convert(src, str(tmp_path / 'a.pth'))
    assert 'head_dim' not in torch.load(tmp_path / 'a.pth', weights_only=True)['meta']['arch']
    convert(src, str(tmp_path / 'b.pth'), '--head-dim', '16')
    assert torch.load(tmp_path / 'b.pth', weights_only=True)['meta']['arch']['head_dim'] == 16
    with pytest.raises(SystemExit, match='not an official UniFormer arch'):
        convert(src, str(tmp_path / 'c.pth'), '--arch', 'huge')


def test_converted_file_refuses_another_architecture(tmp_path):
    """The recorded arch makes loading into another config an error naming both."""
    from uniformer_mm.checkpoint import ArchMismatchError, load_pretrained
    from uniformer_mm.checkpoint.release import check_same_arch
    src = official_file(tmp_path, 'cls_tiny')
    dst = tmp_path / 'converted.pth'
    convert(src, str(dst), '--head-dim', '16')
    ckpt = torch.load(dst, weights_only=True)
    pytest.importorskip('mmpretrain')
    deeper = build('mmpretrain', cls_model(dict(TINY, depths=(1, 1, 3, 1))))
    with pytest.raises(ArchMismatchError) as e:
        check_same_arch(ckpt['state_dict'], deeper, ckpt['meta'], str(dst), 'config X')
    msg = str(e.value)
    assert 'depths=(1, 1, 2, 1)' in msg and 'depths=(1, 1, 3, 1)' in msg and 'config X' in msg
    # head_dim is invisible in the weights; the record catches it
    other_hd = build('mmpretrain', cls_model(dict(TINY, head_dim=32)))
    with pytest.raises(ArchMismatchError, match='head_dim'):
        check_same_arch(ckpt['state_dict'], other_hd, ckpt['meta'], str(dst))
    with pytest.raises(ArchMismatchError, match='head_dim=16'):
        load_pretrained(other_hd, dst)


def test_converter_errors(tmp_path):
    with pytest.raises(SystemExit, match='does not exist'):
        convert(str(tmp_path / 'nope.pth'), str(tmp_path / 'out.pth'))
    bad = tmp_path / 'not_uniformer.pth'
    torch.save({'state_dict': {'conv.weight': torch.ones(1)}}, bad)
    with pytest.raises(SystemExit, match='not a UniFormer release'):
        convert(str(bad), str(tmp_path / 'out.pth'))
    with pytest.raises(SystemExit, match='cannot be converted for the mmpretrain config'):
        convert(official_file(tmp_path, 'dense_tiny_global'), str(tmp_path / 'o.pth'),
                '--kind', 'mmseg', '--config',
                str(REPO / 'configs/demo/cls_uniformer_tiny_shapes.py'))


# ------------------------------------------------------------------------- CLI tools
@pytest.fixture(scope='module')
def demo_data(tmp_path_factory) -> str:
    return str(make_demo_data(tmp_path_factory.mktemp('demo_data'), ('cls', 'kinetics')))


def golden_cls_config(tmp_path: Path) -> Path:
    """The demo classification config with the architecture of the cls_tiny fixture."""
    cfg = tmp_path / 'cls_golden_arch.py'
    cfg.write_text(f"_base_ = ['{REPO}/configs/demo/cls_uniformer_tiny_shapes.py']\n"
                   "model = dict(backbone=dict(arch=dict(depths=(1, 1, 2, 1), "
                   "embed_dims=(16, 32, 64, 128), head_dim=16)), "
                   "head=dict(num_classes=10))\n"
                   "data_preprocessor = dict(num_classes=10)\n")
    return cfg


def test_test_py_on_an_official_file(tmp_path, demo_data):
    pytest.importorskip('mmpretrain')
    cfg = golden_cls_config(tmp_path)
    ckpt = official_file(tmp_path, 'cls_tiny')
    out = tmp_path / 'preds.pkl'
    r = run_tool(['tools/test.py', str(cfg), ckpt, '--work-dir', str(tmp_path / 'wd'),
                  '--out', str(out), '--show-dir', str(tmp_path / 'vis')],
                 env=dict(UNIFORMER_MM_DEMO_DATA=demo_data))
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    assert 'official release file' in r.stdout and 'MISSING' not in r.stdout
    assert_quiet(r)
    metrics = json.loads((tmp_path / 'wd' / 'test_metrics.json').read_text())
    assert 'accuracy/top1' in metrics
    assert len(list((tmp_path / 'vis').glob('*.png'))) == 16
    # The predictions are those of the official weights: recompute one in-process.
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 16
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer

    from uniformer_mm.checkpoint import load_pretrained
    conf = Config.fromfile(str(cfg))
    model = build('mmpretrain', dict(conf.model, data_preprocessor=conf.data_preprocessor))
    load_pretrained(model, ckpt)
    model._config = conf
    first = preds[0]
    ref = ImageClassificationInferencer(model=model, pretrained=False)(first['img_path'])[0]
    assert torch.allclose(torch.as_tensor(ref['pred_scores']), first['pred_score'], atol=1e-5)


def test_test_py_evaluates_the_weights_the_configs_ema_hook_names(tmp_path, demo_data):
    """A checkpoint saved by a run with an EMAHook holds the EMA weights in ``state_dict`` and
    the raw ones in ``ema_state_dict`` (mmengine swaps them when saving). With the DeiT-style
    recipe's ``evaluate_on_ema=False`` (the official code evaluated the raw weights),
    tools/test.py must predict with the raw weights, not the EMA ones."""
    pytest.importorskip('mmpretrain')
    cfg = golden_cls_config(tmp_path)
    with open(cfg, 'a') as f:
        f.write("custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL', "
                "evaluate_on_ema=False, evaluate_on_origin=True)]\n")
    from mmengine.config import Config
    conf = Config.fromfile(str(cfg))
    model_cfg = dict(conf.model, data_preprocessor=conf.data_preprocessor)
    torch.manual_seed(0)
    raw_model = build('mmpretrain', model_cfg)
    torch.manual_seed(1)
    ema_model = build('mmpretrain', model_cfg)
    raw, ema = raw_model.state_dict(), ema_model.state_dict()
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 10}, 'state_dict': ema,
                'ema_state_dict': {'steps': torch.tensor(10),
                                   **{f'module.{k}': v for k, v in raw.items()}}}, ckpt)
    out = tmp_path / 'preds.pkl'
    r = run_tool(['tools/test.py', str(cfg), str(ckpt), '--work-dir', str(tmp_path / 'wd'),
                  '--out', str(out)], env=dict(UNIFORMER_MM_DEMO_DATA=demo_data))
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    with open(out, 'rb') as f:
        first = pickle.load(f)[0]
    from mmpretrain.apis import ImageClassificationInferencer
    scores = {}
    for name, m in (('raw', raw_model), ('ema', ema_model)):
        m._config = conf
        scores[name] = torch.as_tensor(ImageClassificationInferencer(
            model=m, pretrained=False)(first['img_path'])[0]['pred_scores'])
    assert not torch.allclose(scores['raw'], scores['ema'], atol=1e-4)
    assert torch.allclose(scores['raw'], first['pred_score'], atol=1e-5)


def test_test_py_tta_averages_the_configs_augmentations(tmp_path, demo_data):
    """``--tta``: the config's tta_model (mmpretrain's score averaging) over its tta_pipeline
    (original + horizontal flip) -- the predictions are the mean of the two views'."""
    pytest.importorskip('mmpretrain')
    cfg = golden_cls_config(tmp_path)
    with open(cfg, 'a') as f:
        f.write("tta_model = dict(type='AverageClsScoreTTA')\n"
                "tta_pipeline = [dict(type='LoadImageFromFile'), dict(type='TestTimeAug', "
                "transforms=[[dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', "
                "prob=1., direction='horizontal')], [dict(type='PackInputs')]])]\n")
    ckpt = official_file(tmp_path, 'cls_tiny')
    out = tmp_path / 'preds.pkl'
    r = run_tool(['tools/test.py', str(cfg), ckpt, '--work-dir', str(tmp_path / 'wd'),
                  '--out', str(out), '--tta'], env=dict(UNIFORMER_MM_DEMO_DATA=demo_data))
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    with open(out, 'rb') as f:
        first = pickle.load(f)[0]
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    from uniformer_mm.checkpoint import load_pretrained
    conf = Config.fromfile(str(cfg))
    model = build('mmpretrain', dict(conf.model, data_preprocessor=conf.data_preprocessor))
    load_pretrained(model, ckpt)
    scores = []
    for prob in (0., 1.):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            view = Compose([dict(type='LoadImageFromFile'),
                            dict(type='RandomFlip', prob=prob, direction='horizontal'),
                            dict(type='PackInputs')])(dict(img_path=first['img_path']))
        with torch.no_grad():
            pred = model.test_step(dict(inputs=[view['inputs']],
                                        data_samples=[view['data_samples']]))[0]
        scores.append(pred.pred_score)
    assert not torch.allclose(scores[0], scores[1], atol=1e-4)  # the flip matters
    torch.testing.assert_close(first['pred_score'], (scores[0] + scores[1]) / 2,
                               atol=1e-5, rtol=1e-5)


def test_amp_config_trains_in_fp32_on_a_cpu_machine(tmp_path, demo_data):
    """The paper configs use AmpOptimWrapper, which mmengine builds on an accelerator only:
    without one, train.py trains in fp32 and says so; an explicit --amp is refused."""
    pytest.importorskip('mmpretrain')
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU: AMP runs as configured')  # pragma: no cover
    env = dict(UNIFORMER_MM_DEMO_DATA=demo_data)
    args = ['tools/train.py', 'configs/demo/cls_uniformer_tiny_shapes.py',
            '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
            'optim_wrapper.type=AmpOptimWrapper', 'optim_wrapper.loss_scale=dynamic',
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2']
    r = run_tool(args, env=env)
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    assert 'training in fp32 instead' in r.stdout + r.stderr
    assert (tmp_path / 'wd' / 'iter_2.pth').is_file()
    r = run_tool(args[:2] + ['--amp'] + args[2:], env=env)
    assert r.returncode != 0 and 'error: --amp needs a GPU' in r.stderr
    assert 'Traceback' not in r.stderr


def test_test_py_refuses_a_checkpoint_of_another_architecture(tmp_path, demo_data):
    ckpt = official_file(tmp_path, 'cls_tiny')  # depths (1, 1, 2, 1)
    cfg = 'configs/demo/cls_uniformer_tiny_shapes.py'  # depths (1, 1, 1, 1)
    r = run_tool(['tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 'wd')],
                 env=dict(UNIFORMER_MM_DEMO_DATA=demo_data))
    assert r.returncode != 0
    err = r.stderr
    assert 'another UniFormer' in err and cfg in err
    assert 'depths=(1, 1, 2, 1)' in err and 'depths=(1, 1, 1, 1)' in err
    assert 'Traceback' not in err


def test_tools_report_config_errors(tmp_path):
    r = run_tool(['tools/test.py', 'configs/demo/nope.py', __file__])
    assert r.returncode != 0 and "config file 'configs/demo/nope.py' does not exist" in r.stderr
    r = run_tool(['tools/train.py', 'configs/demo/nope.py'])
    assert r.returncode != 0 and 'does not exist' in r.stderr
    r = run_tool(['tools/test.py', 'configs/demo/cls_uniformer_tiny_shapes.py',
                  str(tmp_path / 'missing.pth')])
    assert r.returncode != 0 and 'missing.pth' in r.stderr and 'does not exist' in r.stderr
    assert 'Traceback' not in r.stderr


def test_exit_on_error(monkeypatch):
    """The one error exit of every tool: ``error: <message>`` with status 1, or the traceback."""
    from uniformer_mm.cli import USER_ERRORS, exit_on_error
    monkeypatch.delenv('UNIFORMER_MM_DEBUG', raising=False)
    with pytest.raises(SystemExit) as info:
        with exit_on_error(*USER_ERRORS):
            raise FileNotFoundError("config file 'x.py' does not exist")
    assert info.value.code == "error: config file 'x.py' does not exist"  # printed; status 1
    with pytest.raises(KeyError):  # not listed: a bug, its traceback is kept
        with exit_on_error(*USER_ERRORS):
            raise KeyError('k')
    with exit_on_error(ValueError):
        pass
    monkeypatch.setenv('UNIFORMER_MM_DEBUG', '1')
    with pytest.raises(ValueError, match='bad value'):
        with exit_on_error(ValueError):
            raise ValueError('bad value')
    with pytest.raises(TypeError):
        with exit_on_error():
            pass


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py', 'tools/demo/image_demo.py',
                                  'tools/demo/video_demo.py',
                                  'tools/model_converters/uniformer_official2mm.py',
                                  'tools/analysis/get_flops.py'])
def test_help_imports_neither_torch_nor_mmengine(tool):
    # The tools import uniformer_mm, torch and mmengine (seconds) only after parsing, so --help
    # and argument errors are instant.
    r = run_tool(['-X', 'importtime', tool, '--help'])
    assert r.returncode == 0 and 'usage:' in r.stdout, r.stderr[-3000:]
    imported = {line.rsplit('|', 1)[-1].strip() for line in r.stderr.splitlines()}
    assert not imported & {'torch', 'mmengine', 'uniformer_mm'}


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_config_of_an_uninstalled_toolbox(tool):
    # mmdet made unimportable in the child process, as on a machine without it.
    # (the script's folder first on sys.path, as `python tools/x.py` has it)
    code = ('import os, runpy, sys; sys.modules["mmdet"] = None; sys.argv = sys.argv[1:]; '
            'sys.path.insert(0, os.path.dirname(sys.argv[0])); '
            'runpy.run_path(sys.argv[0], run_name="__main__")')
    args = [tool, 'configs/demo/det_mask_rcnn_uniformer_tiny_coco_demo.py']
    if tool.endswith('test.py'):
        args.append(__file__)
    r = run_tool(args, code=code)
    assert r.returncode != 0
    assert "needs the toolbox 'mmdet'" in r.stderr and 'pip install mmdet' in r.stderr
    assert 'Traceback' not in r.stderr


def test_train_resume_and_demos(tmp_path, demo_data):
    """train.py for 2 iterations, --resume to 4, then the image and video demos on
    official files (converted on the fly)."""
    pytest.importorskip('mmpretrain')
    env = dict(UNIFORMER_MM_DEMO_DATA=demo_data)
    cfg = 'configs/demo/cls_uniformer_tiny_shapes.py'
    wd = tmp_path / 'wd'
    opts = ['--cfg-options', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=4',
            'default_hooks.checkpoint.interval=2']
    r = run_tool(['tools/train.py', cfg, '--work-dir', str(wd), *opts,
                  'train_cfg.max_iters=2'], env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert_quiet(r)
    r = run_tool(['tools/train.py', cfg, '--work-dir', str(wd), '--resume', *opts,
                  'train_cfg.max_iters=4'], env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in r.stdout
    assert (wd / 'iter_4.pth').is_file()

    png = tmp_path / 'cls.png'
    img = osp.join(demo_data, 'cls/val/red_disk/val_0_000.png')
    r = run_tool(['tools/demo/image_demo.py', img, str(golden_cls_config(tmp_path)),
                  official_file(tmp_path, 'cls_tiny'), '--out', str(png)], env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert png.is_file() and 'mmpretrain: 1.' in r.stdout
    assert_quiet(r)

    pytest.importorskip('mmaction')
    vcfg = tmp_path / 'video_golden_arch.py'
    vcfg.write_text(f"_base_ = ['{REPO}/configs/demo/video_uniformer_tiny_kinetics_demo.py']\n"
                    "model = dict(backbone=dict(arch=dict(depths=(1, 1, 2, 1), "
                    "embed_dims=(16, 32, 64, 128), head_dim=16)), "
                    "cls_head=dict(num_classes=10))\n")
    labels = tmp_path / 'labels.txt'
    labels.write_text('\n'.join(f'action_{i}' for i in range(10)) + '\n')
    video = osp.join(demo_data, 'kinetics/videos_val/move_up_0003.mp4')
    png = tmp_path / 'video.png'
    r = run_tool(['tools/demo/video_demo.py', video, str(vcfg),
                  official_file(tmp_path, 'video_tiny'), '--out', str(png), '--labels',
                  str(labels)], env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert png.is_file() and 'mmaction: 1. action_' in r.stdout
    assert_quiet(r)
    r = run_tool(['tools/demo/video_demo.py', video, str(vcfg),
                  official_file(tmp_path, 'video_tiny'), '--out', str(tmp_path / 'v.jpg')],
                 env=env)
    assert r.returncode != 0 and 'PNG' in r.stderr


def test_distributed_cpu_run_matches_single_process(tmp_path, demo_data):
    """tools/dist_train.sh CONFIG 2 (2 x batch 2, gloo) == tools/train.py (1 x batch 4)."""
    pytest.importorskip('mmpretrain')
    env = dict(UNIFORMER_MM_DEMO_DATA=demo_data, PYTHON=PY, PORT='29611')
    cfg = 'configs/demo/cls_uniformer_tiny_dist.py'
    opts = ['--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2']
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **env)
    r = subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir',
                        str(tmp_path / 'two'), *opts], cwd=REPO, env=full_env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'one'), *opts,
                  'train_dataloader.batch_size=4'], env=env)
    assert r.returncode == 0, r.stderr[-3000:]

    def weights(run: str, it: int) -> dict:
        return torch.load(tmp_path / run / f'iter_{it}.pth', weights_only=False)['state_dict']

    one, two = weights('one', 4), weights('two', 4)
    assert one.keys() == two.keys()
    diff = max(float((one[k].float() - two[k].float()).abs().max()) for k in one)
    moved = max(float((one[k].float() - weights('one', 2)[k].float()).abs().max())
                for k in one)
    assert diff < 5e-5 < moved / 20, (diff, moved)


@pytest.mark.parametrize('script,expected_signal', [('slurm_train.sh', '--signal=USR1@120'),
                                                    ('slurm_test.sh', None)])
def test_slurm_scripts_build_the_srun_command(tmp_path, script, expected_signal):
    """The Slurm wrappers, with a stand-in ``srun`` that records its arguments: one task per
    GPU, the tool with ``--launcher slurm``, and for training the early stop signal that
    makes train.py save a checkpoint before the time limit."""
    fake = tmp_path / 'bin' / 'srun'
    fake.parent.mkdir()
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_ARGS_FILE"\n')
    fake.chmod(0o755)
    record = tmp_path / 'args.txt'
    env = dict(os.environ, PATH=f'{fake.parent}{os.pathsep}{os.environ["PATH"]}',
               SRUN_ARGS_FILE=str(record), GPUS='16', PYTHON='python3')
    r = subprocess.run(['bash', f'tools/{script}', 'part', 'job', 'cfg.py', 'x.pth', '--foo'],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    args = record.read_text().splitlines()
    assert args[:2] == ['-p', 'part'] and '--ntasks=16' in args and '--job-name=job' in args
    tool = 'train.py' if 'train' in script else 'test.py'
    assert args[-1] == 'slurm' and args[-2] == '--launcher' and '--foo' in args
    assert any(a.endswith(f'tools/{tool}') for a in args)
    signals = [a for a in args if a.startswith('--signal')]
    assert signals == ([expected_signal] if expected_signal else [])
