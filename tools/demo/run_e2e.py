#!/usr/bin/env python
"""``make demo``: the whole UniFormer workflow on CPU, for all five toolboxes, learning for real.

Steps (every one runs the repository's own command-line tools in a fresh process, exactly as
a user would; the full output of each goes to ``WORK/logs/``):

1. generate the datasets in the real formats (tools/demo/make_data.py, ``demo`` size);
2. for each task (mmpretrain, mmdet, mmseg, mmpose, mmaction2, with the configs of
   configs/demo/): train the first half of the iterations with tools/train.py, stop, resume
   from the saved checkpoint with ``--resume`` and finish, then evaluate the final checkpoint
   with tools/test.py (the toolbox's metric, predictions with ``--out``, drawings with
   ``--show-dir``) and draw one sample with tools/demo/{image,video}_demo.py, whose prediction
   is checked;
3. distributed check: the same classification run through ``tools/dist_train.sh CONFIG 2``
   (2 CPU processes, gloo) and as one process with the doubled batch; the final weights must
   agree (see configs/demo/cls_uniformer_tiny_dist.py for why they can);
4. a table of every task's loss trend and held-out metric next to the value it must reach
   (:data:`TASKS`), then one of the seconds each step took; exit status 1 if a task missed
   one. ``WORK/summary.json`` has the numbers.

The tasks run side by side, ``--jobs`` at a time (default: one per CPU core): every step is a
single-threaded process (``OMP_NUM_THREADS=1``), so on 2 cores two tasks take the time of one.

``--quick`` (CI, tests/test_demo.py): one short training run per task with validation at its
end; it passes when the loss falls and the metric is clearly above chance.

Usage::

    python tools/demo/run_e2e.py [--work-dir work_dirs/demo] [--tasks cls det ...] [--no-dist]
                                 [--quick] [--jobs N]
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable

#: Per task: the config; training iterations (must equal 2 x the config's checkpoint
#: interval: the first run stops at the checkpoint, the second resumes from it); a demo input
#: (relative to the data root) and what its drawing must show; the toolbox metric(s) with the
#: value the run must reach on the held-out split to count as learned; and the shortened run
#: of ``--quick`` (iterations, and the value that is clearly above chance:
#: see ``chance`` for what a model that learned nothing scores); ``cost``: the CPU seconds
#: of its steps (measured; the longest tasks start first).
TASKS: Dict[str, dict] = {
    'cls': dict(config='configs/demo/cls_uniformer_tiny_shapes.py', iters=80, cost=41,
                sample='cls/val/red_disk/val_0_000.png', expect='red_disk',
                metrics={'accuracy/top1': 90.0}, chance='25 (4 classes)',
                quick=dict(iters=30, above={'accuracy/top1': 50.0})),
    'det': dict(config='configs/demo/det_mask_rcnn_uniformer_tiny_coco_demo.py', iters=240,
                cost=101,
                # a person and two balls apart (in 001001 a ball covers the torso, and this
                # small model then also scores the upper body alone >= 0.5: mAP counts that)
                sample='coco/val/001009.jpg', expect='objects',
                metrics={'coco/bbox_mAP': 0.5, 'coco/segm_mAP': 0.5}, chance='0',
                quick=dict(iters=60, above={'coco/bbox_mAP': 0.05, 'coco/segm_mAP': 0.05})),
    'seg': dict(config='configs/demo/seg_fpn_uniformer_tiny_ade_demo.py', iters=400, cost=70,
                sample='ade/images/validation/ADE_validation_00000000.jpg',
                expect='classes', metrics={'mIoU': 70.0},
                chance='~30 (everything "ground")',
                quick=dict(iters=60, above={'mIoU': 40.0})),
    'pose': dict(config='configs/demo/pose_uniformer_tiny_coco_demo.py', iters=200, cost=77,
                 sample='coco/val/001001.jpg', expect=None, metrics={'coco/AP': 0.5},
                 chance='0', quick=dict(iters=40, above={'coco/AP': 0.05})),
    'video': dict(config='configs/demo/video_uniformer_tiny_kinetics_demo.py', iters=120,
                  cost=65,
                  sample='kinetics/videos_val/move_up_0003.mp4', expect='move_up',
                  metrics={'acc/top1': 0.9}, chance='0.25 (4 classes)',
                  # the whole schedule: stopped earlier, at a high lr, the BatchNorm
                  # statistics are not settled and validation sees one class (0.25)
                  quick=dict(iters=120, above={'acc/top1': 0.5})),
}
DIST_CONFIG = 'configs/demo/cls_uniformer_tiny_dist.py'

_START = time.time()
# Tasks run side by side (--jobs): one lock keeps their console lines whole, and every step's
# wall time is kept for the final table (name -> seconds).
_PRINT = threading.Lock()
STEP_SECONDS: Dict[str, float] = {}
#: CPU seconds (user + system) of every step's processes: what the step costs on an idle
#: machine, whatever else runs next to it (name -> seconds).
STEP_CPU: Dict[str, float] = {}


class DemoFailure(Exception):
    """A step failed or a check did not hold; the message says which and where the log is."""


def log(msg: str) -> None:
    """A progress line with the elapsed time."""
    with _PRINT:
        print(f'[{time.time() - _START:6.1f}s] {msg}', flush=True)


def wait_with_cpu_time(proc: subprocess.Popen) -> Tuple[int, float]:
    """Wait for ``proc``; its exit code and the CPU seconds it and its children used."""
    if hasattr(os, 'wait4'):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, usage.ru_utime + usage.ru_stime
    return proc.wait(), float('nan')  # (no wait4: not on Linux / macOS)


def run(name: str, cmd: Sequence[str], logs: str, env: Dict[str, str],
        show: str = r'Iter\((train|val|test)\)') -> str:
    """Run ``cmd`` from the repository root, echo its progress lines, keep its whole output.

    The progress lines are prefixed with the step's ``name`` (tasks run side by side); the
    step's wall time goes to :data:`STEP_SECONDS`.

    Raises:
        DemoFailure: The command failed; the end of its output and the log path are shown.
    """
    path = osp.join(logs, f'{name}.log')
    log(f'{name}: {" ".join(cmd)}')
    t0 = time.time()
    lines: List[str] = []
    with open(path, 'w') as f, subprocess.Popen(
            list(cmd), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1) as proc:
        for line in proc.stdout:  # type: ignore[union-attr]
            f.write(line)
            lines.append(line)
            if re.search(show, line):
                # the metric/progress part of mmengine's log line
                text = line.split(' - mmengine - INFO - ')[-1].rstrip()
                with _PRINT:
                    print(f'  {name:16s}{text[:140]}', flush=True)
        code, cpu = wait_with_cpu_time(proc)
    if code != 0:
        tail = ''.join(lines[-25:])
        raise DemoFailure(f'\n{tail}\nFAILED: step {name!r} exited with {code}; full log: {path}')
    STEP_SECONDS[name] = time.time() - t0
    STEP_CPU[name] = cpu
    log(f'{name}: done in {STEP_SECONDS[name]:.1f}s ({cpu:.1f}s CPU)')
    return ''.join(lines)


def logged(wd: str) -> Dict[str, list]:
    """Training losses (by iteration) and validation metrics a run logged in ``wd``.

    mmengine writes ``<wd>/<timestamp>/vis_data/scalars.json`` per run (a resumed run gets a
    new timestamp): all of them are read, in order.
    """
    losses: Dict[int, float] = {}
    metrics: List[dict] = []
    for path in sorted(glob.glob(osp.join(wd, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec and 'step' in rec:
                    losses[int(rec['step'])] = float(rec['loss'])
                elif 'loss' not in rec and 'lr' not in rec:
                    metrics.append(rec)
    return dict(loss=[losses[k] for k in sorted(losses)], metrics=metrics)


def loss_trend(losses: Sequence[float]) -> Tuple[float, float]:
    """Mean of the first two and of the last two logged losses (each a window mean)."""
    if len(losses) < 4:
        raise ValueError(f'too few logged losses to see a trend: {list(losses)}')
    return sum(losses[:2]) / 2, sum(losses[-2:]) / 2


def check_drawing(task: str, spec: dict, data: str, summary: str) -> Optional[str]:
    """What is wrong with the demo's prediction on ``spec['sample']`` (None: it is right).

    cls / video: the top-1 class must be the sample's class; det: as many objects scored
    >= 0.5 as the sample has; seg: exactly the classes its label map has.
    """
    expect = spec.get('expect')
    if expect is None:
        return None
    if task in ('cls', 'video'):
        top1 = re.search(r'1\. (\S+?):', summary)
        got = top1.group(1) if top1 else summary
        return None if got == expect else f'top-1 is {got!r}, the sample is {expect!r}'
    if task == 'det':
        with open(osp.join(data, 'coco/annotations/instances_val.json')) as f:
            ann = json.load(f)
        name = osp.basename(spec['sample'])
        img_id = next(i['id'] for i in ann['images'] if i['file_name'] == name)
        want = sum(a['image_id'] == img_id for a in ann['annotations'])
        got = re.search(r'(\d+) detections', summary)
        n = int(got.group(1)) if got else -1
        return None if n == want else f'{n} detections scored >= 0.5, the image has {want}'
    if task == 'seg':
        import cv2
        import numpy as np
        label = cv2.imread(osp.join(data, spec['sample'].replace('images/', 'annotations/')
                                    .replace('.jpg', '.png')), cv2.IMREAD_GRAYSCALE)
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        from make_data import SEG_CLASSES  # noqa: E402
        want = [SEG_CLASSES[v - 1] for v in np.unique(label) if v > 0]  # reduce_zero_label
        got = re.search(r'classes present: (\[.*\])', summary)
        names = eval(got.group(1), {}) if got else None  # a printed list of str
        return None if names == want else f'predicted classes {names}, the label map has {want}'
    raise ValueError(task)


def task_steps(task: str, spec: dict, work: str, data: str, logs: str,
               env: Dict[str, str]) -> dict:
    """Train (with a stop and a resume), test and draw one task.

    Returns:
        dict: ``metrics`` (the test's), ``loss`` (first, last) and ``drawing`` (a problem
        with the demo's prediction, or None).
    """
    cfg, iters = spec['config'], spec['iters']
    wd = osp.join(work, task)
    shutil.rmtree(wd, ignore_errors=True)
    half = iters // 2
    # Part 1 stops at the first checkpoint, without validation (val_begin past the end).
    run(f'{task}-1-train', [PY, 'tools/train.py', cfg, '--work-dir', wd, '--cfg-options',
                            f'train_cfg.max_iters={half}', f'train_cfg.val_begin={iters + 1}'],
        logs, env)
    if not osp.isfile(osp.join(wd, f'iter_{half}.pth')):
        raise DemoFailure(f'FAILED: {task}: no checkpoint iter_{half}.pth after the first half')
    out = run(f'{task}-2-resume', [PY, 'tools/train.py', cfg, '--work-dir', wd, '--resume'],
              logs, env)
    if 'resumed epoch' not in out:
        raise DemoFailure(f'FAILED: {task}: the second run did not resume (see {logs})')
    ckpt = osp.join(wd, f'iter_{iters}.pth')
    vis = osp.join(work, 'vis', task)
    result = osp.join(wd, 'predictions' if task == 'seg' else 'predictions.pkl')
    run(f'{task}-3-test', [PY, 'tools/test.py', cfg, ckpt, '--work-dir', osp.join(wd, 'test'),
                           '--out', result, '--show-dir', vis, '--show-interval', '2'],
        logs, env)
    with open(osp.join(wd, 'test', 'test_metrics.json')) as f:
        metrics = json.load(f)
    sample = osp.join(data, spec['sample'])
    demo_png = osp.join(work, 'vis', f'{task}_demo.png')
    script = 'tools/demo/video_demo.py' if task == 'video' else 'tools/demo/image_demo.py'
    extra = ['--score-thr', '0.5'] if task == 'det' else []
    out = run(f'{task}-4-demo', [PY, script, sample, cfg, ckpt, '--out', demo_png, *extra],
              logs, env, show=r'-> ')
    summary = next((ln for ln in out.splitlines() if ' -> ' in ln), '')
    return dict(metrics={k: metrics[k] for k in spec['metrics'] if k in metrics},
                loss=loss_trend(logged(wd)['loss']),
                drawing=check_drawing(task, spec, data, summary))


def quick_steps(task: str, spec: dict, work: str, logs: str, env: Dict[str, str]) -> dict:
    """``--quick``: one shortened training run with validation at its end.

    Returns:
        dict: ``metrics`` (the final validation's), ``loss`` (first, last).
    """
    iters = spec['quick']['iters']
    wd = osp.join(work, task)
    shutil.rmtree(wd, ignore_errors=True)
    run(f'{task}-quick-train', [PY, 'tools/train.py', spec['config'], '--work-dir', wd,
                                '--cfg-options', f'train_cfg.max_iters={iters}',
                                f'train_cfg.val_interval={iters}',
                                f'default_hooks.checkpoint.interval={iters}'], logs, env)
    rec = logged(wd)
    final = rec['metrics'][-1] if rec['metrics'] else {}
    return dict(metrics={k: final[k] for k in spec['metrics'] if k in final},
                loss=loss_trend(rec['loss']), drawing=None)


def dist_check(work: str, logs: str, env: Dict[str, str], tol: float = 5e-5) -> float:
    """Train the dist config as 2 processes x batch 2 and as 1 process x batch 4; compare."""
    one, two = osp.join(work, 'dist_1proc'), osp.join(work, 'dist_2proc')
    for d in (one, two):
        shutil.rmtree(d, ignore_errors=True)
    env = dict(env, PYTHON=PY, PORT=env.get('PORT', '29533'), OMP_NUM_THREADS='1')
    run('dist-1-two-processes', ['bash', 'tools/dist_train.sh', DIST_CONFIG, '2',
                                 '--work-dir', two], logs, env)
    run('dist-2-one-process', [PY, 'tools/train.py', DIST_CONFIG, '--work-dir', one,
                               '--cfg-options', 'train_dataloader.batch_size=4'], logs, env)
    # Runner checkpoints read with weights_only=True (the package's allow-list), like
    # every checkpoint in uniformer_mm (tests/test_reliability.py checks it).
    def weights(d: str, it: int) -> dict:
        from uniformer_mm.checkpoint import load_checkpoint_file
        return load_checkpoint_file(osp.join(d, f'iter_{it}.pth'))['state_dict']

    sd1, sd2 = weights(one, 6), weights(two, 6)
    if sd1.keys() != sd2.keys():
        raise DemoFailure('FAILED: the two runs saved different parameter sets')
    diff = max(float((sd1[k].float() - sd2[k].float()).abs().max()) for k in sd1)
    # The comparison means something only if training moved the weights well beyond it.
    mid = weights(one, 3)
    moved = max(float((sd1[k].float() - mid[k].float()).abs().max()) for k in sd1)
    log(f'weights moved by up to {moved:.2e} between iterations 3 and 6')
    if moved < 20 * tol:
        raise DemoFailure(f'FAILED: training barely changed the weights ({moved:.2e}); the check '
                 'would be vacuous')
    log(f'distributed check: max |w(2 procs x 2) - w(1 proc x 4)| = {diff:.2e} '
        f'(tolerance {tol:g})')
    if diff > tol:
        raise DemoFailure(f'FAILED: distributed and single-process weights differ by {diff:.3e}')
    return diff


def verdicts(task: str, spec: dict, res: dict, quick: bool) -> List[Tuple[str, str, bool]]:
    """``(what, measured vs required, passed)`` rows of one task's results."""
    rows = []
    first, last = res['loss']
    rows.append(('loss', f'{first:.3f} -> {last:.3f} (must fall)', last < first))
    bars = spec['quick']['above'] if quick else spec['metrics']
    for key, bar in bars.items():
        value = res['metrics'].get(key)
        shown = 'missing' if value is None else f'{value:.4g}'
        rows.append((key, f'{shown} (>= {bar:g}; chance {spec["chance"]})',
                     value is not None and value >= bar))
    if not quick and spec.get('expect') is not None:
        problem = res['drawing']
        rows.append(('drawing', problem or f'{osp.basename(spec["sample"])} predicted right',
                     problem is None))
    return rows


def default_jobs() -> int:
    """Tasks run at a time by default: one per CPU core this process may use (each step is
    one single-threaded process), at most 2 on 2 cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def load_average() -> str:
    """The 1/5/15-minute load averages (other jobs slow the demo down: read times with it)."""
    try:
        return '/'.join(f'{v:.1f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def run_parallel(items: Sequence[Tuple[str, Callable[[], object]]], jobs: int
                 ) -> Tuple[Dict[str, object], Dict[str, float]]:
    """Run the ``(name, function)`` items, ``jobs`` at a time, in the given order.

    Each item only waits on its own subprocesses, so threads suffice. The first failure stops
    the items not started yet (the running ones finish) and is raised.

    Returns:
        tuple: ``{name: result}`` and ``{name: wall seconds}``.
    """
    results: Dict[str, object] = {}
    seconds: Dict[str, float] = {}
    failed = threading.Event()

    def timed(name: str, fn: Callable[[], object]) -> None:
        if failed.is_set():  # set before the failed item's future completes: no race
            return
        log(f'=== {name}: started')
        t0 = time.time()
        try:
            results[name] = fn()
        except BaseException:
            failed.set()
            raise
        seconds[name] = time.time() - t0
        log(f'=== {name}: finished in {seconds[name]:.1f}s')

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(timed, name, fn) for name, fn in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        errors = [f.exception() for f in done if f.exception() is not None]
        if errors:
            for f in futures:
                f.cancel()
            raise errors[0]  # type: ignore[misc]
    return results, seconds


def _wall_cpu(step: str) -> str:
    """``'wall (cpu)'`` seconds of one step."""
    return (f'{STEP_SECONDS.get(step, float("nan")):.1f} '
            f'({STEP_CPU.get(step, float("nan")):.0f})')


def timing_table(tasks: Sequence[str], times: Dict[str, float], quick: bool, dist: bool
                 ) -> str:
    """Where the time went: every step's wall seconds per task (:data:`STEP_SECONDS`) and, in
    brackets, the CPU seconds its processes used (:data:`STEP_CPU`; on a busy machine the wall
    time is longer, the CPU time is not).

    Each step is a fresh process: its time includes the imports and building the runner
    (5-10 s), which is why short steps are not much faster than long ones.
    """
    steps = ([('quick-train', 'train')] if quick else
             [('1-train', 'train 1st half'), ('2-resume', 'resume+val'), ('3-test', 'test'),
              ('4-demo', 'demo')])
    head = (f'{"s (CPU)":8s}' + ''.join(f'{title:>16s}' for _, title in steps)
            + f'{"task":>10s}')
    lines = [head]
    for task in tasks:
        cells = ''.join(f'{_wall_cpu(f"{task}-{key}"):>16s}' for key, _ in steps)
        lines.append(f'{task:8s}{cells}{times[task]:10.1f}')
    if dist:
        text = (f'{"dist":8s}2 processes {_wall_cpu("dist-1-two-processes")}, 1 process '
                f'{_wall_cpu("dist-2-one-process")}')
        lines.append(f'{text:{8 + 16 * len(steps)}s}{times["dist"]:10.1f}')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the demo (see the module docstring); exits with 1 if a task did not learn."""
    parser = argparse.ArgumentParser(description='uniformer_mm end-to-end CPU demo')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    parser.add_argument('--no-dist', action='store_true', help='skip the distributed check')
    parser.add_argument('--jobs', type=int, default=0,
                        help='tasks run at a time (default 0: the number of CPU cores this '
                        'process may use; each step is one single-threaded process)')
    parser.add_argument('--quick', action='store_true',
                        help='CI: one short training run per task with validation at its end '
                        '(no resume, test, drawings or distributed check); passes if the loss '
                        'falls and the metric is clearly above chance')
    args = parser.parse_args(argv)
    if args.jobs < 0:
        parser.error(f'--jobs {args.jobs}: give a positive number (0: one per CPU core)')

    work = osp.abspath(args.work_dir)
    data, logs = osp.join(work, 'data'), osp.join(work, 'logs')
    os.makedirs(logs, exist_ok=True)
    env = dict(os.environ, UNIFORMER_MM_DEMO_DATA=data, PYTHONUNBUFFERED='1')
    # One intra-op thread unless asked otherwise: these tiny models gain little from more,
    # and on a busy machine OpenMP threads spin-waiting for a descheduled peer make every
    # step many times slower (measured: Mask R-CNN 12.8 s -> 0.65 s per iteration).
    env.setdefault('OMP_NUM_THREADS', '1')
    env.pop('UNIFORMER_MM_DEBUG', None)
    dist = not (args.no_dist or args.quick)
    log(f'uniformer_mm demo{" (quick)" if args.quick else ""}: tasks {args.tasks}'
        f'{" + distributed" if dist else ""}, outputs in {work}')
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from make_data import make_all  # noqa: E402
    needs = dict(cls='cls', det='coco', seg='ade', pose='coco', video='kinetics')
    counts = make_all(data, only=sorted({needs[t] for t in args.tasks}), size='demo')
    log(f'datasets generated in {data}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))

    jobs = args.jobs or default_jobs()
    log(f'{jobs} task(s) at a time (--jobs; one thread per process, OMP_NUM_THREADS='
        f'{env["OMP_NUM_THREADS"]}); load average {load_average()}')
    # Longest first (measured), so that the workers finish together; the distributed check
    # (itself 2 processes) last.
    order = sorted(args.tasks, key=lambda t: -TASKS[t]['cost'])
    work_items = [(t, (lambda t=t: quick_steps(t, TASKS[t], work, logs, env)) if args.quick
                   else (lambda t=t: task_steps(t, TASKS[t], work, data, logs, env)))
                  for t in order]
    if dist:
        work_items.append(('dist', lambda: dist_check(work, logs, env)))
    try:
        outcome, times = run_parallel(work_items, jobs)
    except DemoFailure as exc:
        sys.exit(str(exc))
    results = {t: outcome[t] for t in args.tasks}
    diff = outcome.get('dist')

    summary, failed = {}, []
    print('\n' + '=' * 86)
    print(f'{"task":6s} {"check":15s} {"measured on the held-out split vs required":52s}')
    for task in args.tasks:
        rows = verdicts(task, TASKS[task], results[task], args.quick)
        for j, (what, text, ok) in enumerate(rows):
            print(f'{task if j == 0 else "":6s} {what:15s} {text:52s} '
                  f'{"ok" if ok else "FAIL":4s}')
        if not all(ok for _, _, ok in rows):
            failed.append(task)
        summary[task] = dict(results[task], seconds=times[task], passed=task not in failed,
                             checks=[dict(what=w, text=t, ok=ok) for w, t, ok in rows])
    if diff is not None:
        print(f'{"dist":6s} {"2 procs x 2":15s} {f"== 1 proc x 4, max weight diff {diff:.1e}":52s}'
              f' {"ok":4s}')
    total = time.time() - _START
    print('-' * 86)
    print(timing_table(args.tasks, times, args.quick, dist))
    print(f'total: {total:.0f}s wall with {jobs} task(s) at a time; the steps took '
          f'{sum(STEP_SECONDS.values()):.0f}s wall, {sum(STEP_CPU.values()):.0f}s CPU; '
          f'load average now {load_average()}')
    print(f'visualisations: {osp.join(work, "vis")}   logs: {logs}')
    print('=' * 86)
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(dict(tasks=summary, dist_diff=diff, seconds=total, quick=args.quick,
                       jobs=jobs, steps=STEP_SECONDS, steps_cpu=STEP_CPU), f, indent=1)
    if failed:
        sys.exit(f'FAILED: {", ".join(failed)} did not learn (see the table above and {logs})')


if __name__ == '__main__':
    main()
