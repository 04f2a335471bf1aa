"""The bad-input, odd-input and unsafe-file cases of issue 9, as data.

Each :class:`Case` runs one input through the public entry point a user would hit (a backbone
constructor or forward, ``load_pretrained`` through ``init_cfg``, ``tools/train.py``,
``tools/test.py``, the converter, mmengine's resume and URL loaders) and states the outcome
the issue asks for: a clear error of a given type whose message names the value and the fix,
or (for odd but valid inputs) success. ``tests/test_reliability.py`` runs the cases no older
test covers; ``tools/reliability/report.py`` runs them all and prints each message into
``docs/reliability.md``.
``covered_by`` names the older test of a case (``tests/test_reliability.py`` checks that those
tests exist).

Unsafe files carry a ``__reduce__`` payload that creates a marker directory when unpickled
without ``weights_only``; a case passes only if the load is refused *and* the marker is absent.
"""
import contextlib
import functools
import http.server
import importlib.util
import io
import logging
import os
import os.path as osp
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type

import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
DEMO_CLS = osp.join(ROOT, 'configs/demo/cls_uniformer_tiny_shapes.py')
DEMO_DET = osp.join(ROOT, 'configs/demo/det_mask_rcnn_uniformer_tiny_coco_demo.py')
TINY = dict(depths=(1, 1, 1, 1), embed_dims=(16, 32, 64, 128), head_dim=16)


@dataclass
class Case:
    """One input and the outcome the issue asks for.

    Attributes:
        key (str): Short id (also the pytest id).
        issue (str): The issue's wording of the case.
        entry (str): The entry point exercised.
        run (callable): ``run(ctx) -> Any``; ``ctx`` is a :class:`Context`.
        expect (type, optional): The exception type expected; None if the input is valid.
        mention (tuple): Substrings the message must contain (the value and the fix).
        covered_by (str, optional): ``path::test`` of an older test covering the case.
        unsafe (bool): The input is a file with a code payload (the marker must stay absent).
    """
    key: str
    issue: str
    entry: str
    run: Callable[['Context'], Any]
    expect: Optional[Type[BaseException]] = None
    mention: Tuple[str, ...] = ()
    covered_by: Optional[str] = None
    unsafe: bool = False


@dataclass
class Outcome:
    """What running a case gave."""
    passed: bool
    error: str = ''  # exception type name ('' if none)
    message: str = ''
    problems: List[str] = field(default_factory=list)


class Context:
    """Scratch directory, demo data and the files the cases feed in."""

    def __init__(self, tmp: str, data_root: str) -> None:
        self.tmp = tmp
        self.data_root = data_root
        self.marker = osp.join(tmp, 'PAYLOAD_RAN')
        self._files: Dict[str, str] = {}

    def path(self, name: str) -> str:
        """A fresh path in the scratch directory."""
        return osp.join(self.tmp, name)

    def file(self, kind: str) -> str:
        """A checkpoint of ``kind`` (written once): ``unsafe``, ``truncated``, ``video``,
        ``deeper_mm`` (an mm-layout classifier whose backbone has two stage-1 blocks)."""
        if kind not in self._files:
            path = self.path(f'{kind}.pth')
            _WRITERS[kind](self, path)
            self._files[kind] = path
        return self._files[kind]


# --------------------------------------------------------------------------- files
class _Payload:
    """Unpickling this runs ``os.mkdir(marker)``: what a malicious checkpoint would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Tuple[Callable, Tuple[str]]:
        return os.mkdir, (self.marker, )


def _tiny_state_dict() -> Dict[str, torch.Tensor]:
    from uniformer_mm.models.backbones.uniformer import UniFormer
    return UniFormer(arch=dict(TINY)).state_dict()


def _write_unsafe(ctx: Context, path: str) -> None:
    torch.save({'state_dict': _tiny_state_dict(), 'meta': {'note': _Payload(ctx.marker)}}, path)


def _write_truncated(ctx: Context, path: str) -> None:
    torch.save({'state_dict': _tiny_state_dict()}, path)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:  # an interrupted download: the first 60 %
        f.write(data[:len(data) * 6 // 10])


def _write_video(ctx: Context, path: str) -> None:
    from uniformer_mm.models.backbones.uniformer3d import UniFormer3D
    torch.save({'model_state': UniFormer3D(arch=dict(TINY)).state_dict()}, path)


def _write_deeper_mm(ctx: Context, path: str) -> None:
    from uniformer_mm.models.backbones.uniformer import UniFormer
    sd = UniFormer(arch=dict(TINY, depths=(2, 1, 1, 1))).state_dict()
    sd = {'backbone.' + k: v for k, v in sd.items()}
    sd['head.fc.weight'], sd['head.fc.bias'] = torch.zeros(4, 128), torch.zeros(4)
    torch.save({'state_dict': sd, 'meta': {'converted_by': 'uniformer_mm'}}, path)


_WRITERS: Dict[str, Callable[[Context, str], None]] = dict(
    unsafe=_write_unsafe, truncated=_write_truncated, video=_write_video,
    deeper_mm=_write_deeper_mm)


def payload_is_live(ctx: Context) -> bool:
    """Whether the unsafe file really runs its payload when loaded without ``weights_only``.

    Proves the security cases can fail: the same file opened unsafely creates the marker
    (which is removed again).
    """
    torch.load(ctx.file('unsafe'), map_location='cpu', weights_only=False)
    live = osp.isdir(ctx.marker)
    if live:
        os.rmdir(ctx.marker)
    return live


# --------------------------------------------------------------------------- entry points
def _tool(relpath: str) -> Any:
    """Import a script under ``tools/`` as a module (they are not a package)."""
    name = 'uniformer_mm_tool_' + relpath.replace('/', '_').replace('.py', '')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, relpath))
        module = importlib.util.module_from_spec(spec)
        # as for a script run by Python: its folder first on sys.path (tools/_launch_flags.py)
        sys.path.insert(0, osp.dirname(osp.join(ROOT, relpath)))
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        finally:
            sys.path.pop(0)
        sys.modules[name] = module
    return sys.modules[name]


class ToolExit(Exception):
    """A tool ended with ``sys.exit(message)``: its one-line error, as the user sees it."""


@contextlib.contextmanager
def demo_data_env(root: str) -> Iterator[None]:
    """``$UNIFORMER_MM_DEMO_DATA`` (read by the demo configs) set to ``root`` for a while."""
    old = os.environ.get('UNIFORMER_MM_DEMO_DATA')
    os.environ['UNIFORMER_MM_DEMO_DATA'] = root
    try:
        yield
    finally:
        if old is None:
            os.environ.pop('UNIFORMER_MM_DEMO_DATA', None)
        else:
            os.environ['UNIFORMER_MM_DEMO_DATA'] = old


def _run_tool(relpath: str, argv: List[str], ctx: Context) -> Any:
    out = io.StringIO()
    try:
        with demo_data_env(ctx.data_root), contextlib.redirect_stdout(out):
            return _tool(relpath).main(argv)
    except SystemExit as e:
        if e.code in (0, None):
            return None
        raise ToolExit(str(e.code)) from None


def train_tool(ctx: Context, *args: str, config: str = DEMO_CLS) -> Any:
    """``tools/train.py CONFIG --work-dir ... ARGS`` in this process."""
    return _run_tool('tools/train.py', [config, '--work-dir', ctx.path('train_wd'), *args], ctx)


def test_tool(ctx: Context, checkpoint: str, config: str = DEMO_CLS) -> Any:
    """``tools/test.py CONFIG CHECKPOINT --work-dir ...`` in this process."""
    return _run_tool('tools/test.py', [config, checkpoint, '--work-dir', ctx.path('test_wd')],
                     ctx)


def convert_tool(ctx: Context, src: str) -> Any:
    """``tools/model_converters/uniformer_official2mm.py SRC DST`` in this process."""
    return _run_tool('tools/model_converters/uniformer_official2mm.py',
                     [src, ctx.path('converted.pth')], ctx)


def _inference_model(ctx: Context, checkpoint: str) -> Any:
    """What ``tools/demo/image_demo.py`` does first: a model from a config and a checkpoint."""
    from uniformer_mm.apis import init_model
    with demo_data_env(ctx.data_root):
        return init_model(DEMO_CLS, checkpoint)


def init_cfg_load(ctx: Context, path: str, model: str = '2d') -> Any:
    """A backbone with ``init_cfg=dict(type='Pretrained', checkpoint=path)``, initialised."""
    from uniformer_mm.models.backbones.uniformer import UniFormer
    from uniformer_mm.models.backbones.uniformer3d import UniFormer3D
    cls = UniFormer if model == '2d' else UniFormer3D
    net = cls(arch=dict(TINY), init_cfg=dict(type='Pretrained', checkpoint=path))
    net.init_weights()
    return net


@contextlib.contextmanager
def http_server(directory: str) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def _hub_dir(path: str) -> Iterator[None]:
    """Download into ``path`` instead of the user's torch hub cache."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(path)
    try:
        yield
    finally:
        torch.hub.set_dir(old)


def url_load(ctx: Context, via: str) -> Any:
    """Load the unsafe file from a local HTTP server, through mmengine or our loader."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from uniformer_mm.checkpoint import load_checkpoint_file
    served = ctx.path(f'served_{via}')
    os.makedirs(served, exist_ok=True)
    with open(ctx.file('unsafe'), 'rb') as src, open(osp.join(served, 'evil.pth'), 'wb') as dst:
        dst.write(src.read())
    with http_server(served) as base, _hub_dir(ctx.path(f'hub_{via}')):
        if via == 'mmengine':  # what load_from / Pretrained init_cfg of toolbox modules use
            return CheckpointLoader.load_checkpoint(f'{base}/evil.pth', map_location='cpu')
        return load_checkpoint_file(f'{base}/evil.pth')


# --------------------------------------------------------------------------- models
def _2d(arch: Any = None, **kw: Any) -> Any:
    from uniformer_mm.models.backbones.uniformer import UniFormer
    return UniFormer(arch=dict(TINY) if arch is None else arch, **kw)


def _3d(arch: Any = None, **kw: Any) -> Any:
    from uniformer_mm.models.backbones.uniformer3d import UniFormer3D
    return UniFormer3D(arch=dict(TINY) if arch is None else arch, **kw)


def _light(arch: Any = None, **kw: Any) -> Any:
    from uniformer_mm.models.backbones.uniformer_light import UniFormerLight
    return UniFormerLight(dict(TINY) if arch is None else arch, **kw)


def _light3d(arch: Any = None, **kw: Any) -> Any:
    from uniformer_mm.models.backbones.uniformer_light import UniFormerLight3D
    return UniFormerLight3D(dict(TINY) if arch is None else arch, **kw)


def _read(path: str) -> Any:
    from uniformer_mm.checkpoint import load_checkpoint_file
    return load_checkpoint_file(path)


def _flat(out: Any) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in _flat(o)]


def _train_step_batch1(model: Any, x: torch.Tensor) -> Any:
    """Forward + backward of one sample in train mode; returns the output shapes."""
    model.train()
    outs = _flat(model(x))
    loss = sum(o.float().sum() for o in outs)
    loss.backward()
    if not any(p.grad is not None for p in model.parameters()):
        raise AssertionError('nothing was trained')
    return [tuple(o.shape) for o in outs]


def _head_dim_warning(ctx: Context) -> str:
    """An official token-labeling small file (layout only) checked against a head_dim-64
    model: returns the warning the loader logs (it must name both head_dims)."""
    from mmengine.logging import MMLogger

    from uniformer_mm.checkpoint import describe_state_dict
    from uniformer_mm.checkpoint.loading import _check_head_dim
    from uniformer_mm.models.backbones.uniformer import UniFormer
    sd: Dict[str, torch.Tensor] = {}
    keys = osp.join(ROOT, 'tests/data/keys/tl_uniformer_small.txt')
    with open(keys, encoding='utf-8') as f:
        for line in f.read().splitlines()[1:]:
            key, shape = line.split('\t')
            sd[key] = torch.empty(tuple(int(s) for s in shape.strip('()[] ').split(',') if s),
                                  device='meta')
    with torch.device('meta'):
        model = UniFormer(arch=dict(depths=(3, 4, 8, 3), embed_dims=(64, 128, 320, 512),
                                    head_dim=64))
    records: List[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[assignment]
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        _check_head_dim(model, None, describe_state_dict(sd), 'uniformer_small_tl_224.pth',
                        'current')
    finally:
        logger.removeHandler(handler)
    if not records:
        raise AssertionError('no warning about head_dim was logged')
    # Reported like an error so that the case table shows the message.
    raise UserWarning(records[0].getMessage())


def _recorded_head_dim(ctx: Context) -> Any:
    """A converted file recording head_dim 32 (``meta['arch']``) into a head_dim-16 model."""
    from uniformer_mm.checkpoint import load_pretrained
    path = ctx.path('tl_recorded.pth')
    torch.save({'state_dict': _tiny_state_dict(), 'meta': {'arch': dict(TINY, head_dim=32)}},
               path)
    return load_pretrained(_2d(), path)


def _pipeline_on_gray(ctx: Context, config: str, scope: str) -> Dict[str, Any]:
    """A grayscale PNG through a config's test pipeline and model; returns the shapes seen."""
    import cv2
    import numpy as np
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import MODELS, init_default_scope

    gray = ctx.path('gray.png')
    yy, xx = np.mgrid[0:70, 0:90]
    cv2.imwrite(gray, ((xx * 3 + yy * 2) % 256).astype(np.uint8))  # one channel on disk
    assert cv2.imread(gray, cv2.IMREAD_UNCHANGED).ndim == 2
    with demo_data_env(ctx.data_root):
        cfg = Config.fromfile(config)
    init_default_scope(scope)
    # Inference input: no annotations to load (as the toolboxes' inferencers do).
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if 'Annotations' not in t['type']]
    data = Compose(steps)(dict(img_path=gray, img_id=0))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([data]))
    return dict(inputs=tuple(data['inputs'].shape), predictions=len(out))


def _real_config_gray(ctx: Context) -> Tuple[int, ...]:
    """The ImageNet test pipeline of configs/cls/uniformer_s_in1k.py on a grayscale PNG."""
    import cv2
    import numpy as np
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    gray = ctx.path('gray_real.png')
    cv2.imwrite(gray, np.full((300, 260), 128, np.uint8))
    cfg = Config.fromfile(osp.join(ROOT, 'configs/cls/uniformer_s_in1k.py'))
    init_default_scope('mmpretrain')
    data = Compose(cfg.test_dataloader.dataset.pipeline)(dict(img_path=gray))
    shape = tuple(data['inputs'].shape)
    if shape[0] != 3:
        raise AssertionError(f'the pipeline gave {shape}, not 3 channels')
    return shape


def _missing_data(ctx: Context, tool: str) -> Any:
    missing = ctx.path('no_such_data_root')
    if tool == 'train':
        return _run_tool('tools/train.py', [DEMO_CLS, '--work-dir', ctx.path('wd_nodata')],
                         Context(ctx.tmp, missing))
    return _run_tool('tools/test.py', [DEMO_CLS, ctx.file('deeper_mm'), '--work-dir',
                                       ctx.path('wd_nodata')], Context(ctx.tmp, missing))


# --------------------------------------------------------------------------- issue 17
DEMO_VIDEO = osp.join(ROOT, 'configs/demo/video_uniformer_tiny_kinetics_demo.py')


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _training_checkpoint(ctx: Context, groups: int = 3) -> str:
    """What a training run writes (meta with the position, optimizer state), in miniature."""
    from mmengine.logging import MessageHub
    path = ctx.path(f'training_ckpt_{groups}.pth')
    if not osp.exists(path):
        hub = MessageHub(f'fake_{groups}').state_dict()
        torch.save({'meta': {'epoch': 0, 'iter': 1, 'seed': 0}, 'state_dict': {},
                    'message_hub': hub,
                    'optimizer': {'state': {}, 'param_groups': [
                        {'params': [i], 'lr': 1e-3} for i in range(groups)]},
                    'pad': torch.arange(4000.)}, path)
    return path


def _flipped_checkpoint(ctx: Context) -> str:
    """A training checkpoint with one flipped bit in its tensor data."""
    import zipfile
    src, path = _training_checkpoint(ctx), ctx.path('flipped.pth')
    data = bytearray(open(src, 'rb').read())
    with zipfile.ZipFile(src) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)  # the 16 kB tensor
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.file_size // 2] ^= 0x01
    with open(path, 'wb') as f:
        f.write(bytes(data))
    return path


def _foreign_file(ctx: Context) -> str:
    """A text file renamed .pth (as /etc/passwd renamed)."""
    path = ctx.path('passwd.pth')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n')
    return path


def _fifo(ctx: Context) -> str:
    path = ctx.path('fifo.pth')
    if not osp.exists(path):
        os.mkfifo(path)
    return path


def _zip_bomb(ctx: Context) -> str:
    """A 'checkpoint' whose deflated tensor record inflates 1000-fold (150 MB from 150 kB)."""
    import zipfile
    path = ctx.path('bomb.pth')
    if not osp.exists(path):
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.writestr('bomb/data.pkl', b'\x80\x02}q\x00.')
            zf.writestr('bomb/data/0', b'\0' * (150 << 20))
    return path


def _two_urls_same_name(ctx: Context) -> List[float]:
    """``http://host/a/model.pth`` then ``http://host/b/model.pth``: two different files."""
    from uniformer_mm.checkpoint import load_checkpoint_file
    served = ctx.path('served_two')
    for sub, value in (('a', 1.), ('b', 2.)):
        os.makedirs(osp.join(served, sub), exist_ok=True)
        torch.save({'state_dict': {'w': torch.full((2, ), value)}},
                   osp.join(served, sub, 'model.pth'))
    with http_server(served) as base, _hub_dir(ctx.path('hub_two')):
        got = [float(load_checkpoint_file(f'{base}/{sub}/model.pth')['state_dict']['w'][0])
               for sub in ('a', 'b')]
    if got != [1., 2.]:
        raise AssertionError(f'b/model.pth gave the weights of a/model.pth: {got}')
    return got


def _url_wrong_hash(ctx: Context) -> Any:
    """A URL whose name carries a sha256 prefix (torch hub's ``name-<hex>.pth``) that the
    served file does not have."""
    from uniformer_mm.checkpoint import load_checkpoint_file
    served = ctx.path('served_hash')
    os.makedirs(served, exist_ok=True)
    torch.save({'state_dict': {'w': torch.ones(2)}}, osp.join(served, 'model-0123abcd.pth'))
    with http_server(served) as base, _hub_dir(ctx.path('hub_hash')):
        return load_checkpoint_file(f'{base}/model-0123abcd.pth')


def _work_dir_in_use(ctx: Context) -> Any:
    """A second training in a work dir whose lock another run holds."""
    from uniformer_mm.cli import work_dir_lock
    wd = ctx.path('locked_wd')
    with work_dir_lock(wd):
        return _run_tool('tools/train.py', [DEMO_CLS, '--work-dir', wd], ctx)


def _save_fails(ctx: Context, errno: int) -> Any:
    """tools/train.py whose first checkpoint cannot be written (ENOSPC / EROFS)."""
    from uniformer_mm.engine import checkpoint_hook

    def failing(runner: Any, out_dir: str, filename: str, **kwargs: Any) -> None:
        raise OSError(errno, os.strerror(errno), osp.join(out_dir, filename))

    with _patched(checkpoint_hook, '_runner_save', failing):
        return _run_tool('tools/train.py', [
            DEMO_CLS, '--work-dir', ctx.path(f'wd_save_{errno}'), '--cfg-options',
            'train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1'], ctx)


def _resume_pointer_garbage(ctx: Context) -> str:
    """``--resume`` (auto) in a work dir whose last_checkpoint holds garbage bytes."""
    from uniformer_mm.cli import find_resume_checkpoint
    wd = ctx.path('wd_garbage_pointer')
    os.makedirs(wd, exist_ok=True)
    good = osp.join(wd, 'iter_4.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, good)
    with open(osp.join(wd, 'last_checkpoint'), 'wb') as f:
        f.write(b'\xff\xfe\x00\x9c garbage')
    found = find_resume_checkpoint(wd)
    if found != good:
        raise AssertionError(f'resumed from {found}')
    return found


def _torn_first_checkpoint(ctx: Context) -> Any:
    """``--resume`` (auto) after a kill tore the run's first checkpoint (mmengine's writer)."""
    from uniformer_mm.cli import find_resume_checkpoint
    wd = ctx.path('wd_torn_first')
    os.makedirs(wd, exist_ok=True)
    with open(osp.join(wd, 'iter_10.pth'), 'wb') as f:
        f.write(open(_training_checkpoint(ctx), 'rb').read()[:300])
    first, second = find_resume_checkpoint(wd), find_resume_checkpoint(wd)
    if (first, second) != (None, None) or not osp.isfile(osp.join(wd, 'iter_10.pth.incomplete')):
        raise AssertionError(f'{first}, {second}, {os.listdir(wd)}')
    return 'fresh start; set aside as iter_10.pth.incomplete'


def _cfg_option_typo(ctx: Context) -> Any:
    """``--cfg-options train_dataloader.batch_szie=4`` (misspelt): reported as a warning."""
    from uniformer_mm.apis.config import load_config, warn_unknown_options
    with demo_data_env(ctx.data_root):
        cfg = load_config(DEMO_CLS)
    warnings = warn_unknown_options(cfg, {'train_dataloader.batch_szie': 4,
                                          'train_dataloader.batch_size': 4})
    if len(warnings) != 1:
        raise AssertionError(warnings)
    raise UserWarning(warnings[0])


def _data_copy(ctx: Context, kind: str) -> str:
    """A private copy of one demo data set (to damage a file of it)."""
    import shutil
    dst = ctx.path(f'data_{kind}')
    if not osp.isdir(dst):
        shutil.copytree(osp.join(ctx.data_root, kind), osp.join(dst, kind))
    return dst


def _empty_image(ctx: Context) -> Any:
    """tools/train.py on the demo images with one of them truncated to 0 bytes."""
    root = _data_copy(ctx, 'cls')
    folder = osp.join(root, 'cls', 'train', 'red_disk')
    victim = osp.join(folder, sorted(os.listdir(folder))[0])
    open(victim, 'wb').close()
    return _run_tool('tools/train.py', [
        DEMO_CLS, '--work-dir', ctx.path('wd_empty_image'), '--cfg-options',
        'train_dataloader.batch_size=64', 'train_cfg.max_iters=1'], Context(ctx.tmp, root))


def _garbage_video(ctx: Context) -> Any:
    """A garbage .mp4 through the video demo config's training pipeline (decord)."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    path = ctx.path('garbage.mp4')
    with open(path, 'wb') as f:
        f.write(b'\x00\x00\x00\x18ftypmp42' + os.urandom(4000))
    with demo_data_env(ctx.data_root):
        cfg = Config.fromfile(DEMO_VIDEO)
    init_default_scope('mmaction')
    return Compose(cfg.train_dataloader.dataset.pipeline)(
        dict(filename=path, label=0, start_index=0, modality='RGB'))


def _truncated_coco(ctx: Context) -> Any:
    """tools/train.py on the detection demo with its COCO json cut in half."""
    root = _data_copy(ctx, 'coco')
    ann = osp.join(root, 'coco', 'annotations', 'instances_train.json')
    text = open(ann, encoding='utf-8').read()
    with open(ann, 'w', encoding='utf-8') as f:
        f.write(text[:len(text) // 2])
    return _run_tool('tools/train.py', [DEMO_DET, '--work-dir', ctx.path('wd_coco')],
                     Context(ctx.tmp, root))


# --------------------------------------------------------------------------- the cases
_B2 = 'tests/test_backbone_2d.py::'
_B3 = 'tests/test_backbone_3d.py::'
_L = 'tests/test_light.py::'
_C = 'tests/test_checkpoint.py::'

CASES: List[Case] = [
    # unknown arch name
    Case('arch-2d', 'unknown arch name', 'UniFormer(arch=...)',
         lambda c: _2d('huge'),
         ValueError, ("'huge'", 'choose one of'), _B2 + 'test_invalid_arguments'),
    Case('arch-3d', 'unknown arch name', 'UniFormer3D(arch=...)',
         lambda c: _3d('huge'), ValueError, ("'huge'", 'choose one of'),
         _B3 + 'test_constructor_errors'),
    Case('arch-light', 'unknown arch name', 'UniFormerLight(arch=...)',
         lambda c: _light('tiny'), ValueError, ("'tiny'", 'choose one of'),
         _L + 'test_bad_archs_are_refused'),
    # head_dim
    Case('head-dim-2d', 'head_dim not dividing an embed dim', 'UniFormer(arch=dict(...))',
         lambda c: _2d(dict(TINY, head_dim=48)), ValueError, ('head_dim=48', 'divide'),
         _B2 + 'test_invalid_arguments'),
    Case('head-dim-3d', 'head_dim not dividing an embed dim', 'UniFormer3D(arch=dict(...))',
         lambda c: _3d(dict(TINY, head_dim=24)), ValueError, ('head_dim=24', 'choose a head_dim'),
         _B3 + 'test_constructor_errors'),
    Case('head-dim-light', 'head_dim not dividing an embed dim', 'UniFormerLight(arch=dict(...))',
         lambda c: _light(dict(TINY, head_dim=24)), ValueError,
         ('head_dim=24', 'choose a head_dim'),
         _L + 'test_bad_archs_are_refused'),
    # window_size
    Case('window-size', 'window_size < 1', 'UniFormer(window_size=0)',
         lambda c: _2d(attn_type='window', window_size=0), ValueError,
         ('window_size must be an int >= 1', 'got 0'), _B2 + 'test_invalid_arguments'),
    # out_indices / frozen_stages
    Case('out-indices-2d', 'out_indices out of range', 'UniFormer(out_indices=(4,))',
         lambda c: _2d(out_indices=(4, ), final_norm=False), ValueError, ('got 4', '[-4, 3]'),
         _B2 + 'test_invalid_arguments'),
    Case('out-indices-3d', 'out_indices out of range', 'UniFormer3D(out_indices=(4,))',
         lambda c: _3d(out_indices=(4, )), ValueError, ('got 4', '[-4, 3]'),
         _B3 + 'test_stage_shapes_out_indices_and_std'),
    Case('out-indices-light', 'out_indices out of range', 'UniFormerLight(out_indices=(4,))',
         lambda c: _light(final_norm=False, out_indices=(4, )), ValueError, ('got 4', '[-4, 3]')),
    Case('frozen-2d', 'frozen_stages out of range', 'UniFormer(frozen_stages=4)',
         lambda c: _2d(frozen_stages=4), ValueError, ('[-1, 3]', '4'),
         _B2 + 'test_invalid_arguments'),
    Case('frozen-3d', 'frozen_stages out of range', 'UniFormer3D(frozen_stages=4)',
         lambda c: _3d(frozen_stages=4), ValueError, ('[-1, 3]', '4'),
         _B3 + 'test_constructor_errors'),
    Case('frozen-light', 'frozen_stages out of range', 'UniFormerLight(frozen_stages=4)',
         lambda c: _light(frozen_stages=4), ValueError, ('[-1, 3]', 'got 4')),
    # input channels
    Case('channels-2d', 'input channels != in_channels', 'UniFormer forward',
         lambda c: _2d()(torch.rand(1, 4, 64, 64)), ValueError, ('4 channels', 'in_channels=3'),
         _B2 + 'test_invalid_inputs'),
    Case('channels-3d', 'input channels != in_channels', 'UniFormer3D forward',
         lambda c: _3d()(torch.rand(1, 1, 4, 64, 64)), ValueError, ('1 channels', 'in_channels=3'),
         _B3 + 'test_input_errors'),
    Case('channels-light', 'input channels != in_channels', 'UniFormerLight forward',
         lambda c: _light()(torch.rand(1, 1, 64, 64)), ValueError,
         ('1 channels', 'in_channels=3', 'fix the data pipeline')),
    Case('channels-light3d', 'input channels != in_channels', 'UniFormerLight3D forward',
         lambda c: _light3d()(torch.rand(1, 1, 4, 64, 64)), ValueError,
         ('1 channels', 'in_channels=3')),
    # too small
    Case('small-2d', 'image smaller than the total stride', 'UniFormer forward',
         lambda c: _2d()(torch.rand(1, 3, 31, 64)), ValueError, ('(31, 64)', 'at least 32x32'),
         _B2 + 'test_invalid_inputs'),
    Case('small-3d', 'image smaller than the total stride', 'UniFormer3D forward',
         lambda c: _3d()(torch.rand(1, 3, 4, 16, 64)), ValueError, ('(16, 64)', 'at least 32x32'),
         _B3 + 'test_input_errors'),
    Case('small-light', 'image smaller than the total stride', 'UniFormerLight forward',
         lambda c: _light()(torch.rand(1, 3, 64, 16)), ValueError, ('(64, 16)', 'H, W >= 32'),
         _L + 'test_wrong_inputs_are_explained'),
    # frames
    Case('frames-3d', 'clip with fewer frames than the temporal stride', 'UniFormer3D forward',
         lambda c: _3d().eval()(torch.rand(1, 3, 1, 64, 64)), ValueError,
         ('1 frame', 'temporal stride 2', 'at least 2 frames'), _B3 + 'test_input_errors'),
    # checkpoint files
    Case('truncated-file', 'truncated or corrupted checkpoint', 'load_checkpoint_file',
         lambda c: _read(c.file('truncated')), RuntimeError,
         ('truncated', 'Download it again'), _C + 'test_corrupted_files_name_the_file'),
    Case('truncated-init-cfg', 'truncated or corrupted checkpoint', "init_cfg=Pretrained",
         lambda c: init_cfg_load(c, c.file('truncated')), RuntimeError,
         ('truncated.pth', 'truncated, corrupted', 'Download it again')),
    Case('truncated-test-py', 'truncated or corrupted checkpoint', 'tools/test.py',
         lambda c: test_tool(c, c.file('truncated')), ToolExit,
         ('error: Cannot read checkpoint', 'truncated.pth', 'Download it again')),
    Case('truncated-converter', 'truncated or corrupted checkpoint', 'uniformer_official2mm.py',
         lambda c: convert_tool(c, c.file('truncated')), ToolExit,
         ('error: Cannot read checkpoint', 'truncated.pth')),
    Case('truncated-resume', 'truncated or corrupted checkpoint', 'tools/train.py --resume',
         lambda c: train_tool(c, '--resume', c.file('truncated')), ToolExit,
         ('error: Cannot read checkpoint', 'truncated.pth', 'Download it again')),
    Case('other-arch-shapes', 'checkpoint of another architecture (name both)',
         'load_pretrained', lambda c: init_cfg_load(c, _wider_file(c)), RuntimeError,
         ('embed_dims=(16, 32, 64, 256)', 'embed_dims=(16, 32, 64, 128)', 'Build the model'),
         _C + 'test_shape_mismatch_is_an_error_naming_keys_and_archs'),
    Case('other-arch-depths', 'checkpoint of another architecture (name both)',
         'tools/test.py', lambda c: test_tool(c, c.file('deeper_mm')), ToolExit,
         ('depths: file (2, 1, 1, 1) vs model (1, 1, 1, 1)', 'Use the config that matches')),
    Case('2d-into-3d', '2D checkpoint into a 3D model without inflation',
         'UniFormer3D(pretrained2d=False) init_cfg',
         lambda c: _3d(pretrained2d=False, init_cfg=dict(
             type='Pretrained', checkpoint=_image_file(c))).init_weights(),
         ValueError, ('2D kernel', 'pretrained2d=False'),
         _B3 + 'test_loading_errors_name_the_problem'),
    Case('3d-into-2d', '3D checkpoint into a 2D model', 'UniFormer init_cfg',
         lambda c: init_cfg_load(c, c.file('video')), RuntimeError,
         ('video (3D) UniFormer', 'image (2D)', 'UniFormer3D')),
    Case('tl-recorded', 'token-labeling (head_dim 32) file into a head_dim-64 config: '
         'recorded metadata', 'load_pretrained', _recorded_head_dim, RuntimeError,
         ('head_dim=32', 'head_dim=16'), _C + 'test_recorded_head_dim_is_checked'),
    Case('tl-layout', 'token-labeling (head_dim 32) file into a head_dim-64 config: the '
         "file's layout", 'load_pretrained (warning)', _head_dim_warning, UserWarning,
         ('tl_small: 32', 'head_dim=64', 'arch="tl_small"'),
         _C + 'test_ambiguous_token_labeling_file_warns_about_head_dim'),
    Case('no-data-train', 'config whose dataset path does not exist', 'tools/train.py',
         lambda c: _missing_data(c, 'train'), ToolExit,
         ('train_dataloader.dataset.data_root', 'no_such_data_root', '--cfg-options')),
    Case('no-data-test', 'config whose dataset path does not exist', 'tools/test.py',
         lambda c: _missing_data(c, 'test'), ToolExit,
         ('test_dataloader.dataset.data_root', 'no_such_data_root', 'make_data.py')),
    # unsafe files, every entry point
    Case('unsafe-loader', 'checkpoint containing pickled code', 'load_checkpoint_file',
         lambda c: _read(c.file('unsafe')), RuntimeError,
         ("'posix.mkdir'", 'weights_only=True', 'clean.pth'), unsafe=True),
    Case('unsafe-init-cfg', 'checkpoint containing pickled code', 'init_cfg=Pretrained',
         lambda c: init_cfg_load(c, c.file('unsafe')), RuntimeError,
         ("'posix.mkdir'", 'Refusing'), unsafe=True),
    Case('unsafe-test-py', 'checkpoint containing pickled code', 'tools/test.py',
         lambda c: test_tool(c, c.file('unsafe')), ToolExit,
         ('error: Refusing', "'posix.mkdir'"), unsafe=True),
    Case('unsafe-converter', 'checkpoint containing pickled code', 'uniformer_official2mm.py',
         lambda c: convert_tool(c, c.file('unsafe')), ToolExit,
         ('error: Refusing', "'posix.mkdir'"), unsafe=True),
    Case('unsafe-inference', 'checkpoint containing pickled code', 'inference / demos '
         '(uniformer_mm.apis.init_model)',
         lambda c: _inference_model(c, c.file('unsafe')), RuntimeError,
         ("'posix.mkdir'", 'Refusing'), unsafe=True),
    Case('unsafe-resume', 'checkpoint containing pickled code', 'tools/train.py --resume '
         '(mmengine resume)', lambda c: train_tool(c, '--resume', c.file('unsafe')), ToolExit,
         ('error: Refusing', "'posix.mkdir'"), unsafe=True),
    Case('unsafe-load-from', 'checkpoint containing pickled code', 'tools/train.py with '
         'load_from (mmengine)', lambda c: train_tool(
             c, '--cfg-options', f'load_from={c.file("unsafe")}'), ToolExit,
         ('error: Refusing', "'posix.mkdir'"), unsafe=True),
    Case('unsafe-url-mmengine', 'checkpoint containing pickled code', "mmengine's http(s) "
         'loader (load_from / Pretrained URL)', lambda c: url_load(c, 'mmengine'),
         RuntimeError, ('Refusing', "'posix.mkdir'"), unsafe=True),
    Case('unsafe-url-ours', 'checkpoint containing pickled code', 'load_checkpoint_file(URL)',
         lambda c: url_load(c, 'ours'), RuntimeError, ('Refusing', "'posix.mkdir'"),
         unsafe=True),
    # issue 17: checkpoints, resume, configs, data, concurrency
    Case('resume-weights-file', '--resume with a weights file (official or converted)',
         'tools/train.py --resume', lambda c: train_tool(c, '--resume', _image_file(c)),
         ToolExit, ('error: --resume', 'weights file', 'load_from=', 'without --resume')),
    Case('resume-foreign-file', 'a text file renamed .pth', 'tools/train.py --resume',
         lambda c: train_tool(c, '--resume', _foreign_file(c)), ToolExit,
         ('error: Cannot read checkpoint', 'passwd.pth', 'not a PyTorch checkpoint')),
    Case('resume-directory', 'a directory given as a checkpoint', 'tools/train.py --resume',
         lambda c: train_tool(c, '--resume', c.tmp), ToolExit,
         ('is a directory', 'not a checkpoint file')),
    Case('test-fifo', 'a FIFO given as a checkpoint', 'tools/test.py',
         lambda c: test_tool(c, _fifo(c)), ToolExit, ('fifo.pth', 'FIFO', 'not a checkpoint')),
    Case('init-cfg-directory', 'a directory given as a checkpoint', 'init_cfg=Pretrained',
         lambda c: init_cfg_load(c, c.tmp), RuntimeError, ('is a directory', )),
    Case('resume-flipped-byte', 'a checkpoint with one flipped byte in tensor data',
         'tools/train.py --resume', lambda c: train_tool(c, '--resume', _flipped_checkpoint(c)),
         ToolExit, ('flipped.pth', 'CRC', 'older checkpoint')),
    Case('resume-param-groups', "resuming an optimizer with another number of parameter "
         'groups than the config builds', 'tools/train.py --resume',
         lambda c: train_tool(c, '--resume', _training_checkpoint(c, groups=3)), ToolExit,
         ('training_ckpt_3.pth', 'has 3 parameter groups', 'paramwise_cfg', 'load_from=')),
    Case('zip-bomb', 'a compressed archive declaring far more data than the file (zip bomb)',
         'load_checkpoint_file', lambda c: _read(_zip_bomb(c)), RuntimeError,
         ('Refusing to read', 'bomb.pth', 'declares')),
    Case('zip-bomb-load-from', 'a compressed archive declaring far more data than the file '
         '(zip bomb)', "tools/train.py with load_from (mmengine's loader)",
         lambda c: train_tool(c, '--cfg-options', f'load_from={_zip_bomb(c)}'), ToolExit,
         ('error: Refusing to read', 'declares')),
    Case('url-same-name', 'two URLs with the same file name (cache keyed by the whole URL)',
         'load_checkpoint_file(URL)', _two_urls_same_name),
    Case('url-wrong-hash', 'a URL whose sha256 prefix does not match the file',
         'load_checkpoint_file(URL)', _url_wrong_hash, RuntimeError,
         ("'0123abcd'", 'sha256', 'download it again')),
    Case('pointer-garbage', 'last_checkpoint holding garbage bytes (valid: ignored)',
         'tools/train.py --resume (auto)', _resume_pointer_garbage),
    Case('torn-first', 'a torn first checkpoint under --resume auto (valid: set aside, '
         'fresh start)', 'tools/train.py --resume (auto)', _torn_first_checkpoint),
    Case('work-dir-in-use', 'a second training in the same work dir', 'tools/train.py',
         _work_dir_in_use, ToolExit, ('is in use by another training run', f'pid {os.getpid()}',
                                      'another --work-dir')),
    Case('max-iters-negative', 'train_cfg.max_iters <= 0', 'tools/train.py',
         lambda c: train_tool(c, '--cfg-options', 'train_cfg.max_iters=-5'), ToolExit,
         ('train_cfg.max_iters=-5', 'positive integer')),
    Case('cfg-option-typo', 'a misspelt --cfg-options key (warning)', 'tools/train.py / '
         'test.py (load_config)', _cfg_option_typo, UserWarning,
         ('batch_szie', "did you mean 'train_dataloader.batch_size'")),
    Case('nan-loss', 'a loss that becomes NaN', 'tools/train.py',
         lambda c: train_tool(c, '--cfg-options', 'optim_wrapper.optimizer.lr=1e30',
                              'train_cfg.max_iters=4'), ToolExit,
         ('error: the training loss is', 'at iteration', 'lower the learning rate')),
    Case('disk-full', 'disk full during a checkpoint save', 'tools/train.py',
         lambda c: _save_fails(c, 28), ToolExit,
         ('error: could not write the checkpoint', 'No space left on device', 'free space')),
    Case('read-only-work-dir', 'read-only work dir during a checkpoint save', 'tools/train.py',
         lambda c: _save_fails(c, 30), ToolExit,
         ('error: could not write the checkpoint', 'Read-only file system', 'writable')),
    Case('empty-image', 'a zero-byte image in the training set', 'tools/train.py',
         _empty_image, ToolExit, ('error: cannot load the sample', '0 bytes, empty')),
    Case('garbage-video', 'a garbage MP4 in the training set', 'video demo config pipeline',
         _garbage_video, RuntimeError, ('cannot load the sample', 'garbage.mp4')),
    Case('truncated-coco', 'a truncated COCO json', 'tools/train.py',
         _truncated_coco, ToolExit, ('instances_train.json', 'truncated', 'ann_file')),
    # odd but valid
    Case('window-not-dividing', 'sizes not divisible by the window (valid)',
         'UniFormer hybrid/window attention',
         lambda c: [tuple(o.shape) for o in _2d(attn_type='window', window_size=3,
                                                  out_indices=(0, 1, 2, 3), final_norm=False)
                    .eval()(torch.rand(1, 3, 45, 77))],
         covered_by=_B2 + 'test_any_input_size_and_channels'),
    Case('batch1-frozen-2d', 'batch of 1 with frozen BN (valid)',
         'UniFormer(frozen_stages=1, norm_eval=True), 32x32',
         lambda c: _train_step_batch1(_2d(frozen_stages=1, norm_eval=True),
                                      torch.rand(1, 3, 32, 32))),
    Case('batch1-normeval-2d', 'batch of 1 with frozen BN (valid)',
         'UniFormer(norm_eval=True), dense outputs, 45x77',
         lambda c: _train_step_batch1(_2d(norm_eval=True, out_indices=(0, 1, 2, 3),
                                          final_norm=False), torch.rand(1, 3, 45, 77))),
    Case('batch1-frozen-3d', 'batch of 1 with frozen BN (valid)', 'UniFormer3D(norm_eval=True)',
         lambda c: _train_step_batch1(_3d(norm_eval=True), torch.rand(1, 3, 2, 32, 32))),
    Case('batch1-frozen-light', 'batch of 1 with frozen BN (valid)',
         'UniFormerLight(norm_eval=True)',
         lambda c: _train_step_batch1(_light(norm_eval=True), torch.rand(1, 3, 32, 32))),
    Case('one-frame-light3d', 'a one-frame clip for the light video model (valid: its stem '
         'pads time)', 'UniFormerLight3D forward',
         lambda c: [tuple(o.shape) for o in _flat(_light3d().eval()(torch.rand(1, 3, 1, 32, 32)))]),
    Case('gray-mmpretrain', 'grayscale images handled by the pipeline (valid)',
         'mmpretrain demo config: pipeline + model',
         lambda c: _pipeline_on_gray(c, DEMO_CLS, 'mmpretrain')),
    Case('gray-mmdet', 'grayscale images handled by the pipeline (valid)',
         'mmdet demo config: pipeline + model',
         lambda c: _pipeline_on_gray(c, DEMO_DET, 'mmdet')),
    Case('gray-imagenet-config', 'grayscale images handled by the pipeline (valid)',
         'configs/cls/uniformer_s_in1k.py test pipeline', _real_config_gray),
]


def _image_file(ctx: Context) -> str:
    path = ctx.path('image.pth')
    if not osp.exists(path):
        torch.save({'model': _tiny_state_dict()}, path)
    return path


def _wider_file(ctx: Context) -> str:
    from uniformer_mm.models.backbones.uniformer import UniFormer
    path = ctx.path('wider.pth')
    if not osp.exists(path):
        torch.save({'model': UniFormer(arch=dict(TINY, embed_dims=(16, 32, 64, 256)))
                    .state_dict()}, path)
    return path


def run_case(case: Case, ctx: Context) -> Outcome:
    """Run one case; ``passed`` if the outcome is the one the issue asks for."""
    if case.unsafe and osp.isdir(ctx.marker):
        os.rmdir(ctx.marker)
    problems: List[str] = []
    error, message = '', ''
    try:
        result = case.run(ctx)
        message = repr(result)[:300]
        if case.expect is not None:
            problems.append(f'no error (expected {case.expect.__name__})')
    except Exception as e:  # noqa: BLE001  (the case decides what was expected)
        error, message = type(e).__name__, str(e)
        if case.expect is None:
            problems.append(f'unexpected {error}: {message[:300]}')
        elif not isinstance(e, case.expect):
            problems.append(f'{error} instead of {case.expect.__name__}')
        for text in case.mention:
            if text not in message:
                problems.append(f'message lacks {text!r}')
        if 'Traceback' in message:
            problems.append('the message holds a traceback')
    if case.unsafe and osp.isdir(ctx.marker):
        problems.append('THE PAYLOAD RAN (marker created)')
    return Outcome(passed=not problems, error=error, message=message, problems=problems)
