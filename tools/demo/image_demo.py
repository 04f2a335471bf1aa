#!/usr/bin/env python
"""Run a UniFormer config + checkpoint on one image and write the drawn result as PNG.

The config's toolbox decides what is drawn, with that toolbox's own inference function and
visualizer: mmdet boxes and masks, mmseg the class overlay, mmpose keypoints and skeleton
(top-down: on the given --bbox or the whole image), mmpretrain the top-5 labels with scores.
CHECKPOINT may be an official release file (converted on the fly) or an OpenMMLab 2.0 file.

Examples::

    python tools/demo/image_demo.py demo.jpg configs/det/mask_rcnn_uniformer_s.py \\
        mask_rcnn_1x_hybrid_small.pth --out vis/det.png
    python tools/demo/image_demo.py person.jpg CONFIG CHECKPOINT --out pose.png --bbox 10 5 90 120
"""
import argparse
from typing import Tuple

import numpy as np

# tools/demo/_common.py: this script's folder is first on sys.path
from _common import check_demo_paths, demo_arg_parser, write_png


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    parser = demo_arg_parser('UniFormer image demo', 'img', 'image file',
                             'config file (mmpretrain, mmdet, mmseg or mmpose)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='minimum box score to draw (mmdet)')
    parser.add_argument('--kpt-thr', type=float, default=0.0,
                        help='minimum keypoint score to draw (mmpose)')
    parser.add_argument('--opacity', type=float, default=0.5, help='overlay opacity (mmseg)')
    parser.add_argument('--bbox', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box for top-down pose (default: the whole image)')
    parser.add_argument('--topk', type=int, default=5, help='labels to list (mmpretrain)')
    return parser.parse_args(argv)


def run(img_path: str, model, out: str, args: argparse.Namespace) -> Tuple[str, np.ndarray]:
    """Infer and draw with the model's toolbox; returns (summary, drawn RGB image)."""
    import mmcv
    from mmengine.registry import VISUALIZERS

    from uniformer_mm import apis
    from uniformer_mm.engine.visualization import draw_labels, topk_lines

    cfg = model.cfg
    scope = apis.toolbox_of(cfg)
    img = mmcv.imread(img_path, channel_order='rgb')
    meta = model.dataset_meta
    if scope == 'mmdet':
        from mmdet.apis import inference_detector
        result = inference_detector(model, img_path)
        vis = VISUALIZERS.build(dict(cfg.visualizer, name='uniformer_mm_demo'))
        vis.dataset_meta = meta
        vis.add_datasample('result', img, data_sample=result, draw_gt=False,
                           pred_score_thr=args.score_thr)
        inst = result.pred_instances
        n = int((inst.scores >= args.score_thr).sum())
        return f'{n} detections with score >= {args.score_thr}', vis.get_image()
    if scope == 'mmseg':
        from mmseg.apis import inference_model
        result = inference_model(model, img_path)
        vis = VISUALIZERS.build(dict(cfg.visualizer, name='uniformer_mm_demo', alpha=args.opacity))
        vis.dataset_meta = dict(classes=meta['classes'], palette=meta['palette'])
        vis.add_datasample('result', img, data_sample=result, draw_gt=False, with_labels=False)
        labels = result.pred_sem_seg.data.unique().tolist()
        names = [meta['classes'][i] for i in labels if i < len(meta['classes'])]
        return f'classes present: {names}', vis.get_image()
    if scope == 'mmpose':
        from mmpose.apis import inference_topdown
        from mmpose.structures import merge_data_samples
        bboxes = np.array([args.bbox], np.float32) if args.bbox else None
        result = merge_data_samples(inference_topdown(model, img_path, bboxes=bboxes))
        vis = VISUALIZERS.build(dict(cfg.visualizer, name='uniformer_mm_demo', radius=2,
                                     line_width=1))
        vis.set_dataset_meta(meta)
        vis.add_datasample('result', img, data_sample=result, draw_gt=False, draw_bbox=True,
                           kpt_thr=args.kpt_thr)
        scores = result.pred_instances.keypoint_scores
        return f'17 keypoints, mean score {float(np.mean(scores)):.3f}', vis.get_image()
    if scope == 'mmpretrain':
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(model=model, pretrained=False,
                                                   device='cpu')
        pred = inferencer(img_path)[0]
        scores = np.asarray(pred['pred_scores'])
        lines = topk_lines(scores, meta.get('classes'), args.topk)
        return lines[0], draw_labels(img, lines, f'top-{min(args.topk, len(scores))}')
    raise ValueError(f'{scope} configs take videos: use tools/demo/video_demo.py')


def main(argv=None) -> None:
    """Run the demo and write ``--out``."""
    args = parse_args(argv)
    from uniformer_mm import cli
    cli.quiet_known_messages()
    from uniformer_mm import apis
    from uniformer_mm.checkpoint import CheckpointError

    with cli.exit_on_error(*cli.USER_ERRORS, CheckpointError):
        check_demo_paths(args.img, 'image', args.out)
        model = apis.init_inference_model(args.config, args.checkpoint)
        summary, drawn = run(args.img, model, args.out, args)
    write_png(drawn, args.out, f'{apis.toolbox_of(model.cfg)}: {summary}')


if __name__ == '__main__':
    main()
