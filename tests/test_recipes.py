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
from typing import Any, Dict, List, Tuple

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
    """The value at ``key`` in a resolved config, or ``MISSING``."""
    node = cfg.to_dict() if isinstance(cfg, Config) else cfg
    for part in split_key(key):
        if part.startswith('['):
            sel = part[1:-1]
            if not isinstance(node, (list, tuple)):
                return MISSING
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
    if ours is MISSING:
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
        orphans += [str(p.relative_to(ROOT)) for p in sorted((ROOT / 'configs' / task).glob('*.py'))
                    if p.resolve() not in covered]
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
    loaded = gen.yaml.load('x: 1e-5\ny: 5.0e-4\nz: 300', Loader=gen._Loader)
    assert loaded == {'x': 1e-5, 'y': 5e-4, 'z': 300}
