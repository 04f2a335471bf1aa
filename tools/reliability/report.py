#!/usr/bin/env python
"""Run every reliability and security check (issues 9, 17) and write ``docs/reliability.md``.

Steps (about 15 minutes on 2 shared CPU cores; everything on CPU, generated demo data):

1. ``tests/reliability/kill_resume.py``: SIGKILL mid-epoch + ``--resume auto`` for the demo
   config of each toolbox, detection again with two data-loader workers, the same runs without
   ``ExactResumeHook`` (control), and a kill that leaves the newest checkpoint half-written;
2. ``tests/reliability/determinism.py``: two runs with the same seed (``deterministic=True``)
   per toolbox;
3. ``tests/reliability/cases.py``: every bad, odd and unsafe input through its entry point;
4. ``tests/reliability/scan_loads.py``: every deserialising call of the package and the tools;
5. the checkpoint allow-list;
6. ``run_save_kills``: SIGKILL inside checkpoint saves (five points, max_keep_ckpts 1 and 2).

Usage::

    python tools/reliability/report.py                       # writes docs/reliability.md
    python tools/reliability/report.py --quick --out /tmp/r.md   # no training runs
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
# The harness is the test suite's (tests/reliability/, imported there as ``reliability``); the
# report runs the same code so that what it prints is what the tests assert.
sys.path.insert(0, osp.join(ROOT, 'tests'))

from reliability import cases, determinism, kill_resume, scan_loads  # noqa: E402


def _cell(text: Any, limit: int = 420) -> str:
    """A markdown table cell: one line, pipes escaped, long messages shortened."""
    s = ' '.join(str(text).split())
    s = s if len(s) <= limit else s[:limit - 1] + '…'
    return s.replace('|', '\\|')


def environment() -> Dict[str, str]:
    """Versions and machine of this run."""
    import mmengine
    import torch
    out = dict(date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
               python=platform.python_version(), torch=torch.__version__,
               mmengine=mmengine.__version__, cpu_count=str(os.cpu_count()),
               machine=platform.machine())
    for mod in ('mmcv', 'mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction'):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            out[mod] = 'not installed'
    try:
        out['commit'] = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        out['commit'] += ' (+ uncommitted changes)' if dirty else ''
    except OSError:
        out['commit'] = 'unknown'
    return out


# ------------------------------------------------------------------------------ sections
def resume_section(results: List[Dict[str, Any]], threads: Dict[int, Any]) -> List[str]:
    """The kill/resume tables and the explanation of the mechanism."""
    lines = [
        '## 1. Resume after SIGKILL', '',
        'Command: `cd tests && python -m reliability.kill_resume --no-hook --torn` (all five '
        'toolboxes; `--toolboxes cls` for one). Each row is three `tools/train.py` processes '
        'on the demo config of the toolbox (`configs/demo/`, shortened by a derived config): '
        'an uninterrupted *reference* run; a run that parks after iteration *kill* '
        '(`tests/reliability/kill_point.py`) and gets `SIGKILL` on its process group; and '
        '`tools/train.py --resume auto` in the killed run\'s work dir. The final checkpoints '
        'are compared tensor by tensor (model weights and buffers, then optimizer state), '
        'the per-iteration losses after the resume point and the final validation metrics '
        'exactly (`==`). Positions are `epoch e, i/n`: *i* of the *n* iterations of an epoch '
        '(one pass over the training set) done. One thread per process (`OMP_NUM_THREADS=1`).',
        '',
        '| toolbox | hook | workers | resumed from | killed after | lost iters | model tensors '
        'differing | optimizer entries differing | max abs diff | losses equal | metrics '
        'equal | final metrics (resumed run) | verdict |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results:
        if not r.get('runs_ok'):
            lines.append(f"| {r['toolbox']} | {r['hook']} | {r.get('num_workers', 0)} | | | "
                         '| | | | | | | FAILED TO RUN |')
            continue
        w = r['weights']
        name = r['toolbox'] + (' (newest checkpoint torn)' if r.get('torn') else '')
        verdict = ('**identical**' if r['passed'] else
                   ('differs (expected without the hook)' if not r['hook'] else '**FAILED**'))
        if not r['hook'] and r['passed']:
            verdict = 'identical (nothing random in training)'
        metrics = {k: round(v, 4) if isinstance(v, float) else v
                   for k, v in list(r['metrics']['resumed'].items())[:4]}
        lines.append(
            f"| {name} | {'yes' if r['hook'] else 'no'} | {r.get('num_workers', 0)} | "
            f"{r['resumed_from_iter']} ({r['resume_point']}) | {r['killed']['last_iter']} "
            f"({r['kill_point']}) | {r['lost_iters']} | {w['state_dict']['different']}/"
            f"{w['state_dict']['entries']} | {w['optimizer']['different']}/"
            f"{w['optimizer']['entries']} | "
            f"{max(w['state_dict']['max_abs_diff'], w['optimizer']['max_abs_diff']):.3g} | "
            f"{r['losses_after_resume']['equal']}/{r['losses_after_resume']['steps']} | "
            f"{'yes' if r['same_metrics'] else 'no'} | {_cell(metrics, 160)} | {verdict} |")
    controls = [r for r in results if not r['hook'] and r.get('runs_ok')]
    same = [r['toolbox'] for r in controls if r['passed']]
    differ = [r['toolbox'] for r in controls if not r['passed']]
    lines += ['', 'Metrics after a dozen iterations of a tiny model are low (pose AP is 0), so '
              'they agree easily; the tensor-by-tensor comparison is the strong evidence.']
    lines += ['', RESUME_TEXT.format(
        same_without=', '.join(same) or 'no demo', differ_without=', '.join(differ) or 'none',
        threads_1=threads.get(1), threads_2=threads.get(2))]
    return lines


RESUME_TEXT = '''### How resuming works, and what makes it exact

What mmengine 0.10.7 does on `--resume` (read in `mmengine/runner/runner.py` and `loops.py`):

* `Runner.resume` restores the model, the optimizer, the parameter schedulers, the message hub
  and the loop counters (`epoch`, `iter`) from the checkpoint, and the seed recorded in its
  `meta` (re-seeding only if it differs from the config's). It stores **no random-number-
  generator state** and no data-loader position.
* `IterBasedTrainLoop.run` then *replays* the data loader: it calls `next()` once per consumed
  batch ("Advance dataloader N steps to skip data that has already been trained"). The
  sampler order is therefore exactly the original one (`DefaultSampler` reshuffles each epoch
  with `seed + epoch`, `InfiniteSampler` draws one seeded stream), across epoch ends, and the
  pipeline of every skipped batch runs again (time, not training).
* mmengine's `EpochBasedTrainLoop.run_epoch` does not skip anything: it restarts the
  interrupted epoch from its first batch while the iteration counter keeps counting, so a
  checkpoint written mid-epoch would re-train the batches already seen in that epoch.
  `tools/train.py` therefore trains epoch-based configs (all the paper's except mmseg's) with
  `uniformer_mm.EpochBasedTrainLoop` (`uniformer_mm/engine/loops.py`, same arguments), which
  replays the batches of the epoch already trained, as the iteration-based loop does, and
  continues with the next one (section 6).

What is left to differ is randomness during training: after a resume the global torch / numpy
/ python generators continue from their state after model building, not from the state the
killed run had at that iteration. The control rows (hook *no*) show the effect in this run:
{same_without} resumed identically anyway (their only randomness is the pipeline, replayed
from the same start state with `num_workers=0`, and nothing random runs in the model), while
{differ_without} ended with other weights (detection: the random proposal samplers of the RPN
and the R-CNN head, `torch.randperm`; segmentation: dropout in the FPN head).

`uniformer_mm.ExactResumeHook` (`uniformer_mm/engine/hooks.py`) closes that gap: it wraps the
train loop's data iterator (iteration-based loop, or each epoch's with
`uniformer_mm.EpochBasedTrainLoop`), so before batch *i* is fetched (also during the replay)
python's `random`, numpy and torch are re-seeded from `(seed, i)`. Whatever is random while
fetching and training on batch *i* is then the same in the original and the resumed run.
Data-loader workers need nothing extra: mmengine seeds each worker from `seed + worker_id` when
it starts, and the replay repeats their work in the same order (row `det_workers`: two
persistent workers). To use it:

```python
train_cfg = dict(type='IterBasedTrainLoop', max_iters=..., val_interval=...)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False,
                                     max_keep_ckpts=2))
custom_hooks = [dict(type='uniformer_mm.ExactResumeHook')]
randomness = dict(seed=0)
```

Checkpoint files after a kill: section 7. `tools/train.py --resume` (no path) picks the
newest *complete* checkpoint itself (`uniformer_mm.cli.find_resume_checkpoint`: the newest
`iter_*.pth` / `epoch_*.pth` or `last_checkpoint` target that is a complete zip archive whose
CRCs match), says which files it skipped (row *newest checkpoint torn*: a file torn by
mmengine's in-place writer; unit test `test_resume_auto_skips_torn_and_missing_checkpoints`),
and when none is complete sets the files aside (`<name>.incomplete`) with a warning and
starts fresh, so that a requeued job does not fail forever.

Bit-identity across processes also needs the same number of intra-op threads: CPU reductions
are split per thread. Measured in this run (detection demo, same seed, 3 iterations): losses
{threads_1} with one thread, {threads_2} with two.
'''


def determinism_section(results: List[Dict[str, Any]]) -> List[str]:
    """Table of the same-seed runs."""
    lines = ['## 2. Determinism', '',
             'Command: `cd tests && python -m reliability.determinism`. Per toolbox, three '
             'in-process `Runner` trainings of the demo config (3 iterations, batch 2, '
             '`randomness=dict(seed=..., deterministic=True)`, one thread): seed 0 twice and '
             'seed 1 once. Losses are the total training loss of each iteration, compared with '
             '`==`.', '',
             '| toolbox | losses, seed 0 (run 1) | seed 0 (run 2) identical | seed 1 differs | '
             'verdict |', '|---|---|---|---|---|']
    for r in results:
        ok = r['identical'] and r['other_seed_differs']
        lines.append(f"| {r['toolbox']} | {_cell([round(x, 6) for x in r['losses']['first']])}"
                     f" | {'yes' if r['identical'] else 'NO'} | "
                     f"{'yes' if r['other_seed_differs'] else 'NO'} | "
                     f"{'**deterministic**' if ok else '**FAILED**'} |")
    return lines


def cases_section(outcomes: List[Any]) -> List[str]:
    """Table of every input case with the message the user sees."""
    lines = ['## 3. Bad, odd and unsafe input', '',
             'Command: part of `python tools/reliability/report.py`; the cases are defined in '
             '`tests/reliability/cases.py`. The cases without an older test are run by '
             '`tests/test_reliability.py::test_input_gives_the_outcome_the_issue_asks_for`; '
             'the others name the test that already covered them (checked to exist by '
             '`test_cases_covered_elsewhere_point_at_existing_tests`). A case passes when it '
             'raises the expected error type with a message containing the listed value and '
             'fix, without a traceback (tools print one `error:` line), or, for valid input, '
             'when it works. For files with a code payload the payload must not have run (its '
             'marker directory is absent), and `test_unsafe_payload_really_runs_without_weights'
             '_only` shows the same file does run code when opened without `weights_only`.', '',
             '| issue item | entry point | outcome | message / result | test |',
             '|---|---|---|---|---|']
    for case, out in outcomes:
        verdict = ('pass' if out.passed else '**FAIL** ' + '; '.join(out.problems))
        what = f'{out.error}: ' if out.error else 'works: '
        test = case.covered_by or 'tests/test_reliability.py'
        lines.append(f'| {_cell(case.issue, 120)} | {_cell(case.entry, 80)} | {verdict} | '
                     f'{_cell(what + out.message)} | {_cell(test, 90)} |')
    return lines


def security_section(findings: List[Any], outcomes: List[Any]) -> List[str]:
    """Scan results, the allow-list and the unsafe-file outcomes."""
    from uniformer_mm.checkpoint import official_checkpoint_globals
    names = sorted({(f'{e[1]} (restricted to the HistoryBuffer statistics methods)'
                     if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}')
                    for e in official_checkpoint_globals()})
    numpy_names = [n for n in names if n.startswith('numpy')]
    unsafe = [(c, o) for c, o in outcomes if c.unsafe]
    lines = ['## 4. Safe loading', '',
             '### Every deserialising call', '',
             'Command: `cd tests && python -m reliability.scan_loads` (test: '
             '`test_no_load_without_weights_only_in_package_and_tools`; the scanner itself is '
             'tested on a file with six unsafe calls). It parses `uniformer_mm/`, `tools/`, '
             '`setup.py` and the harness `tests/reliability/` and judges every `torch.load`, '
             '`load_state_dict_from_url` / `load_url`, '
             '`pickle.load(s)`, `torch.hub.load`, `torch.jit.load`, `numpy.load`, `yaml.load`, '
             '`mmengine.load` call. Every other path reads checkpoints through '
             '`uniformer_mm.checkpoint.load_checkpoint_file`.', '',
             '| call | where | verdict |', '|---|---|---|']
    for f in findings:
        lines.append(f'| `{f.call}()` | `{f.path}:{f.line}` ({f.function}) | {f.verdict}: '
                     f'{_cell(f.reason, 200)} |')
    lines += [
        '', 'Loaders of mmengine and torch that uniformer_mm runs through (`--resume`, '
        '`load_from`, `Pretrained` init of toolbox modules): mmengine 0.10.7 calls '
        '`torch.load(filename)` without `weights_only` (torch 2.14 defaults to `True`) and, for '
        '`http(s)://`, `torchvision://` and `open-mmlab://` names, torch\'s `load_url`, whose '
        '`weights_only` still defaults to **`False`**. `uniformer_mm.compat` runs the first '
        'under the allow-list below and replaces the second by a `load_url` that passes '
        '`weights_only=True` (case *mmengine\'s http(s) loader*, served from a local HTTP '
        'server; before the fix that file ran its payload). Refusals and damaged files from '
        'these loaders raise the same `CheckpointError` messages as our own loader.', '',
        '### The allow-list', '',
        'Besides tensors and plain containers (what `weights_only=True` accepts), '
        '`official_checkpoint_globals()` allows exactly:', '',
        '| global | why | needed by |', '|---|---|---|',
        '| argparse.Namespace | `ckpt["args"]` of the DeiT-style ImageNet releases and the '
        'token-labeling releases | official classification files |',
        '| mmengine.logging.history_buffer.HistoryBuffer | `message_hub` of every mmengine '
        'Runner checkpoint | `--resume`, fine-tuning from own runs |',
        '| builtins.getattr, replaced by a function that only returns `HistoryBuffer.min/max/'
        'current/mean` (and registered statistics) | a pickled `HistoryBuffer` names its '
        'statistics methods through `getattr` | Runner checkpoints |',
        f'| {len(numpy_names)} numpy names: `_reconstruct`, `scalar`, `ndarray`, `dtype` and '
        'the `numpy.dtypes.*DType` classes | numpy arrays and scalars in `message_hub` and in '
        'the `meta` of mmcv 1.x releases (e.g. `best_score`) | Runner checkpoints, mmdet 2.x / '
        'mmseg 0.x / mmpose 0.x releases |',
        '', 'Tests: `test_allow_list_is_exactly_the_documented_minimum` (the exact set; the real '
        '`getattr` is not in it), `test_each_allow_list_entry_is_needed` (without each entry a '
        'file of the kind named above cannot be read), `tests/test_compat.py::'
        'test_restricted_getattr_refuses_other_attributes`.', '',
        '### A checkpoint with a code payload, through every entry point', '',
        '| entry point | outcome |', '|---|---|']
    for case, out in unsafe:
        verdict = ('refused, payload did not run' if out.passed
                   else '**FAIL** ' + '; '.join(out.problems))
        lines.append(f'| {_cell(case.entry, 90)} | {verdict} |')
    return lines


LEFT_TEXT = '''## 5. Limits and what is not covered

* A `SIGKILL` (out of memory, a scheduler without a grace period) loses the iterations since
  the last checkpoint: the paper configs of classification, detection, pose and video save at
  the end of each epoch. Stop signals lose nothing (section 6). Without `ExactResumeHook` a
  resume is not bit-identical: random augmentation draws restart from the post-initialisation
  state (and persistent workers from their start state).
* Bit-identity holds for the same machine, thread count and library versions; it is not a
  property across hardware.
* Checkpoints are written atomically by `uniformer_mm.CheckpointHook`, which
  `tools/train.py` puts in place of mmengine's; a run started another way with mmengine's
  hook keeps mmengine's in-place writes (section 7). Best checkpoints (`save_best`) are
  written atomically too; remote `out_dir` (object stores) use the store's own put.
* Data-loader workers survive a process-group SIGTERM only when started by the `fork`
  method (Linux's default): the fix runs in the main process before the fork.
* The scan covers `uniformer_mm/`, `tools/` and `setup.py`, not the toolboxes' own code
  paths that uniformer_mm does not call (e.g. mmpretrain's model-zoo `get_model`).
* A 2D checkpoint given to the 3D model is *inflated* by default (`pretrained2d=True`, the
  official behaviour); the error case is `pretrained2d=False`, or a file the 3D model cannot
  use.
* An official token-labeling file carries no head_dim: its layout fits both the head_dim-32
  and the head_dim-64 release, so the loader warns (naming both) instead of refusing;
  converted files record it in `meta["arch"]`, which is checked and refused on mismatch.
'''


STOP_TEXT = '''## 6. Stop signals: nothing lost when a job is preempted

Cluster schedulers warn a job before they kill it: Slurm sends `SIGTERM` (or the signal of
`--signal`, e.g. `--signal=USR1@90`) when a job is preempted or reaches its time limit and
kills it after a grace period; `Ctrl-C` sends `SIGINT`. `tools/train.py` adds
`uniformer_mm.PreemptionCheckpointHook` to every run: on `SIGTERM`, `SIGUSR1` or `SIGINT` the
current iteration finishes, `<work_dir>/iter_<N>.pth` and `last_checkpoint` are written, and
the run exits with `128 + signal` (143 for `SIGTERM`) after logging `stopped by SIGTERM after
iteration N (epoch E); checkpoint: ...`. `tools/train.py CONFIG --resume` continues from that
iteration, inside the epoch for epoch-based configs. A second `Ctrl-C` stops at once without a
checkpoint. In distributed runs the ranks agree on the stop (one all-reduce of a flag per
iteration), so a signal that reaches only some ranks, or reaches them in different iterations,
still stops all of them after the same iteration, and every rank waits for rank 0's checkpoint
before exiting. Data-loader workers, which a scheduler signals too, keep serving batches until
the main process is done: torch's worker start-up installs a `SIGTERM` handler that kills a
worker signalled by anyone but its parent (the run then died with `DataLoader worker ... is
killed by signal: Terminated` and no checkpoint, typically when an iteration-based loop had
just forked new workers for its next pass); the hook puts its own handler back in every worker
forked while it is active.

No training is lost either way; a *bit-identical* continuation also needs `ExactResumeHook`
and, with data-loader workers in an epoch-based run, non-persistent ones: persistent workers
(`persistent_workers=True`, the toolboxes' default) carry their random state from epoch to
epoch, and a resume starts them afresh, so the random augmentations of the rest of the run
differ (the data order does not).

Tests (`tests/test_reliability.py`): an epoch-based run signalled in the middle of epoch 2
(without data-loader workers, and with two whose process group is signalled from another
process, as `kill -- -PGID` does) writes that
iteration's checkpoint, exits with 143, resumes inside epoch 2 and ends with bit-identical
weights and optimizer state to an uninterrupted run; with
`tools/dist_train.sh ... 2`, a `SIGTERM` sent to rank 1 only stops both ranks after the same
iteration, and the resumed run again matches the uninterrupted one; an iteration-based run
with two non-persistent workers whose process group gets `SIGTERM` right after the loader
restarted (`test_group_sigterm_after_an_iteration_loop_restarted_its_data_loader`) saves, exits
with 143 and resumes from that checkpoint
(`tests/reliability/kill_point.py`'s `SignalAtIterationHook` delivers the signal at a chosen
iteration, without a race).
'''


SAVE_KILL_TEXT = """## 7. Kills inside checkpoint saves

mmengine 0.10.7's `CheckpointHook` removes the oldest checkpoint beyond `max_keep_ckpts`
*before* it writes the new one, writes the new one in place, then `last_checkpoint` in place:
a SIGKILL during the write (out-of-memory killer, node failure) leaves a truncated newest file
and, with `max_keep_ckpts=1`, no complete one. `uniformer_mm.CheckpointHook`
(`uniformer_mm/engine/checkpoint_hook.py`; same arguments; `tools/train.py` puts it in place
of mmengine's in every config) writes a temporary file in the same directory, `fsync`s it,
renames it (atomic), syncs the directory, then replaces `last_checkpoint` the same way, and
only then removes old checkpoints (recorded in the new checkpoint, so that a run resumed after
a kill before the removal removes them). A stop signal's checkpoint
(`PreemptionCheckpointHook`) is written the same way. A failed write (disk full, read-only
work dir) stops the run with one `error:` line naming the file and the fix, the older
checkpoints untouched; with a stop signal the run still exits with 143
(`test_sigterm_with_a_full_disk_exits_143_and_keeps_the_saved_checkpoint`).

Command: `cd tests && python -m reliability.kill_resume` (function `run_save_kills`). The cls
demo with a checkpoint after every iteration; one run is SIGKILLed inside a save at each point
below in turn (fault points of `tests/reliability/kill_point.py` kill the process at that step
of the write) and resumed with `--resume` after each kill; the last resume trains to the end
and its final checkpoint is compared tensor by tensor with an uninterrupted run's.
`tests/test_reliability.py::test_sigkill_inside_checkpoint_saves_then_resume_gives_the_same_\
weights` runs the `max_keep_ckpts=1` chain.
"""


def save_kill_section(results: List[Dict[str, Any]]) -> List[str]:
    """The kill-inside-save chains."""
    lines = [SAVE_KILL_TEXT, '| max_keep_ckpts | killed at | state on disk at the kill | '
             'files after the kill | resumed from | verdict |', '|---|---|---|---|---|---|']
    for r in results:
        for i, step in enumerate(r['steps'][:-1]):
            nxt = r['steps'][i + 1]
            ok = nxt['resumed_from'] == r['expected_resumed_from'][i + 1]
            lines.append(f"| {r['max_keep']} | {step['kill']} | {step['what']} | "
                         f"{_cell(', '.join(step['files']), 160)} | iteration "
                         f"{nxt['resumed_from']} | {'newest complete' if ok else '**WRONG**'} |")
        w = r.get('weights') or {}
        lines.append(f"| {r['max_keep']} | (end) | final weights vs uninterrupted run | | | "
                     f"{'**identical**' if r.get('passed') else '**FAILED**'} "
                     f"({w.get('state_dict', {}).get('different', '?')} model / "
                     f"{w.get('optimizer', {}).get('different', '?')} optimizer entries "
                     'differ) |')
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run everything and write the report; exit 1 if a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=osp.join(ROOT, 'docs', 'reliability.md'))
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'reliability'))
    parser.add_argument('--quick', action='store_true',
                        help='skip the training runs (sections 1 and 2)')
    args = parser.parse_args(argv)
    start = time.time()
    data = osp.join(args.work_dir, 'data')
    kill_resume.ensure_data(data, ['cls', 'coco', 'ade', 'kinetics'])
    env = environment()

    resume: List[Dict[str, Any]] = []
    save_kills: List[Dict[str, Any]] = []
    deterministic: List[Dict[str, Any]] = []
    threads: Dict[int, Any] = {}
    if not args.quick:
        for name in kill_resume.SCENARIOS:
            for hook in (True, False):
                resume.append(kill_resume.run_scenario(
                    name, data, osp.join(args.work_dir, 'kill_resume'), hook=hook))
                print(kill_resume.summary_line(resume[-1]), flush=True)
        resume.append(kill_resume.run_scenario('cls', data,
                                               osp.join(args.work_dir, 'kill_resume'),
                                               torn=True))
        print(kill_resume.summary_line(resume[-1]), flush=True)
        for keep in (1, 2):
            save_kills.append(kill_resume.run_save_kills(
                data, osp.join(args.work_dir, 'kill_resume'), max_keep=keep))
            print('save kills, max_keep_ckpts', keep, save_kills[-1]['passed'], flush=True)
        for name in determinism.CONFIGS:
            deterministic.append(determinism.check(name, data,
                                                   osp.join(args.work_dir, 'determinism')))
            print('determinism', name, deterministic[-1]['identical'], flush=True)
        for n in (1, 2):
            threads[n] = determinism.train_losses(
                determinism.CONFIGS['det'], data, osp.join(args.work_dir, f'threads_{n}'),
                threads=n)

    with tempfile.TemporaryDirectory(prefix='uniformer_mm_cases_') as tmp:
        ctx = cases.Context(tmp, data)
        live = cases.payload_is_live(ctx)
        outcomes = [(c, cases.run_case(c, ctx)) for c in cases.CASES]
    findings = scan_loads.scan()

    lines = ['# Reliability and security report (issues 9 and 17)', '',
             f'Generated by `python tools/reliability/report.py` in '
             f'{(time.time() - start) / 60:.0f} min on {env["date"]}: commit {env["commit"]}, '
             f'{env["cpu_count"]} CPU cores ({env["machine"]}), Python {env["python"]}, torch '
             f'{env["torch"]}, mmengine {env["mmengine"]}, mmcv {env["mmcv"]}, mmpretrain '
             f'{env["mmpretrain"]}, mmdet {env["mmdet"]}, mmseg {env["mmseg"]}, mmpose '
             f'{env["mmpose"]}, mmaction2 {env["mmaction"]}. Data: the demo data sets of '
             '`tools/demo/make_data.py` (generated, fixed seed). Everything below is this '
             "run's output; the text between the tables explains it.", '',
             'Fast versions of each check run in `tests/test_reliability.py`: one SIGKILL/'
             'resume, one chain of SIGKILLs inside checkpoint saves, stop signals (with '
             'data-loader workers signalled from outside, with a full disk), determinism for '
             'three toolboxes, every case not covered by an older test, the scans.', '']
    if resume:
        lines += resume_section(resume, threads) + ['']
    if deterministic:
        lines += determinism_section(deterministic) + ['']
    lines += cases_section(outcomes) + ['']
    lines += security_section(findings, outcomes) + ['']
    lines += [f'The payload file used above runs its code when opened with '
              f'`weights_only=False`: {"yes (checked in this run)" if live else "NO"}.', '']
    lines += [LEFT_TEXT, STOP_TEXT]
    if save_kills:
        lines += save_kill_section(save_kills)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines).rstrip() + '\n')
    with open(osp.join(args.work_dir, 'report.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(env=env, resume=resume, save_kills=save_kills, determinism=deterministic,
                       cases=[dict(key=c.key, passed=o.passed, error=o.error,
                                   message=o.message, problems=o.problems)
                              for c, o in outcomes],
                       scan=[f.__dict__ for f in findings]), f, indent=1, default=str)
    failed = ([r['toolbox'] for r in resume if r['hook'] and not r['passed']] +
              [f"save kills keep {r['max_keep']}" for r in save_kills if not r['passed']] +
              [r['toolbox'] for r in deterministic
               if not (r['identical'] and r['other_seed_differs'])] +
              [c.key for c, o in outcomes if not o.passed] +
              [f'{f.path}:{f.line}' for f in findings if f.verdict == 'VIOLATION'] +
              ([] if live else ['payload not live']))
    print(f'wrote {args.out}; failures: {failed or "none"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
