#!/usr/bin/env python
"""``make demo``: the whole UniFormer workflow on CPU, for all five toolboxes, in minutes.

Steps (every one runs the repository's own command-line tools in a fresh process, exactly as
a user would; the full output of each goes to ``WORK/logs/``):

1. generate small datasets in the real formats (tools/demo/make_data.py);
2. for each task (mmpretrain, mmdet, mmseg, mmpose, mmaction2, with the configs of
   configs/demo/): train the first half of the iterations with tools/train.py, stop, resume
   from the saved checkpoint with ``--resume`` and finish, then evaluate the final checkpoint
   with tools/test.py (the toolbox's metric, predictions with ``--out``, drawings with
   ``--show-dir``) and draw one sample with tools/demo/{image,video}_demo.py;
3. distributed check: the same classification run through ``tools/dist_train.sh CONFIG 2``
   (2 CPU processes, gloo) and as one process with the doubled batch; the final weights must
   agree (see configs/demo/cls_uniformer_tiny_dist.py for why they can);
4. a summary of the metrics and where the outputs are.

Usage::

    python tools/demo/run_e2e.py [--work-dir work_dirs/demo] [--tasks cls det ...] [--no-dist]
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable

#: task -> (config, training iterations (must equal 2 x the config's checkpoint interval),
#: demo input (relative to the data root), metric keys to report)
TASKS: Dict[str, dict] = {
    'cls': dict(config='configs/demo/cls_uniformer_tiny_shapes.py', iters=20,
                sample='cls/val/red_disk/val_0_000.png', metrics=['accuracy/top1']),
    'det': dict(config='configs/demo/det_mask_rcnn_uniformer_tiny_coco_demo.py', iters=16,
                sample='coco/val/001001.jpg', metrics=['coco/bbox_mAP', 'coco/segm_mAP']),
    'seg': dict(config='configs/demo/seg_fpn_uniformer_tiny_ade_demo.py', iters=20,
                sample='ade/images/validation/ADE_validation_00000000.jpg',
                metrics=['mIoU']),
    'pose': dict(config='configs/demo/pose_uniformer_tiny_coco_demo.py', iters=20,
                 sample='coco/val/001001.jpg', metrics=['coco/AP']),
    'video': dict(config='configs/demo/video_uniformer_tiny_kinetics_demo.py', iters=20,
                  sample='kinetics/videos_val/move_up_0003.mp4', metrics=['acc/top1']),
}
DIST_CONFIG = 'configs/demo/cls_uniformer_tiny_dist.py'

_START = time.time()


def log(msg: str) -> None:
    """A progress line with the elapsed time."""
    print(f'[{time.time() - _START:6.1f}s] {msg}', flush=True)


def run(name: str, cmd: Sequence[str], logs: str, env: Dict[str, str],
        show: str = r'Iter\((train|val|test)\)') -> str:
    """Run ``cmd`` from the repository root, echo its progress lines, keep its whole output.

    Raises:
        SystemExit: The command failed; the end of its output and the log path are shown.
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
                print('          ' + line.split(' - mmengine - INFO - ')[-1].rstrip()[:150],
                      flush=True)
        code = proc.wait()
    if code != 0:
        tail = ''.join(lines[-25:])
        sys.exit(f'\n{tail}\nFAILED: step {name!r} exited with {code}; full log: {path}')
    log(f'{name}: done in {time.time() - t0:.1f}s')
    return ''.join(lines)


def task_steps(task: str, spec: dict, work: str, data: str, logs: str,
               env: Dict[str, str]) -> Dict[str, float]:
    """Train (with a stop and a resume), test and draw one task; returns its test metrics."""
    cfg, iters = spec['config'], spec['iters']
    wd = osp.join(work, task)
    shutil.rmtree(wd, ignore_errors=True)
    half = iters // 2
    # Part 1 stops at the first checkpoint, without validation (val_begin past the end).
    run(f'{task}-1-train', [PY, 'tools/train.py', cfg, '--work-dir', wd, '--cfg-options',
                            f'train_cfg.max_iters={half}', f'train_cfg.val_begin={iters + 1}'],
        logs, env)
    if not osp.isfile(osp.join(wd, f'iter_{half}.pth')):
        sys.exit(f'FAILED: {task}: no checkpoint iter_{half}.pth after the first half')
    out = run(f'{task}-2-resume', [PY, 'tools/train.py', cfg, '--work-dir', wd, '--resume'],
              logs, env)
    if 'resumed epoch' not in out:
        sys.exit(f'FAILED: {task}: the second run did not resume (see {logs})')
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
    extra = ['--score-thr', '0.1'] if task == 'det' else []
    run(f'{task}-4-demo', [PY, script, sample, cfg, ckpt, '--out', demo_png, *extra], logs,
        env, show=r'-> ')
    return {k: metrics[k] for k in spec['metrics'] if k in metrics}


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
        sys.exit('FAILED: the two runs saved different parameter sets')
    diff = max(float((sd1[k].float() - sd2[k].float()).abs().max()) for k in sd1)
    # The comparison means something only if training moved the weights well beyond it.
    mid = weights(one, 3)
    moved = max(float((sd1[k].float() - mid[k].float()).abs().max()) for k in sd1)
    log(f'weights moved by up to {moved:.2e} between iterations 3 and 6')
    if moved < 20 * tol:
        sys.exit(f'FAILED: training barely changed the weights ({moved:.2e}); the check '
                 'would be vacuous')
    log(f'distributed check: max |w(2 procs x 2) - w(1 proc x 4)| = {diff:.2e} '
        f'(tolerance {tol:g})')
    if diff > tol:
        sys.exit(f'FAILED: distributed and single-process weights differ by {diff:.3e}')
    return diff


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the demo (see the module docstring)."""
    parser = argparse.ArgumentParser(description='uniformer_mm end-to-end CPU demo')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    parser.add_argument('--no-dist', action='store_true', help='skip the distributed check')
    args = parser.parse_args(argv)

    work = osp.abspath(args.work_dir)
    data, logs = osp.join(work, 'data'), osp.join(work, 'logs')
    os.makedirs(logs, exist_ok=True)
    env = dict(os.environ, UNIFORMER_MM_DEMO_DATA=data, PYTHONUNBUFFERED='1')
    env.pop('UNIFORMER_MM_DEBUG', None)
    log(f'uniformer_mm demo: tasks {args.tasks}{"" if args.no_dist else " + distributed"}, '
        f'outputs in {work}')
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from make_data import make_all  # noqa: E402
    counts = make_all(data)
    log(f'datasets generated in {data}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))

    results, times = {}, {}
    for i, task in enumerate(args.tasks):
        log(f'=== [{i + 1}/{len(args.tasks)}] {task}: {TASKS[task]["config"]}')
        t0 = time.time()
        results[task] = task_steps(task, TASKS[task], work, data, logs, env)
        times[task] = time.time() - t0
    diff = None if args.no_dist else dist_check(work, logs, env)

    print('\n' + '=' * 78)
    print(f'{"task":6s} {"toolbox metric(s) on the generated val split":50s} {"time":>8s}')
    for task in args.tasks:
        m = ', '.join(f'{k}={v:.4g}' for k, v in results[task].items())
        print(f'{task:6s} {m:50s} {times[task]:7.1f}s')
    if diff is not None:
        print(f'{"dist":6s} {"2 procs x 2 == 1 proc x 4, max weight diff " + f"{diff:.1e}":50s}')
    print(f'visualisations: {osp.join(work, "vis")}   logs: {logs}')
    print(f'total: {time.time() - _START:.0f}s')
    print('=' * 78)


if __name__ == '__main__':
    main()
