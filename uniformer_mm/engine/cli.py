"""Shared logic of ``tools/train.py``, ``tools/test.py`` and the other tools (all toolboxes).

The config's ``default_scope`` selects the toolbox; everything else is mmengine's Runner, so
the flags behave as in each toolbox's own scripts. :func:`exit_on_error` is how every tool
reports a user's mistake: one ``error: ...`` line (the traceback with ``UNIFORMER_MM_DEBUG=1``).
Importing this module takes seconds (torch, mmengine): tools import it after parsing their
arguments where ``--help`` should stay instant.
"""
import argparse  # noqa: F401  (type hints)
import contextlib
import logging
import os
import os.path as osp
import re
import sys
from copy import deepcopy
from typing import Any, Iterator, Optional, Type

import torch.nn as nn

from mmengine.config import Config, ConfigDict

from ..registry import TOOLBOXES, MissingToolboxError, require_toolbox

__all__ = ['USER_ERRORS', 'exit_on_error', 'add_launch_args', 'parse_launch_args',
           'load_config', 'toolbox_of', 'set_work_dir', 'enable_amp', 'enable_auto_scale_lr',
           'enable_visualization', 'enable_tta', 'add_dump_results', 'build_model',
           'inner_model', 'load_test_checkpoint', 'setup_cpu_distributed',
           'init_inference_model', 'class_names', 'check_data_paths',
           'find_resume_checkpoint', 'fall_back_to_fp32_without_accelerator',
           'make_interruptible']

# default_scope -> import name of the toolbox (they coincide for the five toolboxes)
_SCOPES = {'mmpretrain', 'mmdet', 'mmseg', 'mmpose', 'mmaction'}

#: A user's mistakes in the command line or config: a missing file, a toolbox that is not
#: installed (``MissingToolboxError`` is an ``ImportError``), a bad value. Their messages say
#: what to do. Tools that load checkpoints add ``uniformer_mm.checkpoint.CheckpointError``.
USER_ERRORS = (FileNotFoundError, ImportError, ValueError)


@contextlib.contextmanager
def exit_on_error(*errors: Type[BaseException]) -> Iterator[None]:
    """Exit with ``error: <message>`` (status 1) when one of ``errors`` escapes the block.

    The command-line tools wrap the steps whose failures are the user's to fix in this: the
    message names the file, flag or package and what to do, while the traceback would only
    show library internals. With the environment variable ``UNIFORMER_MM_DEBUG`` set
    (e.g. ``UNIFORMER_MM_DEBUG=1``) the exception propagates with its traceback instead.
    Other exceptions always propagate: they are bugs, and their traceback is what helps.

    Example::

        args = parse_args(argv)  # first, so that --help does not wait for heavy imports
        with cli.exit_on_error(*cli.USER_ERRORS, CheckpointError):
            ...

    Args:
        *errors (type): The exception classes to report in one line; at least one.

    Raises:
        SystemExit: With the message ``error: <the exception's message>``.
    """
    if not errors:
        raise TypeError('exit_on_error() needs the exception classes to report')
    try:
        yield
    except errors as e:
        if os.environ.get('UNIFORMER_MM_DEBUG'):
            raise
        sys.exit(f'error: {e}')


def add_launch_args(parser: 'argparse.ArgumentParser') -> None:
    """Add the flags train.py and test.py share: --cfg-options, --launcher, --local-rank."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. '
                        'train_dataloader.batch_size=4)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: 'argparse.ArgumentParser',
                      argv: Optional[list] = None) -> 'argparse.Namespace':
    """Parse, and export ``LOCAL_RANK`` for launchers that pass it as a flag."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, turning the usual failures into errors that say what to do.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MissingToolboxError: The config inherits from, or runs under, a toolbox that is not
            installed.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file {path!r} does not exist (working directory: {os.getcwd()}); '
            'configs live in configs/{cls,det,seg,pose,video}/')
    # `_base_ = 'mmdet::...'` needs the toolbox installed before mmengine can resolve it.
    with open(path, encoding='utf-8') as f:
        for scope in sorted(set(re.findall(r'[\'"](mm[a-z]+)::', f.read()))):
            if scope in _SCOPES:
                require_toolbox(scope, f'config {path!r} (it inherits from {scope}::)')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope in _SCOPES:
        require_toolbox(scope, f"config {path!r} (default_scope='{scope}')")
    return cfg


def toolbox_of(cfg: Config) -> str:
    """The toolbox a config runs under (its ``default_scope``)."""
    scope = cfg.get('default_scope')
    if scope not in TOOLBOXES:
        raise MissingToolboxError(
            f'config default_scope={scope!r} is not one of the supported toolboxes '
            f'{sorted(TOOLBOXES)}; set default_scope in the config')
    return scope


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str) -> None:
    """``--work-dir`` > ``work_dir`` in the file > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mmengine's ``AmpOptimWrapper`` (dynamic loss scale)."""
    if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        return
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def fall_back_to_fp32_without_accelerator(cfg: Config, amp_requested: bool = False) -> bool:
    """On a machine without GPU (or NPU/MLU/MUSA), train an AMP config in fp32.

    The paper's configs use mmengine's ``AmpOptimWrapper``, which asserts an accelerator as
    soon as it is built; without one, the config's mixed precision cannot run, but its fp32
    equivalent can (same optimizer, no loss scaling). A warning says so. An explicit ``--amp``
    on such a machine is refused instead, since the user asked for what cannot be done.

    Args:
        cfg (Config): The training config (changed in place).
        amp_requested (bool): ``--amp`` was given.

    Returns:
        bool: Whether the optimizer wrapper was switched to fp32.
    """
    from mmengine.device import get_device
    from mmengine.logging import print_log
    if cfg.get('optim_wrapper', {}).get('type') != 'AmpOptimWrapper' or get_device() != 'cpu':
        return False
    if amp_requested:
        raise ValueError('--amp needs a GPU (or NPU/MLU/MUSA) and this machine has none; '
                         'drop --amp to train in fp32')
    cfg.optim_wrapper.type = 'OptimWrapper'
    for key in ('loss_scale', 'dtype', 'use_fsdp'):  # AmpOptimWrapper-only arguments
        cfg.optim_wrapper.pop(key, None)
    print_log('no GPU found: this config trains with mixed precision (AmpOptimWrapper), '
              'which mmengine runs on an accelerator only; training in fp32 instead',
              logger='current', level=logging.WARNING)
    return True


def make_interruptible(cfg: Config) -> None:
    """Let a run stop on a signal without losing work, and resume exactly where it stopped.

    Epoch-based configs (mmengine's ``EpochBasedTrainLoop``, or ``by_epoch=True``) get
    :class:`~uniformer_mm.engine.EpochBasedTrainLoop` (same arguments; resumes mid-epoch), and
    every run gets :class:`~uniformer_mm.engine.PreemptionCheckpointHook` unless the config
    already has one.
    """
    train_cfg = cfg.get('train_cfg')
    if train_cfg is not None:
        loop = train_cfg.get('type')
        if loop == 'EpochBasedTrainLoop' or (loop is None and train_cfg.get('by_epoch')):
            cfg.train_cfg = ConfigDict({k: v for k, v in train_cfg.items()
                                        if k not in ('type', 'by_epoch', '_scope_')},
                                       type='uniformer_mm.EpochBasedTrainLoop')
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('PreemptionCheckpointHook') for h in hooks):
        cfg.custom_hooks = [*hooks, dict(type='uniformer_mm.PreemptionCheckpointHook')]


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr`` (the config must state its ``base_batch_size``)."""
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise ValueError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config '
            '(the total batch size its learning rate was tuned for)')
    cfg.auto_scale_lr.enable = True


def enable_visualization(cfg: Config, show_dir: str, interval: int = 1) -> None:
    """Make the toolbox's visualization hook write drawn predictions into ``show_dir``."""
    if cfg.get('default_scope') == 'mmaction':
        # mmaction2 1.2's VisualizationHook cannot draw NCTHW clips (and its default_runtime
        # has none); our hook draws the decoded video file with its top-5 classes instead.
        from . import visualization  # noqa: F401  (registers the hook)
        # The hook reads the video file again, so the packed samples must carry its name.
        for step in cfg.test_dataloader.dataset.get('pipeline', []):
            if step.get('type', '').split('.')[-1] == 'PackActionInputs':
                keys = tuple(step.get('meta_keys', ('img_shape', 'img_key', 'video_id',
                                                    'timestamp')))
                step['meta_keys'] = keys + (('filename', ) if 'filename' not in keys else ())
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(
            type='uniformer_mm.VideoTopkVisualizationHook', out_dir=show_dir,
            interval=interval, classes=class_names(cfg))]
        return
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError('--show-dir needs default_hooks.visualization in the config '
                         "(every toolbox's default_runtime.py defines it)")
    scope = toolbox_of(cfg)
    if scope in ('mmdet', 'mmseg'):
        hook.draw = True
        hook.interval = interval
        cfg.visualizer.save_dir = show_dir
        if scope == 'mmdet':
            hook.test_out_dir = osp.abspath(show_dir)
    else:  # mmpretrain, mmpose
        hook.enable = True
        hook.out_dir = show_dir
        hook.interval = interval


def enable_tta(cfg: Config) -> None:
    """Wrap the model in the config's ``tta_model`` and use ``tta_pipeline`` for testing."""
    scope = toolbox_of(cfg)
    if scope not in ('mmdet', 'mmseg', 'mmpretrain'):
        raise ValueError(f'--tta is not available for {scope} (test-time augmentation in '
                         'mmpose/mmaction2 is set in the test pipeline / test_cfg)')
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError('--tta needs `tta_model` and `tta_pipeline` in the config')
    cfg.model = ConfigDict(**deepcopy(cfg.tta_model), module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def add_dump_results(cfg: Config, out: str) -> None:
    """``--out``: also save the raw predictions, in the form each toolbox's own test.py uses.

    mmseg writes one prediction PNG per image into the directory ``out`` (its ``IoUMetric``
    ``output_dir``); mmdet pickles COCO-style results (``DumpDetResults``); the other
    toolboxes pickle the data samples (mmengine ``DumpResults``).
    """
    scope = toolbox_of(cfg)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    if scope == 'mmseg':
        for ev in evaluators:
            ev['output_dir'] = out
            ev['keep_results'] = True
        return
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {out!r}: the results are pickled, use a .pkl file name '
                         '(mmseg configs take a directory for the prediction PNGs)')
    dump = dict(type='DumpDetResults' if scope == 'mmdet' else 'DumpResults',
                out_file_path=out)
    cfg.test_evaluator = [*evaluators, dump]


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` under the config's toolbox scope (no weights are loaded)."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(toolbox_of(cfg))
    return MODELS.build(deepcopy(cfg.model))


def inner_model(model: nn.Module) -> nn.Module:
    """The task model inside DDP / ``MMDistributedDataParallel`` and TTA wrappers."""
    while isinstance(getattr(model, 'module', None), nn.Module):
        model = model.module
    return model


def load_test_checkpoint(model: nn.Module, checkpoint: str, config_path: str,
                         scope: Optional[str] = None, logger: Any = 'current') -> str:
    """Load a checkpoint for testing; official release files are converted on the fly.

    Every file is read with ``weights_only=True`` (:func:`load_checkpoint_file`). An official
    release (ImageNet ``{'model'}``, token labeling, video ``{'model_state'}``, mmdet 2.11,
    mmseg 0.13, mmpose 0.16, ...) is converted in memory by
    :func:`uniformer_mm.checkpoint.release.convert_release`; a checkpoint whose UniFormer is
    another architecture than the config's is refused with both named
    (:func:`~uniformer_mm.checkpoint.release.check_same_arch`), as are shape mismatches and a
    contradicting recorded ``head_dim``; missing / unexpected keys are logged as warnings.

    Args:
        model (nn.Module): The runner's model (wrappers are looked through).
        checkpoint (str): Path or URL.
        config_path (str): For messages.
        scope (str, optional): The config's toolbox; a release of another toolbox (an
            ImageNet file for an mmdet config, ...) is refused.
        logger: mmengine logger for the report.

    Returns:
        str: The release kind of the file (``'mm'`` for OpenMMLab 2.0 checkpoints).
    """
    import logging
    import os
    import tempfile

    import torch
    from mmengine.logging import print_log

    from uniformer_mm.checkpoint import load_checkpoint_file, load_pretrained, unwrap_state_dict
    from uniformer_mm.checkpoint.release import (RELEASE_KINDS, RELEASE_TOOLBOX,
                                                 check_same_arch, convert_release,
                                                 detect_release_file)

    target = inner_model(model)
    ckpt = load_checkpoint_file(checkpoint)
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else None
    state_dict, kind = convert_release(unwrap_state_dict(ckpt), detect_release_file(ckpt))
    check_same_arch(state_dict, target, meta, checkpoint, f'config {config_path!r}')
    if kind == 'mm':
        load_pretrained(target, checkpoint, logger=logger)
        return kind
    print_log(f'{checkpoint} is an official release file ({RELEASE_KINDS[kind]}); converting '
              'it on the fly. To keep a converted copy: python tools/model_converters/'
              f'uniformer_official2mm.py {checkpoint} CONVERTED.pth --config {config_path}',
              logger=logger, level=logging.INFO)
    toolbox = RELEASE_TOOLBOX[kind]
    if scope is not None and toolbox is not None and toolbox != scope:
        raise ValueError(
            f'{checkpoint!r} is {RELEASE_KINDS[kind]}: a {toolbox} model, but config '
            f'{config_path!r} is a {scope} model. Test it with a {toolbox} config; to start a '
            f'{scope} model from its backbone, put the file in the backbone\'s '
            "init_cfg=dict(type='Pretrained', checkpoint=...) and train.")
    # load_pretrained reads files (and applies its checks there); each process writes its own
    # temporary copy so that distributed ranks never share one.
    with tempfile.TemporaryDirectory(prefix='uniformer_mm_') as tmp:
        path = os.path.join(tmp, 'converted.pth')
        torch.save({'state_dict': state_dict, 'meta': meta or {}}, path)
        load_pretrained(target, path, logger=logger,
                        task='video' if toolbox == 'mmaction' else None)
    return kind


def setup_cpu_distributed(cfg: Config) -> bool:
    """Make ``--launcher pytorch`` work on a machine without CUDA (gloo, CPU DDP).

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and its DDP wrapper always
    passes ``device_ids=[LOCAL_RANK]``; both fail without a GPU. On such a machine this
    initialises the process group with gloo itself (mmengine then skips ``init_dist``), sets
    ``env_cfg.dist_cfg.backend='gloo'`` and wraps the model in a DDP without ``device_ids``.
    Nothing changes when CUDA is available or when not launched distributed.

    Returns:
        bool: Whether CPU distributed mode was set up.
    """
    import torch
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher} needs GPUs; without CUDA only --launcher '
                         'pytorch (tools/dist_train.sh / dist_test.sh, gloo on CPU) is supported')
    import datetime

    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    env_cfg.setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    if not dist.is_initialized():
        timeout = env_cfg.dist_cfg.get('timeout', 1800)
        dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=timeout))
    if 'CPUDistributedDataParallel' not in MODEL_WRAPPERS.module_dict:

        class CPUDistributedDataParallel(MMDistributedDataParallel):
            """mmengine's DDP wrapper for CPU modules (torch refuses ``device_ids`` there)."""

            def __init__(self, module: nn.Module, device_ids: Any = None, **kwargs: Any):
                super().__init__(module=module, device_ids=None, **kwargs)

        MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel)
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None or wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'CPUDistributedDataParallel'):
        wrapper = ConfigDict(wrapper or dict(broadcast_buffers=False))
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        wrapper.type = 'CPUDistributedDataParallel'
        cfg.model_wrapper_cfg = wrapper
    return True


def class_names(cfg: Config, checkpoint_meta: Optional[dict] = None) -> Optional[list]:
    """Class names for drawing: the checkpoint's ``dataset_meta``, else the config's.

    Looks at ``meta['dataset_meta']['classes']`` (mmengine Runner checkpoints), then the test
    dataset's ``metainfo.classes``, then a top-level ``classes`` of the config.
    """
    meta = (checkpoint_meta or {}).get('dataset_meta') or {}
    if meta.get('classes'):
        return list(meta['classes'])
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return list(metainfo['classes'])
    return list(cfg['classes']) if cfg.get('classes') else None


def init_inference_model(config: str, checkpoint: str,
                         cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a config's model for inference and load a checkpoint (official files too).

    The model gets ``model.cfg`` (the toolboxes' ``inference_*`` functions read the test
    pipeline from it) and ``model.dataset_meta`` (class names, palette, keypoint metadata)
    for their visualizers; it is in eval mode on the CPU.
    """
    from uniformer_mm.checkpoint import load_checkpoint_file

    cfg = load_config(config, cfg_options)
    scope = toolbox_of(cfg)
    # Pretrained backbone files of the config are not needed: the checkpoint replaces them.
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.pop('init_cfg', None)
    model = build_model(cfg)
    load_test_checkpoint(model, checkpoint, config, scope=scope)
    ckpt_meta = load_checkpoint_file(checkpoint).get('meta')
    ckpt_meta = ckpt_meta if isinstance(ckpt_meta, dict) else {}
    meta: dict = dict(ckpt_meta.get('dataset_meta') or {})
    if scope == 'mmpose' and 'keypoint_info' not in meta:
        from mmpose.apis.inference import dataset_meta_from_config
        meta = dataset_meta_from_config(cfg, dataset_mode='test') or meta
    names = class_names(cfg, ckpt_meta)
    if names:
        meta.setdefault('classes', names)
        if scope == 'mmseg' and 'palette' not in meta:
            palette = cfg.test_dataloader.dataset.get('metainfo', {}).get('palette')
            meta['palette'] = palette or [[(37 * i) % 256, (97 * i) % 256, (173 * i) % 256]
                                          for i in range(len(names))]
    model.dataset_meta = meta
    model.cfg = cfg
    model._config = cfg  # mmpretrain's inferencers read the config from here
    return model.eval()


def _dataset_dicts(dataset: Any, where: str) -> list:
    """``(config key, dataset dict)`` of a dataset config and of the datasets it wraps."""
    if not isinstance(dataset, dict):
        return []
    out = [(where, dataset)]
    if isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset, ...
        out += _dataset_dicts(dataset['dataset'], where + '.dataset')
    for i, sub in enumerate(dataset.get('datasets') or []):  # ConcatDataset
        out += _dataset_dicts(sub, f'{where}.datasets[{i}]')
    return out


def check_data_paths(cfg: Config, splits: tuple = ('train', 'val', 'test')) -> None:
    """Refuse a config whose dataset paths do not exist, before any toolbox code runs.

    Without this, a wrong ``data_root`` surfaces as an exception from inside the toolbox's
    dataset (or a dataset of length 0) after the model is built. Checked for each
    ``<split>_dataloader.dataset`` (and the datasets it wraps): ``data_root``, ``ann_file``
    and every ``data_prefix`` entry, each joined to ``data_root`` as mmengine's
    ``BaseDataset`` does when relative, and the ``label_root`` of a token-labeling pipeline.
    Remote paths (``s3://``, ``http://`` ...) are skipped.

    Args:
        cfg (Config): The loaded config.
        splits (tuple): The dataloaders the command will use (``train``/``val`` for training,
            ``test`` for testing).

    Raises:
        FileNotFoundError: Naming the config key, the path and how to fix it.
    """
    missing = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for key, ds in _dataset_dicts(loader.get('dataset'), f'{split}_dataloader.dataset'):
            root = ds.get('data_root') or ''
            if root and '://' not in root and not osp.isdir(root):
                # Everything below it is missing too: name the root only.
                missing.append(f'{key}.data_root = {root!r}')
                continue
            paths = []
            if isinstance(ds.get('ann_file'), str) and ds['ann_file']:
                paths.append((f'{key}.ann_file', ds['ann_file']))
            prefix = ds.get('data_prefix')
            if isinstance(prefix, str) and prefix:
                paths.append((f'{key}.data_prefix', prefix))
            elif isinstance(prefix, dict):
                paths += [(f'{key}.data_prefix.{k}', v) for k, v in prefix.items()
                          if isinstance(v, str) and v]
            for name, path in paths:
                full = path if osp.isabs(path) else osp.join(root, path)
                if '://' in full:  # object storage / URLs: not for os.path to judge
                    continue
                if not osp.exists(full):
                    missing.append(f'{name} = {path!r} (resolved: {full!r})')
            # Files a transform reads besides the samples (token labeling's dense labels).
            for i, t in enumerate(ds.get('pipeline') or []):
                label_root = t.get('label_root') if isinstance(t, dict) else None
                if (isinstance(label_root, str) and '://' not in label_root
                        and str(t.get('type', '')).endswith('LoadTokenLabel')
                        and not osp.isdir(label_root)):
                    missing.append(f'{key}.pipeline.{i}.label_root = {label_root!r}')
    if missing:
        raise FileNotFoundError(
            'the config points at data that does not exist:\n  ' + '\n  '.join(missing) +
            '\nFix: put the dataset there, or pass its location, e.g. --cfg-options '
            f'{missing[0].split(" = ")[0]}=/path/to/data (the demo configs read '
            '$UNIFORMER_MM_DEMO_DATA; generate the demo data with python '
            'tools/demo/make_data.py DIR).')


_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest *complete* checkpoint of a work dir, for ``--resume`` without a path.

    mmengine's own lookup trusts ``<work_dir>/last_checkpoint``. After a kill that is not
    always a complete file: ``CheckpointHook`` deletes the oldest checkpoint (beyond
    ``max_keep_ckpts``) *before* writing the new one and writes the new file in place, so a
    kill during the write leaves a truncated ``iter_N.pth``, and with ``max_keep_ckpts=1``
    ``last_checkpoint`` then names a deleted file. Here the candidates are the file named by
    ``last_checkpoint`` and every ``iter_*.pth`` / ``epoch_*.pth``, newest first (by
    modification time); the first one that is a complete zip archive (a torch checkpoint
    whose end-of-archive directory was written) wins. Skipped files are reported.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint to resume from; None if the work dir holds none.

    Raises:
        FileNotFoundError: Checkpoints exist but none is complete (resuming would silently
            start over); the message lists them.
    """
    import logging
    import zipfile

    from mmengine.logging import print_log

    if not osp.isdir(work_dir):
        return None
    candidates = [osp.join(work_dir, n) for n in os.listdir(work_dir) if _CKPT_NAME.match(n)]
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            named = f.read().strip() or None
    if named and named not in candidates:
        candidates.append(named)
    if not candidates:
        return None
    candidates.sort(key=lambda p: osp.getmtime(p) if osp.exists(p) else -1.0, reverse=True)
    skipped = []
    for path in candidates:
        if osp.isfile(path) and zipfile.is_zipfile(path):
            if skipped:
                print_log(f'--resume: skipping {"; ".join(skipped)}; resuming from {path}',
                          logger='current', level=logging.WARNING)
            return path
        skipped.append(f'{path} ({"incomplete" if osp.isfile(path) else "missing"})')
    raise FileNotFoundError(
        f'--resume: {work_dir!r} has checkpoints but none is complete: {"; ".join(skipped)}. '
        'Resume from a copy with --resume PATH, or delete them to start over.')
