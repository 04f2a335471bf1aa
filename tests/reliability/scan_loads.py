#!/usr/bin/env python
"""Find every call that deserialises a file in the package and the tools, and judge it.

The rule (issue 9): no code path unpickles a file without ``weights_only=True``. The scan
parses the sources (``ast``, so strings and comments do not count) and flags:

* ``torch.load(...)``, ``torch.hub.load_state_dict_from_url(...)``, ``load_url(...)`` without
  the keyword ``weights_only=True`` (a literal ``True``; ``weights_only=flag`` is not
  accepted because the reader cannot see its value);
* calls that unpickle or run code by design: ``pickle.load(s)``, ``torch.hub.load``,
  ``torch.jit.load``, ``numpy.load(..., allow_pickle=True)``, ``yaml.load`` without a safe
  loader, ``mmengine.load`` / ``fileio.load`` (which unpickles ``.pkl``).

:data:`REVIEWED` lists the deliberate exceptions with their reason; a finding there is
reported as ``reviewed``, not as a violation.

Usage::

    cd tests && python -m reliability.scan_loads     # exit status 1 on a violation
"""
import ast
import os
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: What the scan covers: the installed package, every script users run and this harness
#: (which the report tool runs).
SCANNED = ('uniformer_mm', 'tools', 'setup.py', 'tests/reliability')

#: (file, enclosing function) -> why the call is acceptable.
REVIEWED: Dict[Tuple[str, str], str] = {
    ('tests/reliability/cases.py', 'payload_is_live'):
        'opens the test payload this module just wrote, in a scratch directory, without '
        'weights_only on purpose: it proves that the refusal cases would fail if a loader '
        'lost its weights_only=True',
    ('uniformer_mm/deploy/export.py', 'export_torchscript'):
        'reads back only the TorchScript archive this call has just traced and written, to '
        'prove the saved file runs at other sizes; uniformer_mm offers no loader of '
        'TorchScript files (torch.jit.load runs an archive\'s code by design)',
}

_NEEDS_WEIGHTS_ONLY = {'torch.load', 'load_state_dict_from_url', 'load_url'}
_FORBIDDEN = {'pickle.load', 'pickle.loads', 'torch.hub.load', 'torch.jit.load',
              'mmengine.load', 'fileio.load', 'dill.load', 'joblib.load'}


@dataclass
class Finding:
    """One deserialising call."""
    path: str
    line: int
    function: str
    call: str
    verdict: str  # 'ok', 'reviewed' or 'VIOLATION'
    reason: str


def _name(node: ast.AST) -> str:
    """Dotted name of a call target (``torch.hub.load_state_dict_from_url``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f'{base}.{node.attr}' if base else node.attr
    return ''


def _kw(call: ast.Call, name: str) -> Optional[ast.AST]:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: Optional[ast.AST]) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _judge(name: str, call: ast.Call) -> Optional[Tuple[str, str]]:
    """``(verdict, reason)`` for a deserialising call; None for any other call."""
    short = name.split('.')[-1]
    if name in _NEEDS_WEIGHTS_ONLY or short in ('load_state_dict_from_url', 'load_url') or (
            short == 'load' and name.endswith('torch.load')):
        if _is_true(_kw(call, 'weights_only')):
            return 'ok', 'weights_only=True'
        return 'VIOLATION', 'no literal weights_only=True'
    if name in _FORBIDDEN or any(name.endswith('.' + f) for f in _FORBIDDEN):
        return 'VIOLATION', 'unpickles or runs code by design'
    if short == 'load' and name.split('.')[0] in ('np', 'numpy'):
        if _is_true(_kw(call, 'allow_pickle')):
            return 'VIOLATION', 'numpy.load(allow_pickle=True)'
        return 'ok', 'numpy.load without pickles'
    if name in ('yaml.load', 'yaml.load_all'):
        loader = _name(_kw(call, 'Loader')) if _kw(call, 'Loader') is not None else ''
        if 'Safe' in loader:
            return 'ok', f'Loader={loader}'
        return 'VIOLATION', 'yaml.load without a safe loader'
    return None


def _functions(tree: ast.AST) -> Iterator[Tuple[ast.Call, str]]:
    """Every call with the name of its innermost enclosing function."""
    def visit(node: ast.AST, func: str) -> Iterator[Tuple[ast.Call, str]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef,
                                                     ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call):
                yield child, func
            yield from visit(child, inner)
    yield from visit(tree, '<module>')


def python_files(root: str = ROOT, scanned: Sequence[str] = SCANNED) -> List[str]:
    """The ``.py`` files under ``scanned`` (relative to ``root``)."""
    files = []
    for entry in scanned:
        path = osp.join(root, entry)
        if osp.isfile(path):
            files.append(path)
            continue
        for d, _, names in os.walk(path):
            files += [osp.join(d, n) for n in names if n.endswith('.py')]
    return sorted(files)


def scan(root: str = ROOT, scanned: Sequence[str] = SCANNED) -> List[Finding]:
    """All deserialising calls in ``scanned``, judged."""
    findings = []
    for path in python_files(root, scanned):
        rel = osp.relpath(path, root)
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename=rel)
        for call, func in _functions(tree):
            name = _name(call.func)
            judged = _judge(name, call) if name else None
            if judged is None:
                continue
            verdict, reason = judged
            if verdict == 'VIOLATION' and (rel, func) in REVIEWED:
                verdict, reason = 'reviewed', REVIEWED[(rel, func)]
            findings.append(Finding(rel, call.lineno, func, name, verdict, reason))
    return findings


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the findings; exit 1 if any is a violation."""
    findings = scan()
    for f in findings:
        print(f'{f.verdict:9s} {f.path}:{f.line} {f.call}() in {f.function}: {f.reason}')
    bad = [f for f in findings if f.verdict == 'VIOLATION']
    print(f'{len(findings)} deserialising calls, {len(bad)} violations')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
