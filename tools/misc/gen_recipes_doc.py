#!/usr/bin/env python
"""Generate ``docs/recipes.md`` from the official-recipe tables ``docs/recipes/official_*.yml``.

The tables record, per family of configs sharing one recipe, every recipe value of the official
Sense-X/UniFormer experiments with its source (``file:line`` at the pinned commit) and, where our
config deliberately differs, our value and why. ``tests/test_recipes.py`` asserts every resolved
config against them and that ``docs/recipes.md`` is what this script writes.

Usage::

    python tools/misc/gen_recipes_doc.py            # rewrite docs/recipes.md
    python tools/misc/gen_recipes_doc.py --check    # exit 1 if docs/recipes.md is out of date

Table format (one file per task group)::

    families:
      - name: cls_deit                       # unique family name
        title: ImageNet-1k, DeiT-style recipe
        configs: [configs/cls/uniformer_s_in1k.py, configs/cls/uniformer_b_*_in1k.py]  # globs
        official: image_classification/exp/uniformer_small/run.sh   # main experiment file(s)
        params:
          - key: train_cfg.max_epochs        # dotted path into the resolved config
            official: 300                    # a value, or {config_stem or pattern: value}
            source: image_classification/main.py:L123     # or L120-L125
          - key: optim_wrapper.clip_grad
            official: <absent>               # the key must not exist (or be None)
            source: ...
          - key: custom_hooks[type=EMAHook].momentum
            official: 4.0e-5
            note: 1 - decay 0.99996          # optional: how the official value reads there
            source: ...
          - key: ...
            official: ...
            ours: ...                        # only with a deliberate deviation
            deviation: why ours differs and why that is right

Key syntax: ``a.b[type=X].c[0]``; ``[type=X]`` selects the first list element whose ``type``
ends with ``X`` (so ``RandomResizedCrop`` matches ``mmpretrain.RandomResizedCrop``), ``[N]``
the N-th element, ``[*]`` every element (``pipeline[*].type``: the list of transform types).
"""
import argparse
import fnmatch
import glob
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
TABLE_DIR = ROOT / 'docs' / 'recipes'
DOC = ROOT / 'docs' / 'recipes.md'
#: The official code the tables cite.
OFFICIAL_REPO = 'https://github.com/Sense-X/UniFormer'
OFFICIAL_COMMIT = '52a0415e4e0dda880fab8ffbc710e4d8e171149d'
#: ``official``/``ours`` value meaning "this key is not set (missing or None)".
ABSENT = '<absent>'
#: Key of a per-config mapping that applies to the configs it does not name.
DEFAULT_KEY = '*'
SOURCE_RE = re.compile(r'^(?P<path>[^:\s]+):L(?P<start>\d+)(?:-L?(?P<end>\d+))?$')


class _SafeLoaderWithFloats(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-5`` as a string (its floats need a dot); recipes write it that way."""


_SafeLoaderWithFloats.add_implicit_resolver(
    'tag:yaml.org,2002:float',
    re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$''', re.X),
    list('-+0123456789.'))


def table_files() -> List[Path]:
    """The official-recipe tables, sorted."""
    return sorted(TABLE_DIR.glob('official_*.yml'))


def load_table(path: Path) -> List[Dict[str, Any]]:
    """The families of one table file, validated (raises ``ValueError`` naming the problem)."""
    with open(path, encoding='utf-8') as f:
        data = yaml.load(f, Loader=_SafeLoaderWithFloats)
    if not isinstance(data, dict) or not isinstance(data.get('families'), list):
        raise ValueError(f'{path}: expected a mapping with a "families" list')
    for fam in data['families']:
        where = f'{path.name}: family {fam.get("name")!r}'
        for field in ('name', 'title', 'configs', 'official', 'params'):
            if field not in fam:
                raise ValueError(f'{where}: missing "{field}"')
        if not fam['params']:
            raise ValueError(f'{where}: no params (a family must check something)')
        for p in fam['params']:
            for field in ('key', 'official', 'source'):
                if field not in p:
                    raise ValueError(f'{where}, param {p.get("key")!r}: missing "{field}"')
            for src in _as_list(p['source']):
                if not SOURCE_RE.match(src):
                    raise ValueError(f'{where}, param {p["key"]!r}: source {src!r} is not '
                                     '"path:L<line>" or "path:L<first>-L<last>"')
            if ('ours' in p) != bool(p.get('deviation')):
                raise ValueError(f'{where}, param {p["key"]!r}: "ours" and a non-empty '
                                 '"deviation" go together')
    return data['families']


def load_families() -> List[Dict[str, Any]]:
    """The families of every table file, each with ``file`` (the table it came from)."""
    families = []
    for path in table_files():
        for fam in load_table(path):
            families.append({**fam, 'file': path.name})
    names = [f['name'] for f in families]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'family names used twice: {dup}')
    return families


def family_configs(family: Dict[str, Any], root: Path = ROOT) -> List[Path]:
    """The config files of a family (its globs expanded, relative to the repository root)."""
    paths = []
    for pattern in _as_list(family['configs']):
        matched = sorted(glob.glob(str(root / pattern)))
        if not matched:
            raise ValueError(f'family {family["name"]!r}: {pattern!r} matches no config')
        paths += [Path(m) for m in matched if Path(m) not in paths]
    return paths


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _matches(pattern: str, stem: str) -> bool:
    return pattern == stem or fnmatch.fnmatchcase(stem, pattern)


def is_per_config(value: Any, stems: List[str]) -> bool:
    """Whether ``value`` is a per-config mapping (and not a mapping value).

    Its keys are config stems, ``fnmatch`` patterns of stems (``uniformer_xxs_*``) or ``'*'``
    (every other config); each key must name at least one config of the family.
    """
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and any(_matches(k, s) for s in stems) for k in value))


def value_for(value: Any, stem: str, stems: List[str]) -> Any:
    """The value of ``official``/``ours`` that applies to the config ``stem``.

    A per-config mapping gives the value of the exact stem, else of the first pattern that
    matches it (in the mapping's order, ``'*'`` last); per-config mappings may also sit inside
    a value (``{type: AdamW, lr: {'*_b_*': 5.0e-4, '*': 2.0e-3}}``). Raises ``KeyError`` if
    no key applies.
    """
    if is_per_config(value, stems):
        if stem in value:
            return value_for(value[stem], stem, stems)
        for key in sorted(value, key=lambda k: k == DEFAULT_KEY):  # stable: '*' last
            if _matches(key, stem):
                return value_for(value[key], stem, stems)
        raise KeyError(f'no value for {stem} (and no {DEFAULT_KEY!r} default)')
    if isinstance(value, dict):
        return {k: value_for(v, stem, stems) for k, v in value.items()}
    if isinstance(value, list):
        return [value_for(v, stem, stems) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    """One value as inline code."""
    if value == ABSENT:
        return '*not set*'
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text[:-4].strip() if text.endswith('\n...') or text.endswith(' ...') else text
    return '`' + text.replace('|', '\\|') + '`'


def _fmt_value(value: Any, stems: List[str]) -> str:
    """A value, or a per-config mapping as ``stem: value`` lines."""
    if not is_per_config(value, stems):
        return _fmt(value)
    return '<br>'.join(f'{"others" if k == DEFAULT_KEY else k}: {_fmt(v)}'
                       for k, v in value.items())


def _link(source: str) -> str:
    m = SOURCE_RE.match(source)
    anchor = f'#L{m["start"]}' + (f'-L{m["end"]}' if m['end'] else '')
    return f'[{source}]({OFFICIAL_REPO}/blob/{OFFICIAL_COMMIT}/{m["path"]}{anchor})'


def render(families: List[Dict[str, Any]], root: Path = ROOT) -> str:
    """The whole ``docs/recipes.md``."""
    out = [
        '# Official recipes and our configs',
        '',
        '<!-- Generated by tools/misc/gen_recipes_doc.py from docs/recipes/official_*.yml;'
        ' do not edit by hand. -->',
        '',
        'Every recipe value of the official experiments '
        f'([Sense-X/UniFormer@{OFFICIAL_COMMIT[:7]}]({OFFICIAL_REPO}/tree/{OFFICIAL_COMMIT})), '
        'next to the file and line it comes from. `tests/test_recipes.py` resolves each of our '
        'configs (after `_base_` inheritance) and asserts every value below: the official one, '
        'or ours where a deliberate deviation is declared (listed and justified at the end). '
        'Keys are paths into the resolved config; `[type=X]` is the first list element whose '
        'type ends with `X`, `[*]` every element.',
        '',
    ]
    deviations = []
    for fam in families:
        stems = [p.stem for p in family_configs(fam, root)]
        out += [f'## {fam["title"]}', '']
        out += ['Configs: ' + ', '.join(f'`{s}`' for s in stems) + '.  ',
                'Official experiments: ' + ', '.join(f'`{o}`' for o in _as_list(fam['official']))
                + '.', '']
        if fam.get('notes'):
            out += [fam['notes'].strip(), '']
        out += ['| Parameter | Official | Source | Ours |', '| --- | --- | --- | --- |']
        for p in fam['params']:
            if 'ours' in p:
                deviations.append((fam, p, stems))
                ours = (_fmt_value(p['ours'], stems)
                        + f' ([deviation](#{_anchor(fam["name"], p["key"])}))')
            else:
                ours = 'same'
            sources = '<br>'.join(_link(s) for s in _as_list(p['source']))
            official = _fmt_value(p['official'], stems)
            if p.get('note'):
                official += ' (' + ' '.join(str(p['note']).split()).replace('|', '\\|') + ')'
            out.append(f'| `{p["key"]}` | {official} | {sources} | {ours} |')
        out.append('')
    out += ['## Deliberate deviations', '']
    if not deviations:
        out += ['None.', '']
    for fam, p, stems in deviations:
        out += [f'<a id="{_anchor(fam["name"], p["key"])}"></a>',
                f'**{fam["title"]}: `{p["key"]}`**: official '
                f'{_fmt_value(p["official"], stems)}, ours {_fmt_value(p["ours"], stems)}.  ',
                ' '.join(p['deviation'].split()), '']
    return '\n'.join(out).rstrip() + '\n'


def _anchor(family: str, key: str) -> str:
    return 'dev-' + re.sub(r'[^a-z0-9]+', '-', f'{family}-{key}'.lower()).strip('-')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='do not write; exit 1 if docs/recipes.md is out of date')
    args = parser.parse_args(argv)
    text = render(load_families())
    if args.check:
        current = DOC.read_text(encoding='utf-8') if DOC.exists() else ''
        if current != text:
            print(f'{DOC.relative_to(ROOT)} is out of date: run '
                  'python tools/misc/gen_recipes_doc.py', file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding='utf-8')
    print(f'wrote {DOC.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
