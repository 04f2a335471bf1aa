"""The official recipes (issue 13): every resolved config against docs/recipes/official_*.yml.

Each family of the tables lists configs and, per recipe parameter, the official value with its
source in Sense-X/UniFormer. Every config is resolved with mmengine (``_base_`` inheritance,
``mmpretrain::``-style bases included) and every key is asserted: equal to the official value,
or to ``ours`` where the table declares (and justifies) a deliberate deviation. Every model-zoo
config must belong to a family, and ``docs/recipes.md`` must be what the generator writes.
"""
import functools
import importlib.util
import math
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
TASK_DIRS = ('cls', 'det', 'seg', 'pose', 'video')
#: Tables that must exist; the others (e.g. official_video.yml) are checked when present.
REQUIRED_TABLES = ('official_image.yml', )
#: Task directories whose configs may lack a family while their table does not exist yet.
OPTIONAL_TABLE_OF_TASK = {'video': 'official_video.yml'}
MISSING = object()


def _load_generator():
    """``tools/misc/gen_recipes_doc.py``: the one loader of the tables (and the doc writer)."""
    path = ROOT / 'tools' / 'misc' / 'gen_recipes_doc.py'
    spec = importlib.util.spec_from_file_location('gen_recipes_doc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
FAMILIES = gen.load_families()


def _cases() -> List[Tuple[Dict[str, Any], Path]]:
    return [(fam, path) for fam in FAMILIES for path in gen.family_configs(fam)]


CASES = _cases()


# ---------------------------------------------------------------------------------------------
# Key paths and values
# ---------------------------------------------------------------------------------------------
_SEGMENT = re.compile(r'([^.\[\]]*)((?:\[[^\]]*\])*)')


def split_key(key: str) -> List[str]:
    """``'a.b[type=X.Y][0].c'`` -> ``['a', 'b', '[type=X.Y]', '[0]', 'c']`` (dots in [] kept)."""
    parts, depth, cur = [], 0, ''
    for ch in key:
        if ch == '.' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        depth += (ch == '[') - (ch == ']')
        cur += ch
    parts.append(cur)
    out = []
    for part in parts:
        m = _SEGMENT.fullmatch(part)
        if m is None or (not m[1] and not m[2]):
            raise ValueError(f'bad key {key!r} near {part!r}')
        if m[1]:
            out.append(m[1])
        out += re.findall(r'\[[^\]]*\]', m[2])
    return out


def lookup(cfg: Any, key: str) -> Any:
    """The value at ``key`` in a resolved config, or ``MISSING``.

    ``[type=X]`` selects the first list element whose ``type`` ends with ``X``, ``[N]`` the
    N-th element and ``[*]`` every element (the rest of the key is looked up in each).
    """
    node = cfg.to_dict() if isinstance(cfg, Config) else cfg
    return _lookup(node, split_key(key))


def _lookup(node: Any, parts: List[str]) -> Any:
    for n, part in enumerate(parts):
        if part.startswith('['):
            sel = part[1:-1]
            if not isinstance(node, (list, tuple)):
                return MISSING
            if sel == '*':
                return [_lookup(e, parts[n + 1:]) for e in node]
            if sel.startswith('type='):
                want = sel[len('type='):]
                node = next((e for e in node if isinstance(e, dict)
                             and str(e.get('type', '')).endswith(want)), MISSING)
            else:
                i = int(sel)
                node = node[i] if -len(node) <= i < len(node) else MISSING
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
        if node is MISSING:
            return MISSING
    return node


def plain(value: Any) -> Any:
    """ConfigDicts as dicts, tuples as lists, recursively; without mmengine's ``_scope_`` tags
    (added to the dicts of ``mmpretrain::``-style bases)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def same(ours: Any, official: Any) -> bool:
    """Equality after normalisation; floats to 1e-9 relative; booleans only equal booleans."""
    if official == gen.ABSENT:
        return ours is MISSING or ours is None
    if ours is MISSING or official is MISSING:
        return False
    if isinstance(ours, bool) or isinstance(official, bool):
        return type(ours) is type(official) and ours == official
    if isinstance(ours, (int, float)) and isinstance(official, (int, float)):
        return math.isclose(ours, official, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(ours, dict) and isinstance(official, dict):
        return ours.keys() == official.keys() and all(same(ours[k], official[k]) for k in ours)
    if isinstance(ours, list) and isinstance(official, list):
        return len(ours) == len(official) and all(map(same, ours, official))
    return type(ours) is type(official) and ours == official


@functools.lru_cache(maxsize=None)
def resolve(path: str) -> Config:
    """The resolved config (parsing is the slow part: once per config)."""
    return Config.fromfile(path)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_required_tables_exist():
    present = {p.name for p in gen.table_files()}
    missing = [t for t in REQUIRED_TABLES if t not in present]
    assert not missing, f'docs/recipes/{missing} missing'


@pytest.mark.parametrize('family,path', CASES,
                         ids=[f'{f["name"]}:{p.parent.name}/{p.stem}' for f, p in CASES])
def test_config_follows_official_recipe(family: Dict[str, Any], path: Path):
    cfg = resolve(str(path))
    stems = [p.stem for p in gen.family_configs(family)]
    errors = []
    for p in family['params']:
        expected_field = 'ours' if 'ours' in p else 'official'
        try:
            expected = gen.value_for(p[expected_field], path.stem, stems)
            official = gen.value_for(p['official'], path.stem, stems)
        except KeyError as e:
            errors.append(f'{p["key"]}: {e.args[0]} in "{expected_field}"')
            continue
        ours = plain(lookup(cfg, p['key']))
        if not same(ours, expected):
            shown = 'missing' if ours is MISSING else repr(ours)
            dev = (f', declared deviation ours={expected!r}' if 'ours' in p else '')
            errors.append(f'{p["key"]}: ours {shown}, official {official!r}{dev} '
                          f'(source {p["source"]})')
    rel = path.relative_to(ROOT)
    assert not errors, (f'{rel} (family {family["name"]}, {family["file"]}) differs from the '
                        'official recipe:\n  ' + '\n  '.join(errors))


def test_every_config_has_a_family():
    covered = {p.resolve() for _, p in CASES}
    present = {p.name for p in gen.table_files()}
    orphans = []
    for task in TASK_DIRS:
        optional = OPTIONAL_TABLE_OF_TASK.get(task)
        if optional is not None and optional not in present:
            continue  # that table is not written yet; its configs are checked once it exists
        # The fine-tuning templates (finetune_*.py) train on the user's data: no official
        # recipe exists for them; they inherit the paper configs' recipes, which are checked.
        orphans += [str(p.relative_to(ROOT)) for p in sorted((ROOT / 'configs' / task).glob('*.py'))
                    if p.resolve() not in covered and not p.name.startswith('finetune_')]
    assert not orphans, f'configs in no recipe family of docs/recipes/*.yml: {orphans}'


def test_families_configs_are_model_zoo_configs():
    allowed = {ROOT / 'configs' / t for t in TASK_DIRS}
    outside = [f'{f["name"]}: {p}' for f, p in CASES if p.parent not in allowed]
    assert not outside, outside


def test_recipes_doc_up_to_date():
    doc = gen.DOC
    assert doc.exists(), 'docs/recipes.md missing: run python tools/misc/gen_recipes_doc.py'
    assert doc.read_text(encoding='utf-8') == gen.render(FAMILIES), (
        'docs/recipes.md is out of date with docs/recipes/*.yml: run '
        'python tools/misc/gen_recipes_doc.py')


# --- the checker itself ----------------------------------------------------------------------
def test_lookup_selectors():
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='mmpretrain.RandomResizedCrop', scale=(224, 224)),
            dict(type='RandAugment', hparams=dict(pad_val=[104, 116, 124])),
        ])),
        custom_hooks=[dict(type='EMAHook', momentum=4e-5)],
        optim_wrapper=dict(clip_grad=None)))
    pipe = 'train_dataloader.dataset.pipeline'
    assert plain(lookup(cfg, f'{pipe}[type=RandomResizedCrop].scale')) == [224, 224]
    assert lookup(cfg, f'{pipe}[type=mmpretrain.RandomResizedCrop].scale') is not MISSING
    assert plain(lookup(cfg, f'{pipe}[2].hparams.pad_val')) == [104, 116, 124]
    assert lookup(cfg, f'{pipe}[type=CenterCrop].crop_size') is MISSING
    assert lookup(cfg, f'{pipe}[7]') is MISSING
    assert lookup(cfg, 'custom_hooks[type=EMAHook].momentum') == 4e-5
    assert lookup(cfg, f'{pipe}[*].type') == [
        'LoadImageFromFile', 'mmpretrain.RandomResizedCrop', 'RandAugment']
    assert lookup(cfg, f'{pipe}[*].scale')[0] is MISSING
    assert lookup(cfg, 'train_cfg.max_epochs') is MISSING
    assert same(lookup(cfg, 'optim_wrapper.clip_grad'), gen.ABSENT)
    assert same(lookup(cfg, 'optim_wrapper.nothing'), gen.ABSENT)
    assert not same(lookup(cfg, 'custom_hooks[type=EMAHook].momentum'), gen.ABSENT)


def test_same_normalisation():
    assert same(plain((224, 224)), [224, 224])
    assert same(1e-3, 0.001 * (1 + 1e-12))
    assert not same(1e-3, 1.0001e-3)
    assert same(300, 300.0)
    assert not same(True, 1)
    assert not same(MISSING, 0)
    assert not same('bicubic', 'bilinear')
    assert same({'a': [1, 2.0]}, {'a': [1, 2]})
    assert not same({'a': 1}, {'a': 1, 'b': 2})


def test_table_values():
    stems = ['uniformer_s_in1k', 'uniformer_b_in1k']
    per = {'uniformer_b_in1k': 0.3, '*': 0.1}
    assert gen.value_for(per, 'uniformer_b_in1k', stems) == 0.3
    assert gen.value_for(per, 'uniformer_s_in1k', stems) == 0.1
    with pytest.raises(KeyError):
        gen.value_for({'uniformer_b_in1k': 0.3}, 'uniformer_s_in1k', stems)
    # A mapping value whose keys are not config names is a value, not a per-config mapping.
    assert gen.value_for({'type': 'EMAHook'}, 'uniformer_s_in1k', stems) == {'type': 'EMAHook'}
    assert split_key('a.b[type=mmpretrain.X][0].c') == ['a', 'b', '[type=mmpretrain.X]',
                                                        '[0]', 'c']
    loaded = gen.yaml.load('x: 1e-5\ny: 5.0e-4\nz: 300', Loader=gen._SafeLoaderWithFloats)
    assert loaded == {'x': 1e-5, 'y': 5e-4, 'z': 300}


# --- schedules: mmengine's form of the official mmcv 1.x learning-rate policies -------------
def _mmcv_fpn(k: int, base: float = 2e-4, total: int = 80000) -> float:
    """fpn_seg: CosineAnnealing (min_lr_ratio 1e-8) over all iterations, times mmcv's linear
    warm-up (1000 iterations from 0.1): ``lr x (1 - (1 - k / 1000) (1 - 0.1))``."""
    lr = base * 1e-8 + (base - base * 1e-8) * (1 + math.cos(math.pi * k / total)) / 2
    return lr * (1 - (1 - k / 1000) * (1 - 0.1)) if k < 1000 else lr


def _mmcv_upernet(k: int, base: float = 6e-5, total: int = 160000) -> float:
    """UperNet (Swin recipe): poly (power 1, min 0) from iteration 0, times the linear warm-up
    over 1500 iterations from 1e-6."""
    lr = base * (1 - k / total)
    return lr * (1 - (1 - k / 1500) * (1 - 1e-6)) if k < 1500 else lr


def _mmcv_step_warmup(k: int, base: float) -> float:
    """det / pose: the step policy's linear warm-up over 500 iterations from 0.001 (epoch 0)."""
    return base * (1 - (1 - k / 500) * (1 - 0.001)) if k < 500 else base


def stepped_schedulers(cfg: Any, keep: Callable[[dict], bool]) -> Tuple[Any, list]:
    """An optimizer of one parameter at the config's lr and the config's schedulers on it, as
    mmengine builds them; ``keep(sched)`` selects (and may pop keys of) each scheduler dict."""
    import torch
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr))
    schedulers = [PARAM_SCHEDULERS.get(sched.pop('type'))(optim, **sched)
                  for sched in plain(cfg.param_scheduler) if keep(sched)]
    return optim, schedulers


@pytest.mark.parametrize('path,official,steps', [
    ('configs/seg/fpn_uniformer_s.py', _mmcv_fpn, 5000),
    ('configs/seg/upernet_uniformer_s.py', _mmcv_upernet, 5000),
    ('configs/det/mask_rcnn_uniformer_s.py', _mmcv_step_warmup, 700),
    ('configs/pose/topdown_uniformer_s_256x192.py', _mmcv_step_warmup, 700),
])
def test_iteration_schedules_follow_mmcv(path: str, official, steps: int):
    """The configs' iteration-based schedulers, stepped as mmengine's runner does, give the lr
    of the official mmcv policy at every iteration (epoch-based schedulers left out: they do not
    move within the first epoch)."""
    cfg = resolve(str(ROOT / path))
    base = cfg.optim_wrapper.optimizer.lr
    optim, schedulers = stepped_schedulers(cfg, lambda sched: not sched.pop('by_epoch', True))
    for k in range(steps):
        lr = optim.param_groups[0]['lr']
        want = official(k, base)
        assert math.isclose(lr, want, rel_tol=1e-5), f'{path}: iteration {k}: lr {lr}, official {want}'
        optim.step()
        for sched in schedulers:
            sched.step()


def _timm_cosine(t: int, base: float, warmup: int, total: int) -> float:
    """timm's CosineLRScheduler (warmup_lr_init 1e-6, lr_min 1e-5, warmup_prefix False) at
    epoch ``t``; after ``total`` epochs (the cool-down) it stays at lr_min."""
    if t < warmup:
        return 1e-6 + t * (base - 1e-6) / warmup
    if t >= total:
        return 1e-5
    return 1e-5 + 0.5 * (base - 1e-5) * (1 + math.cos(math.pi * t / total))


@pytest.mark.parametrize('path,warmup,total', [
    ('configs/cls/uniformer_b_in1k.py', 5, 300),
    ('configs/cls/uniformer_xxs_in1k_160.py', 30, 600),
    ('configs/cls/uniformer_l_ls_tl_in1k.py', 5, 300),
])
def test_epoch_schedules_follow_timm(path: str, warmup: int, total: int):
    """The classification schedulers, stepped once per epoch as mmengine's runner does, give
    timm's lr in every epoch from the end of the warm-up (cool-down included; to 1e-4 relative:
    the chained cosine carries a trace of its eta_min through the warm-up); during the warm-up
    timm's ramp is multiplied by the cosine, i.e. at most 1 - cos-factor(warm-up) off."""
    cfg = resolve(str(ROOT / path))
    base = cfg.optim_wrapper.optimizer.lr

    def per_epoch(sched: dict) -> bool:
        assert sched.pop('by_epoch') and not sched.pop('convert_to_iter_based', False), sched
        return True
    optim, schedulers = stepped_schedulers(cfg, per_epoch)
    warmup_tol = 1 - (1 + math.cos(math.pi * warmup / total)) / 2
    for t in range(cfg.train_cfg.max_epochs):
        lr = optim.param_groups[0]['lr']
        want = _timm_cosine(t, base, warmup, total)
        tol = warmup_tol if t < warmup else 1e-4
        assert math.isclose(lr, want, rel_tol=tol), f'{path}: epoch {t}: lr {lr}, timm {want}'
        optim.step()
        for sched in schedulers:
            sched.step()
