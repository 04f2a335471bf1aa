#!/usr/bin/env python
"""Train a demo config twice with the same seed (``deterministic=True``); compare the losses.

Each run is a real mmengine ``Runner`` in this process (a few iterations, no validation, no
checkpoint) on the generated demo data; the per-iteration total loss is read from the message
hub (``train/loss``, logged with ``window_size=1``). Same seed must give bit-identical losses;
a third run with another seed must differ (otherwise the comparison would prove nothing).

Usage::

    cd tests && python -m reliability.determinism [--toolboxes cls det ...] [--iters 4]
"""
import argparse
import json
import os
import uuid
import os.path as osp
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence

import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
CONFIGS = {
    'cls': 'configs/demo/cls_uniformer_tiny_shapes.py',
    'det': 'configs/demo/det_mask_rcnn_uniformer_tiny_coco_demo.py',
    'seg': 'configs/demo/seg_fpn_uniformer_tiny_ade_demo.py',
    'pose': 'configs/demo/pose_uniformer_tiny_coco_demo.py',
    'video': 'configs/demo/video_uniformer_tiny_kinetics_demo.py',
}
DATA = {'cls': 'cls', 'det': 'coco', 'seg': 'ade', 'pose': 'coco', 'video': 'kinetics'}


def train_losses(config: str, data_root: str, work_dir: str, seed: int = 0, iters: int = 3,
                 deterministic: bool = True, batch_size: Optional[int] = 2,
                 threads: int = 1) -> List[float]:
    """Train ``iters`` iterations of ``config``; returns the total loss of each iteration.

    ``threads`` intra-op threads are used (one by default: tiny models gain nothing from more,
    and on a shared machine several threads per process mostly wait for each other).
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    import uniformer_mm  # noqa: F401  (registries, runtime fixes)
    old = os.environ.get('UNIFORMER_MM_DEMO_DATA')
    os.environ['UNIFORMER_MM_DEMO_DATA'] = osp.abspath(data_root)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        cfg = Config.fromfile(osp.join(ROOT, config))
        cfg.work_dir = work_dir
        # A unique name: mmengine names the run's MessageHub after the start time, so two runs
        # started within one second would share (and append to) one loss history.
        cfg.experiment_name = f'determinism_seed{seed}_{uuid.uuid4().hex}'
        cfg.randomness = dict(seed=seed, deterministic=deterministic)
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
        if batch_size:
            cfg.train_dataloader.batch_size = batch_size
        # Training only: no validation loop, no checkpoint files.
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters + 1,
                                            save_last=False, by_epoch=False)
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
        cfg.log_processor = dict(by_epoch=False, window_size=1)
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
        runner = Runner.from_cfg(cfg)
        runner.train()
        history = runner.message_hub.get_scalar('train/loss').data[0]
        return [float(v) for v in history]
    finally:
        # deterministic=True switches torch.use_deterministic_algorithms on for the process.
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(old_threads)
        if old is None:
            os.environ.pop('UNIFORMER_MM_DEMO_DATA', None)
        else:
            os.environ['UNIFORMER_MM_DEMO_DATA'] = old


def check(name: str, data_root: str, work_root: str, iters: int = 3) -> Dict[str, Any]:
    """Two runs with seed 0 and one with seed 1 of one toolbox's demo config."""
    runs = {}
    for tag, seed in (('first', 0), ('second', 0), ('other_seed', 1)):
        runs[tag] = train_losses(CONFIGS[name], data_root, osp.join(work_root, name, tag),
                                 seed=seed, iters=iters)
    return dict(toolbox=name, config=CONFIGS[name], iters=iters, losses=runs,
                identical=runs['first'] == runs['second'] and len(runs['first']) == iters,
                other_seed_differs=runs['first'] != runs['other_seed'])


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line; exit 1 if a toolbox is not deterministic."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--toolboxes', nargs='+', choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--data', default=None, help='demo data root (generated if missing)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--json', default=None)
    args = parser.parse_args(argv)
    work = args.work_dir or tempfile.mkdtemp(prefix='uniformer_mm_determinism_')
    data = args.data or osp.join(work, 'data')
    from .kill_resume import ensure_data
    ensure_data(data, [DATA[t] for t in args.toolboxes])
    results = [check(t, data, work, args.iters) for t in args.toolboxes]
    for r in results:
        print(f"{r['toolbox']:6s} identical={r['identical']} other_seed_differs="
              f"{r['other_seed_differs']} losses={r['losses']['first']}")
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)
    return 0 if all(r['identical'] and r['other_seed_differs'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
