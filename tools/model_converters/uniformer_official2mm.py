#!/usr/bin/env python
"""Convert an official UniFormer release file to an OpenMMLab 2.0 checkpoint.

Handles every release kind (detected from the keys; ``--kind`` forces one):

* ImageNet ``uniformer_*_in1k.pth`` (``{'model'}``, incl. layer-scale and S-plus conv stem),
  token labeling ``*_tl_*.pth`` (``{'state_dict'}`` with ``aux_head``), light XXS / XS;
* COCO Mask / Cascade R-CNN (mmdet 2.11 files with apex's ``amp`` entry);
* ADE20K UperNet (mmseg 0.13) and semantic FPN (PVT-style code);
* COCO top-down pose (mmpose 0.16 ``keypoint_head`` -> mmpose 1.x ``head``);
* Kinetics / Something-Something video (SlowFast ``{'model_state'}``, ``head`` ->
  ``cls_head.fc_cls``), light video.

The output is ``{'state_dict': ..., 'meta': {...}}`` of plain tensors and Python values, so it
reads with ``torch.load(weights_only=True)``; ``meta['arch']`` records the backbone
architecture (depths, widths, stem, layer scale and, when known, head_dim, which no weight
shape shows), so loading it into a config of another architecture fails with both named.
Video classifiers are put in the class order of the destination dataset (``--dst-labels``,
or the ``label_order`` of ``--config``): official files number their classes by the official
category lists, mmaction2's annotation lists by its label maps (docs/labels.md);
``meta['label_order']`` records the order of the converted rows.
With ``--config`` the file is checked against (and trimmed for) that config's model: keys
the model has no place for by design (the pose file's unused output norms, ...) are dropped,
anything else missing or unexpected is reported, and head_dim is taken from the config.

Examples::

    python tools/model_converters/uniformer_official2mm.py uniformer_small_in1k.pth \\
        uniformer_small_in1k_mm.pth --config configs/cls/uniformer_s_in1k.py
    python tools/model_converters/uniformer_official2mm.py mask_rcnn_1x_hybrid_small.pth \\
        mask_rcnn_1x_hybrid_small_mm.pth
    python tools/model_converters/uniformer_official2mm.py uniformer_small_tl_224.pth \\
        out.pth --arch tl_small     # head_dim 32: token-labeling small/base
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional


def _release_kinds() -> Dict[str, str]:
    """``RELEASE_KINDS``, read by path: importing any module of the package imports torch,
    which would make ``--help`` take seconds."""
    import importlib.util
    path = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'uniformer_mm',
                    'checkpoint', 'release_kinds.py')
    spec = importlib.util.spec_from_file_location('_uniformer_mm_release_kinds', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.RELEASE_KINDS


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (parsed before torch is imported)."""
    RELEASE_KINDS = _release_kinds()
    kinds = '; '.join(f'{k}: {v}' for k, v in RELEASE_KINDS.items())
    parser = argparse.ArgumentParser(
        description='Convert an official UniFormer checkpoint to OpenMMLab 2.0',
        epilog=f'Release kinds: {kinds}.')
    parser.add_argument('src', help='official release file (or an OpenMMLab 2.0 checkpoint)')
    parser.add_argument('dst', help='output file (.pth)')
    parser.add_argument('--config', help='check the result against this config\'s model and '
                        'take head_dim from it')
    parser.add_argument('--kind', choices=sorted(RELEASE_KINDS),
                        help='the release kind (detected from the keys by default)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--arch', help='official arch name (e.g. small, tl_small, xs) whose '
                       'head_dim to record')
    group.add_argument('--head-dim', type=int, help='head_dim to record')
    parser.add_argument('--ema', action='store_true',
                        help='convert the EMA weights (model_ema / state_dict_ema)')
    parser.add_argument('--src-labels', help='class order of the classifier rows in SRC: a '
                        'registered order (official_k400, mmaction2_sthv2, ...), a label file '
                        '(or several joined by ","), or "none" to keep the rows as they are; '
                        'default: an official video file is in the official order of the '
                        'destination\'s dataset, an OpenMMLab file in its meta["label_order"] '
                        '(docs/labels.md)')
    parser.add_argument('--dst-labels', help='class order to put the classifier rows in '
                        '(default: the label_order of --config, e.g. mmaction2_k400)')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='config overrides, key=value (with --config)')
    return parser.parse_args(argv)


def _arch_head_dim(name: str) -> int:
    """head_dim of an official arch name (``KNOWN_ARCHS`` rows: family, name, ..., head_dim)."""
    from uniformer_mm.checkpoint import KNOWN_ARCHS
    found = {row[4] for row in KNOWN_ARCHS if row[1] == name}
    if not found:
        names = sorted({row[1] for row in KNOWN_ARCHS})
        raise ValueError(f'--arch {name!r} is not an official UniFormer arch; choose one of '
                         f'{names} or give --head-dim')
    if len(found) > 1:  # the same name in two families with different head_dim
        raise ValueError(f'--arch {name!r} is ambiguous (head_dim {sorted(found)}); give '
                         '--head-dim')
    return found.pop()


def fit_to_config(ckpt: Dict, config: str, cfg_options: Optional[List[str]] = None) -> None:
    """Check ``ckpt`` against the model of ``config`` and trim keys it has no place for.

    Raises:
        ArchMismatchError / ShapeMismatchError: Another architecture, naming both.
        ValueError: The release belongs to another toolbox than the config.
    """
    from uniformer_mm import apis, cli
    from uniformer_mm.checkpoint import ShapeMismatchError, describe_state_dict, strip_prefix
    from uniformer_mm.checkpoint.protocol import backbone_of, protocol_of
    from uniformer_mm.checkpoint.release import (RELEASE_KINDS, RELEASE_TOOLBOX,
                                                 check_same_arch, model_arch)

    cfg = apis.load_config(config, cli.parse_cfg_options(cfg_options))
    scope = apis.toolbox_of(cfg)
    meta, sd = ckpt['meta'], ckpt['state_dict']
    kind = meta['release_kind']
    toolbox = RELEASE_TOOLBOX[kind]
    print(f'building the model of {config} ({scope}) to check the conversion ...', flush=True)
    model = apis.build_model(cfg)
    own = model.state_dict()
    if toolbox is not None and toolbox != scope:
        if kind in ('image', 'image_tl', 'image_light', 'video', 'video_light'):
            # A classification file for a downstream config: keep the backbone only, which is
            # what such a config starts from.
            sd = OrderedDict((k, v) for k, v in sd.items() if k.startswith('backbone.'))
            print(f'note: {RELEASE_KINDS[kind]} for a {scope} config: keeping the '
                  f'{len(sd)} backbone tensors only', flush=True)
        else:
            raise ValueError(f'{kind} release ({RELEASE_KINDS[kind]}) cannot be converted for '
                             f'the {scope} config {config!r}; use a {toolbox} config')
    # An image file for a video config is inflated below, so only its dimensionality differs.
    check_same_arch(sd, model, meta, meta.get('source', 'checkpoint'), f'config {config!r}',
                    ignore=('ndim', ) if scope == 'mmaction' else ())
    backbone = backbone_of(model)
    if backbone is not model:
        # The backbone's own rules (its loading protocol, as on the init_cfg and tools/test.py
        # routes): drop what this configuration has no module for (the classification BN of
        # a dense backbone, output norms outside out_indices), inflate 2D kernels for a 3D
        # backbone.
        part = protocol_of(backbone).convert_pretrained(dict(strip_prefix(sd, 'backbone.')))
        sd = OrderedDict([*(('backbone.' + k, v) for k, v in part.items()),
                          *((k, v) for k, v in sd.items() if not k.startswith('backbone.'))])
    bad = [f'  {k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
           for k, v in sd.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise ShapeMismatchError(
            f'the converted weights do not fit the model of {config!r}:\n' + '\n'.join(bad[:20])
            + f'\nfile:  {describe_state_dict(strip_prefix(sd, "backbone."), meta)}'
            + f'\nmodel: {model_arch(model)[0]}')
    missing = [k for k in own if k not in sd and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in sd if k not in own]
    info, arch = model_arch(model)
    if info.depths:  # the config's UniFormer, now known to match (and to know head_dim)
        meta['arch'] = arch
        meta.pop('head_dim_candidates', None)
        meta['arch_description'] = str(describe_state_dict(strip_prefix(sd, 'backbone.'), meta))
    meta['config'] = osp.basename(config)
    meta['toolbox'] = scope  # the layout now is that of this config's model
    ckpt['state_dict'] = sd
    from uniformer_mm.checkpoint import summarize_keys
    print(f'checked against {config}: {len(sd) - len(unexpected)} of {len(own)} model tensors '
          f'covered', flush=True)
    if missing:
        print(f'  MISSING in the file ({len(missing)}; they keep their initialisation): '
              f'{summarize_keys(missing)}', flush=True)
    if unexpected:
        print(f'  UNEXPECTED in the file ({len(unexpected)}; not used by this config): '
              f'{summarize_keys(unexpected)}', flush=True)


def main(argv=None) -> None:
    """Convert SRC to DST (see the module docstring)."""
    args = parse_args(argv)
    import torch

    from uniformer_mm import apis, cli  # after parsing: --help stays fast
    cli.quiet_known_messages()
    from uniformer_mm.checkpoint import HEAD_DIM_TRAP, CheckpointError
    from uniformer_mm.checkpoint.release import RELEASE_KINDS, convert_release_file

    # KeyError too: a checkpoint without the state_dict entry its layout needs
    with cli.exit_on_error(*cli.USER_ERRORS, KeyError, CheckpointError):
        if not osp.isfile(args.src):
            raise FileNotFoundError(f'source checkpoint {args.src!r} does not exist')
        if osp.abspath(args.src) == osp.abspath(args.dst):
            raise ValueError('dst must differ from src (the source file is never overwritten)')
        head_dim = args.head_dim or (_arch_head_dim(args.arch) if args.arch else None)
        dst_labels = args.dst_labels or (
            apis.load_config(args.config, cli.parse_cfg_options(args.cfg_options))
            .get('label_order') if args.config else None)
        print(f'reading {args.src} (weights_only=True) ...', flush=True)
        ckpt = convert_release_file(args.src, kind=args.kind, head_dim=head_dim, ema=args.ema,
                                    src_labels=args.src_labels, dst_labels=dst_labels)
        meta = ckpt['meta']
        print(f'release kind: {meta["release_kind"]} ({RELEASE_KINDS[meta["release_kind"]]})',
              flush=True)
        if args.config:
            fit_to_config(ckpt, args.config, args.cfg_options)

    if 'arch_description' in meta:
        print(f'architecture: {meta["arch_description"]}', flush=True)
    if meta.get('head_dim_candidates'):
        cands = ', '.join(f'{n}: {hd}' for n, hd in meta['head_dim_candidates'].items())
        print(f'WARNING: head_dim not recorded: these weights fit official models with '
              f'different head_dim ({cands}). Pass --arch NAME, --head-dim N or --config CFG. '
              f'{HEAD_DIM_TRAP}', flush=True)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(ckpt, args.dst)
    # The promise of this tool: the result reads without any allow-list.
    back = torch.load(args.dst, map_location='cpu', weights_only=True)
    assert len(back['state_dict']) == len(ckpt['state_dict'])
    print(f'saved {len(ckpt["state_dict"])} tensors to {args.dst} '
          f'(toolbox: {meta.get("toolbox") or "any"}; reads with weights_only=True)', flush=True)


if __name__ == '__main__':
    main()
