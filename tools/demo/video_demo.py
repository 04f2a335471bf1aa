#!/usr/bin/env python
"""Run a UniFormer video config + checkpoint on one video and write the top-5 labels as PNG.

Uses mmaction2's ``inference_recognizer`` (the config's test pipeline: frame sampling, PyAV
decoding, resizing) and draws a strip of frames with the top-k classes and scores below it.
CHECKPOINT may be an official SlowFast release file (converted on the fly) or an OpenMMLab
2.0 file. Class names come from --labels (one per line, as Kinetics' label_map.txt), the
checkpoint's dataset_meta or the config's ``classes``.

Example::

    python tools/demo/video_demo.py demo.mp4 configs/video/uniformer_s16x4_k400.py \\
        uniformer_small_k400_16x4.pth --labels label_map_k400.txt --out vis/video.png
"""
import argparse
import os.path as osp
from typing import List, Optional

# tools/demo/_common.py: this script's folder is first on sys.path
from _common import check_demo_paths, demo_arg_parser, write_png


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    parser = demo_arg_parser('UniFormer video demo', 'video', 'video file',
                             'mmaction2 config file or model name '
                             '(uniformer_mm.apis.list_models())')
    parser.add_argument('--labels', help='class names, one per line')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--frames', type=int, default=4, help='frames shown in the strip')
    return parser.parse_args(argv)


def label_names(path: Optional[str]) -> Optional[List[str]]:
    """Names from a label file (one per line; ``"<index> <name>"`` lines are accepted too)."""
    if not path:
        return None
    if not osp.isfile(path):
        raise FileNotFoundError(f'label file {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    return [ln.split(maxsplit=1)[1] if ln.split(maxsplit=1)[0].isdigit() and ' ' in ln else ln
            for ln in lines]


def main(argv=None) -> None:
    """Run the recognizer and write ``--out``."""
    args = parse_args(argv)
    from uniformer_mm import cli
    cli.quiet_known_messages()
    from uniformer_mm import apis
    from uniformer_mm.checkpoint import CheckpointError
    from uniformer_mm.engine.visualization import (draw_video_topk, topk_lines,
                                                   video_score_kind)

    with cli.exit_on_error(*cli.USER_ERRORS, CheckpointError):
        check_demo_paths(args.video, 'video', args.out)
        names = label_names(args.labels)
        model = apis.init_model(args.config, args.checkpoint)
        if apis.toolbox_of(model.cfg) != 'mmaction':
            raise ValueError(f'{args.config!r} is not an mmaction2 config; images go to '
                             'tools/demo/image_demo.py')
        result = apis.inference_model(model, args.video)
        scores = result.pred_score.detach().cpu().numpy()
        names = names or model.dataset_meta.get('classes')
        if names and len(names) != len(scores):
            raise ValueError(f'{len(names)} class names for a {len(scores)}-class model')
        lines = topk_lines(scores, names, args.topk)
        kind = video_score_kind(model.cfg.model.get('cls_head', {}).get('average_clips'))
        drawn = draw_video_topk(args.video, scores, names, args.topk, args.frames,
                                score_kind=kind)
    write_png(drawn, args.out, f'mmaction: {lines[0]} ({kind})')


if __name__ == '__main__':
    main()
