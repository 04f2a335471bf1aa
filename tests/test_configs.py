"""The model-zoo configs: every config parses, builds, trains and tests one step, and
the metafiles, READMEs and configs agree.

Step tests shrink only the backbone through the config (same family and width, one or two
blocks per stage; the toolbox's detector / segmentor / head / neck are the configs' own),
feed a tiny hand-made CPU batch and check that the losses are finite, that the optimizer built
from the config's ``optim_wrapper`` changed the backbone, and that the test step returns one
prediction per sample in the toolbox's format. Full-size models are built once per
distinct architecture (on the meta device where possible: no memory, no compute) to compare
their parameter counts with the paper's, as recorded in the metafiles. Pipelines are checked
by building every transform; ``tools/analysis/get_flops.py`` against the paper.
"""
import copy
import functools
import json
import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
import yaml
from mmengine.config import Config, ConfigDict

import uniformer_mm  # noqa: F401  (registries, runtime fixes)

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / 'configs'
#: Task directory -> the toolbox scope its configs run under.
TASKS: Dict[str, str] = {
    'cls': 'mmpretrain', 'det': 'mmdet', 'seg': 'mmseg', 'pose': 'mmpose', 'video': 'mmaction'
}
#: The fine-tuning templates (docs/finetune.md) are no paper results: no metafile entry, no
#: published size or recipe facts; they take the build-and-step test only.
TEMPLATES: List[Path] = sorted(CONFIG_DIR.glob('*/finetune_*.py'))
CONFIGS: List[Path] = sorted(p for task in TASKS for p in (CONFIG_DIR / task).glob('*.py')
                             if p not in TEMPLATES)
CONFIG_IDS = [f'{p.parent.name}/{p.stem}' for p in CONFIGS]

#: Spatial size of the step-test images: the smallest the backbones take (total stride 32),
#: and twice that for classification, detection (RPN anchors must fit inside the image) and
#: the hourglass models (their token shrinking needs more than one stage-4 token).
IMG = 32
IMG_LIGHT = 64
#: Frames and size of the step-test clips.
CLIP = (4, 32, 32)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _load(path: str) -> Config:
    """Parse a config once per session."""
    return Config.fromfile(path)


def load_config(path: Path) -> Config:
    """A private copy of the parsed config (parsing is cached: it is the slow part)."""
    return copy.deepcopy(_load(str(path)))


@functools.lru_cache(maxsize=None)
def load_metafile(task: str) -> dict:
    """``configs/<task>/metafile.yml``."""
    with open(CONFIG_DIR / task / 'metafile.yml', encoding='utf-8') as f:
        return yaml.safe_load(f)


def metafile_entry(path: Path) -> dict:
    """The metafile entry of a config file."""
    models = {m['Name']: m for m in load_metafile(path.parent.name)['Models']}
    return models[path.stem]


pytestmark = pytest.mark.usefixtures('one_intraop_thread')  # tests/conftest.py


@pytest.fixture(autouse=True)
def _quiet_mmengine():
    """mmengine logs every parameter group at INFO; keep the test output readable."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    yield
    logger.setLevel(level)


def _backbone_type(backbone: dict) -> str:
    return backbone['type'].split('.')[-1]


def shrink_backbone(backbone: ConfigDict) -> None:
    """Replace the backbone's architecture by a tiny one of the same family, in place.

    Same widths (so the configs' necks and heads fit unchanged), same head_dim, stem and
    layer-scale options; one block per stage, two (four for hybrid attention, so that block 4 is
    global) in stage 3, two in stage 4 of the hourglass models (so that both token-shrinking
    stages run). Windows shrink with the input: a 14 or 32 window on a 2x2 stage-3 map would
    attend over hundreds of padding tokens; 3x3 windows still pad and partition it.
    Pretrained weights are not on CI machines: their ``init_cfg`` is dropped.
    """
    from uniformer_mm.archs import IMAGE_ARCHS, LIGHT_ARCHS
    from uniformer_mm.models.backbones.uniformer3d import UniFormer3D

    kind = _backbone_type(backbone)
    arch = backbone.get('arch')
    if kind == 'UniFormer':
        a = IMAGE_ARCHS[arch]
        stage3 = 4 if backbone.get('attn_type') == 'hybrid' else 2
        backbone.arch = dict(depths=(1, 1, stage3, 1), embed_dims=a['embed_dims'],
                             head_dim=a['head_dim'], conv_stem=a['conv_stem'],
                             layer_scale=a['layer_scale'])
        if backbone.get('attn_type', 'global') != 'global':
            backbone.window_size = 3
    elif kind in ('UniFormerLight', 'UniFormerLight3D'):
        a = LIGHT_ARCHS[arch]
        backbone.arch = dict(depths=(1, 1, 2, 2), embed_dims=a['embed_dims'],
                             head_dim=a['head_dim'], mlp_ratio=a['mlp_ratio'])
    elif kind == 'UniFormer3D':
        a = UniFormer3D.arch_zoo[arch]
        backbone.arch = dict(depths=(1, 1, 2, 1), embed_dims=a['embed_dims'],
                             head_dim=a['head_dim'])
    else:
        raise AssertionError(f'unexpected backbone {backbone["type"]}')
    backbone.pop('init_cfg', None)


def _drop_pretrained(cfg: Any) -> None:
    """Remove every ``Pretrained`` init_cfg below ``cfg`` (their files are not on CI)."""
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            cfg.pop('init_cfg')
        for v in cfg.values():
            _drop_pretrained(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            _drop_pretrained(v)


def model_config(cfg: Config) -> ConfigDict:
    """``cfg.model`` with the top-level data_preprocessor merged in, as mmengine's Runner."""
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None and 'data_preprocessor' not in model:
        model['data_preprocessor'] = copy.deepcopy(cfg.data_preprocessor)
    return model


def build_model(cfg: Config, model: Optional[ConfigDict] = None) -> torch.nn.Module:
    """Build a model the way mmengine's Runner does (its scope; SyncBN reverted off-cluster)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        module = MODELS.build(model if model is not None else model_config(cfg))
    return revert_sync_batchnorm(module)


def build_optim_wrapper(cfg: Config, model: torch.nn.Module):
    """The config's optimizer wrapper; AMP becomes fp32 (no AMP on a CPU)."""
    from mmengine.optim import build_optim_wrapper as build
    from mmengine.registry import DefaultScope
    ow_cfg = copy.deepcopy(cfg.optim_wrapper)
    if ow_cfg.get('type') == 'AmpOptimWrapper':
        ow_cfg['type'] = 'OptimWrapper'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return build(model, ow_cfg)


# ---------------------------------------------------------------------------------------------
# Tiny batches, built by hand, one per toolbox
# ---------------------------------------------------------------------------------------------
def _images(n: int, size: int) -> List[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
            for _ in range(n)]


def image_size(cfg: Config) -> int:
    """The step-test image size of a config (see :data:`IMG`)."""
    light = _backbone_type(cfg.model.backbone).startswith('UniFormerLight')
    return IMG_LIGHT if light or cfg.default_scope in ('mmpretrain', 'mmdet') else IMG


def cls_batch(cfg: Config) -> dict:
    from mmpretrain.structures import DataSample
    num_classes = cfg.model.head.num_classes
    return dict(inputs=_images(2, image_size(cfg)),
                data_samples=[DataSample().set_gt_label(k % num_classes) for k in (3, 7)])


def det_batch(cfg: Config) -> dict:
    from mmdet.testing import demo_mm_inputs
    size = image_size(cfg)
    heads = cfg.model.roi_head.bbox_head  # a list in Cascade R-CNN
    num_classes = (heads[0] if isinstance(heads, list) else heads).num_classes
    return demo_mm_inputs(2, [[3, size, size]] * 2, num_items=[2, 1], with_mask=True,
                          num_classes=num_classes)


def seg_batch(cfg: Config) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    size = image_size(cfg)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, cfg.model.decode_head.num_classes, (1, size, size), generator=g))
        samples.append(sample)
    return dict(inputs=_images(2, size), data_samples=samples)


def pose_batch(cfg: Config) -> dict:
    from mmpose.testing import get_packed_inputs
    size = image_size(cfg)
    return get_packed_inputs(2, img_shape=(size, size), input_size=(size, size),
                             heatmap_size=(size // 4, size // 4), with_reg_label=False,
                             with_simcc_label=False)


def video_batch(cfg: Config, views: int = 1) -> dict:
    from mmaction.structures import ActionDataSample
    g = torch.Generator().manual_seed(0)
    num_classes = cfg.model.cls_head.num_classes
    inputs = [torch.randint(0, 256, (views, 3, *CLIP), generator=g, dtype=torch.uint8)
              for _ in range(2)]
    samples = [ActionDataSample().set_gt_label(torch.tensor([k % num_classes])) for k in (3, 7)]
    return dict(inputs=inputs, data_samples=samples)


def tiny_step_config(path: Path) -> Tuple[Config, dict, dict]:
    """The config with a tiny backbone and tiny-input settings, and train / test batches."""
    cfg = load_config(path)
    task = path.parent.name
    shrink_backbone(cfg.model.backbone)
    _drop_pretrained(cfg.model)
    if task == 'det':
        # Fewer proposals and sampled RoIs: the heads stay the configs' own, but CPU-sized.
        train_cfg, test_cfg = cfg.model.train_cfg, cfg.model.test_cfg
        train_cfg.rpn_proposal.update(nms_pre=64, max_per_img=16)
        for rcnn in (train_cfg.rcnn if isinstance(train_cfg.rcnn, list) else [train_cfg.rcnn]):
            rcnn.sampler.num = 4
        test_cfg.rpn.update(nms_pre=64, max_per_img=16)
        test_cfg.rcnn.max_per_img = 8
        return cfg, det_batch(cfg), det_batch(cfg)
    size = image_size(cfg)
    if task == 'seg':
        cfg.model.data_preprocessor.size = (size, size)  # pad training crops to the tiny size
        return cfg, seg_batch(cfg), seg_batch(cfg)
    if task == 'pose':
        # The codec must describe the tiny input: stride 32, three 2x deconvolutions.
        cfg.model.head.decoder.update(input_size=(size, size), heatmap_size=(size // 4, size // 4))
        return cfg, pose_batch(cfg), pose_batch(cfg)
    if task == 'video':
        return cfg, video_batch(cfg), video_batch(cfg, views=2)
    return cfg, cls_batch(cfg), cls_batch(cfg)


def check_predictions(task: str, cfg: Config, outputs: list) -> None:
    """One prediction per sample, in the toolbox's format."""
    assert len(outputs) == 2
    size = image_size(cfg)
    for out in outputs:
        if task == 'cls':
            assert out.pred_score.shape == (cfg.model.head.num_classes, )
            assert torch.isfinite(out.pred_score).all()
        elif task == 'det':
            inst = out.pred_instances
            assert inst.bboxes.shape[-1] == 4 and len(inst.scores) == len(inst.labels)
            assert len(inst.labels) <= 8  # test_cfg.rcnn.max_per_img of the tiny config
            assert inst.masks.shape[1:] == (size, size)
        elif task == 'seg':
            assert out.pred_sem_seg.data.shape == (1, size, size)
            assert int(out.pred_sem_seg.data.max()) < cfg.model.decode_head.num_classes
        elif task == 'pose':
            kpts = out.pred_instances.keypoints
            assert kpts.shape[-2:] == (17, 2) and torch.isfinite(torch.as_tensor(kpts)).all()
        elif task == 'video':
            assert out.pred_score.shape == (cfg.model.cls_head.num_classes, )
            assert torch.isfinite(out.pred_score).all()


# ---------------------------------------------------------------------------------------------
# Every config: one train step and one test step
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('path', CONFIGS + TEMPLATES,
                         ids=CONFIG_IDS + [f'{p.parent.name}/{p.stem}' for p in TEMPLATES])
def test_config_trains_and_tests_one_step(path: Path) -> None:
    task = path.parent.name
    assert load_config(path).default_scope == TASKS[task]
    torch.manual_seed(0)
    cfg, train_batch, test_batch = tiny_step_config(path)
    model = build_model(cfg)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(cfg, model)

    watched = dict(model.backbone.named_parameters())
    before = {k: v.detach().clone() for k, v in watched.items() if v.requires_grad}
    model.train()
    log_vars = {k: float(v) for k, v in model.train_step(train_batch, optim_wrapper).items()}
    assert 'loss' in log_vars
    bad = {k: v for k, v in log_vars.items() if not math.isfinite(v)}
    assert not bad, f'non-finite training outputs: {bad}'
    changed = [k for k, v in before.items() if not torch.equal(v, watched[k].detach())]
    assert changed, 'the optimizer step left the backbone unchanged'

    model.eval()
    with torch.no_grad():
        outputs = model.test_step(test_batch)
    check_predictions(task, cfg, outputs)


@pytest.mark.parametrize('path', CONFIGS + TEMPLATES,
                         ids=CONFIG_IDS + [f'{p.parent.name}/{p.stem}' for p in TEMPLATES])
def test_class_count_is_resolved_by_the_config_itself(path: Path) -> None:
    """The configs carry their class count into every place that needs it themselves (head,
    MixUp/CutMix, preprocessor): a toolbox's own train.py / mim reads them with plain
    mmengine and never runs :func:`uniformer_mm.cli.check_config`. So what that function
    would write is already there, and no two places disagree."""
    from uniformer_mm.cli.checks import apply_num_classes, check_num_classes
    cfg = load_config(path)
    check_num_classes(cfg, splits=())  # raises naming every disagreeing key
    resolved = copy.deepcopy(cfg)
    apply_num_classes(resolved)
    for key in ('model', 'data_preprocessor'):
        assert resolved.get(key) == cfg.get(key), key


@pytest.mark.parametrize('task', list(TASKS))
def test_pipelines_build(task: str) -> None:
    """Every transform of every train / val / test / TTA pipeline builds in its toolbox (the
    step tests feed hand-made batches, so this is where pipeline typos are caught). Identical
    transform settings, shared by many configs, are built once."""
    from mmengine.registry import TRANSFORMS

    def pipelines(cfg: Config) -> List[list]:
        found = [cfg.get('tta_pipeline') or []]
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            dataset = cfg[key]['dataset']
            while 'pipeline' not in dataset:  # dataset wrappers
                dataset = dataset['dataset']
            found.append(dataset['pipeline'])
        return found

    scope = TASKS[task]
    transforms = {}
    for path in (CONFIG_DIR / task).glob('*.py'):
        for pipeline in pipelines(load_config(path)):
            for t in pipeline:
                transforms.setdefault(json.dumps(t, sort_keys=True, default=str), (path.stem, t))
    with TRANSFORMS.switch_scope_and_registry(scope) as registry:
        for _, t in transforms.values():
            registry.build(copy.deepcopy(t))


# ---------------------------------------------------------------------------------------------
# Full-size models: parameters against the paper (once per distinct architecture)
# ---------------------------------------------------------------------------------------------
#: Keys that do not change a model's parameters (test-time attention, regularisation,
#: memory options, initialisation, codecs and batch augmentations).
_PARAM_FREE_KEYS = {'attn_type', 'window_size', 'drop_path_rate', 'with_cp', 'init_cfg',
                    'norm_eval', 'attn_fp32', 'train_cfg', 'test_cfg', 'data_preprocessor',
                    'decoder'}


def _param_signature(cfg: Config) -> str:
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in sorted(v.items()) if k not in _PARAM_FREE_KEYS}
        if isinstance(v, (list, tuple)):
            return [strip(x) for x in v]
        return v
    return json.dumps([cfg.default_scope, strip(cfg.model.to_dict())], sort_keys=True,
                      default=str)


_PARAM_COUNTS: Dict[str, int] = {}


def _count_full_params(signature: str, path: str) -> int:
    """Parameters of the full-size model (cached by architecture signature)."""
    if signature not in _PARAM_COUNTS:
        _PARAM_COUNTS[signature] = _build_and_count(path)
    return _PARAM_COUNTS[signature]


def _build_and_count(path: str) -> int:
    """Parameters of the full-size model, without the token-labeling auxiliary head: the
    paper reports the same counts with and without token labeling (S-plus: 24.03M, 24.55M
    with its auxiliary head, published as 24M)."""
    cfg = load_config(Path(path))
    _drop_pretrained(cfg.model)
    # Structure only on the meta device (no memory, no init cost). The hourglass and video
    # backbones read their drop-path schedule back from a tensor while building, which the
    # meta device cannot do; they are small and built on the CPU.
    meta = _backbone_type(cfg.model.backbone) == 'UniFormer'
    with torch.device('meta' if meta else 'cpu'):
        model = build_model(cfg)
    return sum(p.numel() for n, p in model.named_parameters() if '.aux_fc.' not in f'.{n}')


def parse_size(text: str) -> Tuple[float, float]:
    """``'22M'`` / ``'10.2M'`` / ``'3.6G'`` -> (value, half a unit of the last digit shown)."""
    m = re.fullmatch(r'(\d+(?:\.(\d+))?)([KMGT])', str(text))
    assert m, f'not a size: {text!r}'
    unit = {'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12}[m.group(3)]
    decimals = len(m.group(2) or '')
    return float(m.group(1)) * unit, 0.5 * 10**-decimals * unit


def within_paper(value: float, published: str, rel: float) -> bool:
    """``value`` equals the published, rounded number: within ``rel`` or its rounding."""
    target, rounding = parse_size(published)
    return abs(value - target) <= max(rel * target, rounding)


@pytest.mark.parametrize('path', CONFIGS, ids=CONFIG_IDS)
def test_full_size_model_builds_with_the_papers_parameters(path: Path) -> None:
    """The real model of every config builds (once per distinct architecture); where the
    paper states its size, the parameter count matches it."""
    cfg = load_config(path)
    params = _count_full_params(_param_signature(cfg), str(path))
    published = metafile_entry(path)['Metadata'].get('Parameters')
    if published is None:  # pose and video tables give no sizes
        assert params > 1e6
        return
    assert within_paper(params, published, rel=0.01), (
        f'{path.stem}: {params / 1e6:.2f}M parameters, the paper reports {published}')


def test_parameter_tolerance_is_not_vacuous() -> None:
    """The check above would catch a wrong architecture (B counted against S's 22M)."""
    assert within_paper(21.55e6, '22M', 0.01)
    assert not within_paper(49.78e6, '22M', 0.01)
    assert not within_paper(10.4e6, '10.2M', 0.01)  # one decimal -> 0.05M rounding


# ---------------------------------------------------------------------------------------------
# Configs carry the paper's recipe facts
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('path', CONFIGS, ids=CONFIG_IDS)
def test_config_records_batch_precision_and_pretraining(path: Path) -> None:
    cfg = load_config(path)
    entry = metafile_entry(path)
    # The paper's total batch, for --auto-scale-lr.
    assert cfg.auto_scale_lr.base_batch_size == entry['Metadata']['Batch Size']
    # Precision: fp32 for the image hourglass models (NaN with AMP) and for segmentation (the
    # official seg configs had no fp16); AMP for everything else the authors trained
    light = _backbone_type(cfg.model.backbone).startswith('UniFormerLight')
    # (the hourglass video models train under autocast with float32 attention: the official
    # tools/train_net_cls.py wraps them in torch.cuda.amp.autocast like the other video models)
    fp32 = (light and path.parent.name != 'video') or path.parent.name == 'seg'
    assert cfg.optim_wrapper.type == ('OptimWrapper' if fp32 else 'AmpOptimWrapper')
    # Downstream models start from the paper's checkpoints, named as the official files.
    init = cfg.model.backbone.get('init_cfg')
    if path.parent.name == 'cls' and not path.stem.endswith('_384'):
        assert init is None  # trained from scratch
    else:
        assert init['type'] == 'Pretrained' and init['checkpoint'].startswith('pretrained/')


def test_test_time_variants_change_only_the_attention() -> None:
    """seg `_w32` / `_h32` are the global model's weights tested with another attention."""
    variants = [p for p in CONFIGS if p.stem.endswith(('_w32', '_h32'))]
    assert len(variants) == 8
    for path in variants:
        variant, trained = load_config(path), load_config(path.with_name(
            path.stem[:-4] + '.py'))
        assert variant.model.backbone.pop('attn_type') == (
            'window' if path.stem.endswith('_w32') else 'hybrid')
        assert variant.model.backbone.pop('window_size') == 32
        assert trained.model.backbone.pop('attn_type') == 'global'
        trained.model.backbone.pop('window_size', None)
        assert variant.to_dict() == trained.to_dict(), path.stem


def test_pretrained_checkpoints_are_documented() -> None:
    """Every `pretrained/` file a config loads (after inheritance: shared bases name most of
    them) is named in its task README, and every config that loads one is checked."""
    checked = 0
    for task in TASKS:
        readme = (CONFIG_DIR / task / 'README.md').read_text(encoding='utf-8')
        for path in (CONFIG_DIR / task).glob('*.py'):
            cfg = load_config(path)  # what is loaded: the model's init_cfgs and load_from
            text = json.dumps([cfg.model.to_dict(), cfg.get('load_from')], default=str)
            names = set(re.findall(r"pretrained/([\w.]+\.pth)", text))
            for name in names:
                assert name in readme, f'{task}/README.md does not document {name} ({path.name})'
            checked += bool(names)
    assert checked >= 60, f'only {checked} configs load a pretrained/ file'


# ---------------------------------------------------------------------------------------------
# Model zoo: model-index.yml, metafiles, READMEs and configs agree
# ---------------------------------------------------------------------------------------------
def test_model_index_imports_every_task_metafile() -> None:
    with open(ROOT / 'model-index.yml', encoding='utf-8') as f:
        index = yaml.safe_load(f)
    assert index['Import'] == [f'configs/{t}/metafile.yml' for t in TASKS]


@pytest.mark.parametrize('task', list(TASKS))
def test_metafile_matches_configs_one_to_one(task: str) -> None:
    meta = load_metafile(task)
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names)), 'duplicate metafile entries'
    configs = sorted(p.stem for p in (CONFIG_DIR / task).glob('*.py') if p not in TEMPLATES)
    assert sorted(names) == configs
    collections = {c['Name'] for c in meta['Collections']}
    for m in meta['Models']:
        assert m['Config'] == f'configs/{task}/{m["Name"]}.py'
        assert m['In Collection'] in collections
        assert m['Results'] and all(r['Metrics'] for r in m['Results'])
        for r in m['Results']:
            assert all(isinstance(v, float) and 0 < v < 100 for v in r['Metrics'].values())
        assert m['Weights'] is None or re.fullmatch(r'[\w.]+\.pth', m['Weights'])
        for key in ('Parameters', 'FLOPs'):
            if key in m['Metadata']:
                parse_size(m['Metadata'][key])


@pytest.mark.parametrize('task', list(TASKS))
def test_readme_lists_every_config(task: str) -> None:
    readme = (CONFIG_DIR / task / 'README.md').read_text(encoding='utf-8')
    for m in load_metafile(task)['Models']:
        assert f'{m["Name"]}.py' in readme, f'{task}/README.md misses {m["Name"]}'
        if m['Weights']:
            assert m['Weights'] in readme, f'{task}/README.md misses {m["Weights"]}'


#: Where an official file is downloaded: its own Google Drive page (the Model column link of the
#: official README), or an official HuggingFace file of that exact name.
_FILE_LINK = r'https://drive\.google\.com/file/d/[\w-]{25,}/view\?usp=sharing'
_HF_LINK = r'https://huggingface\.co/Sense-X/[\w.-]+/(?:blob|resolve)/main/{}'
#: The official README directory of each task (rows without a file link its model zoo).
_OFFICIAL_DIR = {'cls': 'image_classification', 'det': 'object_detection',
                 'seg': 'semantic_segmentation', 'pose': 'pose_estimation',
                 'video': 'video_classification'}


@pytest.mark.parametrize('task', list(TASKS))
def test_metafile_rows_link_their_own_official_file(task: str) -> None:
    """A row with an official file links that file itself (not the README's model zoo, not a
    folder, not the training log's page); a row without one links its README's zoo."""
    for m in load_metafile(task)['Models']:
        link = m['Converted From']['Weights']
        if m['Weights']:
            assert (re.fullmatch(_FILE_LINK, link) or re.fullmatch(
                _HF_LINK.format(re.escape(m['Weights'])), link)), (m['Name'], link)
        else:
            assert link == (f'https://github.com/Sense-X/UniFormer/tree/main/'
                            f'{_OFFICIAL_DIR[task]}#model-zoo'), (m['Name'], link)


def test_one_official_file_one_link() -> None:
    """Rows sharing a file (the seg `_w32`/`_h32` test variants) share its link, and distinct
    files have distinct links (a link copied to the wrong row would show up here)."""
    file_link = set()
    for task in TASKS:
        file_link |= {(m['Weights'], m['Converted From']['Weights'])
                      for m in load_metafile(task)['Models'] if m['Weights']}
    files = [f for f, _ in file_link]
    links = [link for _, link in file_link]
    assert len(set(files)) == len(files), 'a file with two links'
    assert len(set(links)) == len(links), 'a link given to two files'
    assert len(files) >= 79  # every released file of the five tasks


def test_missing_official_file_error_names_its_download_link(tmp_path, monkeypatch) -> None:
    """A missing official file, through our loader and through mmengine's (``load_from``,
    mmpretrain's ``pretrained=True``): the error names the file's rows, its link and where to
    save it. Any other missing file keeps the plain error."""
    from mmengine.runner import CheckpointLoader

    from uniformer_mm.checkpoint.io import load_checkpoint_file
    monkeypatch.chdir(tmp_path)
    row = next(m for m in load_metafile('seg')['Models'] if m['Name'] == 'upernet_uniformer_b')
    missing = f'pretrained/{row["Weights"]}'
    for load in (load_checkpoint_file, CheckpointLoader.load_checkpoint):
        with pytest.raises(FileNotFoundError) as err:
            load(missing)
        text = str(err.value)
        assert f"{missing!r} does not exist" in text
        assert row['Converted From']['Weights'] in text and 'upernet_uniformer_b_w32' in text
        with pytest.raises(FileNotFoundError) as err:
            load('pretrained/my_own.pth')
        assert 'drive.google' not in str(err.value)


# ---------------------------------------------------------------------------------------------
# tools/analysis/get_flops.py
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def get_flops():
    import importlib.util
    spec = importlib.util.spec_from_file_location('get_flops',
                                                  ROOT / 'tools/analysis/get_flops.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sdpa_handle_counts_like_explicit_attention(get_flops) -> None:
    """The added handle gives what the counter finds for the same attention written with
    matmuls (which mmengine counts itself)."""
    import torch.nn.functional as F

    class Fused(torch.nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    class Explicit(torch.nn.Module):
        def forward(self, q, k, v):
            return ((q @ k.transpose(-2, -1)) * q.shape[-1]**-0.5).softmax(-1) @ v

    q, k, v = torch.rand(2, 3, 10, 8), torch.rand(2, 3, 7, 8), torch.rand(2, 3, 7, 5)
    fused = get_flops.count_complexity(Fused(), (q, k, v))
    explicit = get_flops.count_complexity(Explicit(), (q, k, v))
    assert fused['flops'] == explicit['flops'] == 2 * 3 * 10 * 7 * (8 + 5)
    assert not fused['unsupported_ops'].get('aten::scaled_dot_product_attention')


def test_get_flops_reproduces_the_paper_for_xxs_128(get_flops) -> None:
    """Light UniFormer-XXS at 128x128: 10.2M parameters and 0.43 GFLOPs in the paper."""
    path = CONFIG_DIR / 'cls/uniformer_xxs_in1k_128.py'
    result = get_flops.complexity_of_config(str(path))
    entry = metafile_entry(path)['Metadata']
    assert result['shape'] == (128, 128)
    assert within_paper(result['params'], entry['Parameters'], 0.01)
    assert within_paper(result['flops'], entry['FLOPs'], 0.05), result['flops']


def test_get_flops_tool_applies_cfg_options(get_flops) -> None:
    """The command line end to end: ``--cfg-options`` (parsed after argparse, as in the other
    tools) reaches the counted model."""
    import subprocess
    import sys
    path = CONFIG_DIR / 'cls/uniformer_xxs_in1k_128.py'
    r = subprocess.run([sys.executable, 'tools/analysis/get_flops.py', str(path), '--shape',
                        '64', '--cfg-options', 'model.head.num_classes=10'], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ten = get_flops.complexity_of_config(str(path), (64, ), dict(model=dict(head=dict(
        num_classes=10))))
    full = get_flops.complexity_of_config(str(path), (64, ))
    assert ten['params'] < full['params']
    assert f"Params:     {ten['params'] / 1e6:.2f} M" in r.stdout, r.stdout


def test_get_flops_video_views_and_shape(get_flops) -> None:
    """Video defaults come from the test pipeline: clip length, crop, clips x crops views."""
    cfg = load_config(CONFIG_DIR / 'video/uniformer_b_32_sthv2_prek400.py')
    assert get_flops.default_input_shape(cfg) == ((32, 224, 224), 3)
    cfg = load_config(CONFIG_DIR / 'video/uniformer_s_8x8_k400.py')
    assert get_flops.default_input_shape(cfg) == ((8, 224, 224), 4)
    cfg = load_config(CONFIG_DIR / 'det/mask_rcnn_uniformer_s.py')
    assert get_flops.default_input_shape(cfg) == ((800, 1280), 1)


def test_cascade_mask_rois_are_capped_like_mmdet_dummy_forward(get_flops) -> None:
    """Counting runs a cascade's mask heads on 100 RoIs (the paper's mmdet 2.x convention)
    while the head still gets one (zero-filled) prediction per RoI back."""
    seen = []

    class FakeCascadeHead(torch.nn.Module):
        def _mask_forward(self, stage, x, rois):
            seen.append(rois.shape[0])
            return dict(mask_preds=torch.ones(rois.shape[0], 80, 28, 28))

    head = FakeCascadeHead()
    get_flops.cap_cascade_mask_rois(head)
    out = head._mask_forward(0, None, torch.rand(150, 5))['mask_preds']
    assert seen == [100] and out.shape == (150, 80, 28, 28)
    assert out[:100].eq(1).all() and out[100:].eq(0).all()
    head._mask_forward(1, None, torch.rand(30, 5))
    assert seen == [100, 30]
