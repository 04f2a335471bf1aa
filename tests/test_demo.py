"""``make demo`` learns (issue 16, part 1): a shortened run of tools/demo/run_e2e.py.

``run_e2e.py --quick`` trains every task once, briefly, through tools/train.py on the demo
data (validation at the end); here the loss of each task must fall and its held-out metric
must be clearly above what a model that learned nothing scores. The full demo's thresholds
(90% top-1, mAP 0.5, ...) are make demo's own job; this test checks their bookkeeping.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools' / 'demo'))
import run_e2e  # noqa: E402

sys.path.pop(0)


def test_quick_demo_every_task_learns(tmp_path):
    for toolbox in ('mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction'):
        pytest.importorskip(toolbox)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    r = subprocess.run([sys.executable, 'tools/demo/run_e2e.py', '--quick', '--work-dir',
                        str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=1200)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    for task, spec in run_e2e.TASKS.items():
        res = summary['tasks'][task]
        first, last = res['loss']
        assert last < first, (task, res['loss'])
        for key, bar in spec['quick']['above'].items():
            assert res['metrics'][key] >= bar, (task, key, res['metrics'])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_demo_lengths_match_the_configs():
    """run_e2e stops each task at its config's first checkpoint (half the iterations) and
    resumes from it; the numbers must agree with the configs'."""
    from mmengine.config import Config
    for task, spec in run_e2e.TASKS.items():
        cfg = Config.fromfile(str(REPO / spec['config']))
        assert cfg.train_cfg.max_iters == spec['iters'], task
        assert cfg.default_hooks.checkpoint.interval * 2 == spec['iters'], task
        # never longer than the full run (video needs its whole schedule: see run_e2e.TASKS)
        assert spec['quick']['iters'] <= spec['iters'], task


def test_verdicts_fail_a_task_that_did_not_learn():
    spec = run_e2e.TASKS['cls']
    good = dict(loss=(1.4, 0.1), metrics={'accuracy/top1': 95.}, drawing=None)
    assert all(ok for _, _, ok in run_e2e.verdicts('cls', spec, good, quick=False))
    for bad in (dict(good, loss=(1.4, 1.5)), dict(good, metrics={'accuracy/top1': 60.}),
                dict(good, metrics={}), dict(good, drawing="top-1 is 'blue_bar'")):
        rows = run_e2e.verdicts('cls', spec, bad, quick=False)
        assert not all(ok for _, _, ok in rows), bad
    # --quick only asks for "clearly above chance"
    assert all(ok for _, _, ok in run_e2e.verdicts(
        'cls', spec, dict(good, metrics={'accuracy/top1': 60.}), quick=True))


def test_loss_trend_needs_enough_points():
    assert run_e2e.loss_trend([4., 2., 3., 1., 1.]) == (3., 1.)
    with pytest.raises(ValueError, match='too few'):
        run_e2e.loss_trend([1., 0.5])


def test_parallel_runner_stops_at_a_failure_and_times_every_item():
    import threading
    seen, lock = [], threading.Lock()

    def item(name, fail=False):
        def fn():
            with lock:
                seen.append(name)
            if fail:
                raise run_e2e.DemoFailure(f'FAILED: {name}')
            return name.upper()
        return fn

    results, seconds = run_e2e.run_parallel([('a', item('a')), ('b', item('b'))], jobs=2)
    assert results == {'a': 'A', 'b': 'B'} and set(seconds) == {'a', 'b'}
    seen.clear()
    with pytest.raises(run_e2e.DemoFailure, match='FAILED: a'):
        run_e2e.run_parallel([('a', item('a', fail=True)), ('b', item('b')),
                              ('c', item('c'))], jobs=1)
    assert seen == ['a']  # nothing started after the failure


def test_timing_table_shows_every_step():
    steps = {'cls-1-train': (11.0, 9.0), 'cls-2-resume': (12.0, 10.0), 'cls-3-test': (3.0, 2.0),
             'cls-4-demo': (2.0, 1.0), 'dist-1-two-processes': (9.0, 15.0),
             'dist-2-one-process': (5.0, 4.0)}
    for name, (wall, cpu) in steps.items():
        run_e2e.STEP_SECONDS[name], run_e2e.STEP_CPU[name] = wall, cpu
    try:
        text = run_e2e.timing_table(['cls'], {'cls': 28.0, 'dist': 14.0}, quick=False,
                                    dist=True)
    finally:
        run_e2e.STEP_SECONDS.clear()
        run_e2e.STEP_CPU.clear()
    row = next(ln for ln in text.splitlines() if ln.startswith('cls'))
    assert row.split()[1:] == ['11.0', '(9)', '12.0', '(10)', '3.0', '(2)', '2.0', '(1)', '28.0']
    assert '2 processes 9.0 (15), 1 process 5.0 (4)' in text


def test_cpu_time_of_a_step():
    proc = subprocess.Popen([sys.executable, '-c', 'sum(i * i for i in range(3_000_000))'])
    code, cpu = run_e2e.wait_with_cpu_time(proc)
    assert code == 0 and 0.05 < cpu < 60
    proc = subprocess.Popen([sys.executable, '-c', 'raise SystemExit(3)'])
    assert run_e2e.wait_with_cpu_time(proc)[0] == 3
