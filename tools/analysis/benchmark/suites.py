"""What ``make benchmark`` measures: the peers of each kind of model, the groups and suites,
and a group for one model of the user's choice."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .models import VIDEO_ARCHS, mmaction_uniformer_kwargs
from .specs import Case, Group, ModelSpec, Variant

__all__ = [
    'TOP1', 'SIMILAR_TOP1', 'uniformer_s_cls', 'peer_specs', 'video_group', 'image_group',
    'dense_group', 'light_group', 'light_matched_group', 'variants_group', 'compile_suite',
    'deploy_suite', 'default_suite', 'quick_suite', 'compare_group'
]


#: ImageNet-1k top-1 (%) at the resolution given: UniFormer from the official releases (as in
#: configs/cls), peers from mmpretrain's metafiles (its own or third-party weights).
TOP1: Dict[Tuple[str, int], float] = {
    ('uniformer_xxs', 128): 76.8, ('uniformer_xxs', 160): 79.1, ('uniformer_xxs', 192): 79.9,
    ('uniformer_xxs', 224): 80.6, ('uniformer_xs', 192): 81.5, ('uniformer_xs', 224): 82.0,
    ('uniformer_s', 224): 82.9,
    ('mobilevit_xxs', 256): 69.0, ('mobilevit_xs', 256): 74.8, ('mobilevit_s', 256): 78.3,
    ('efficientnet_b0', 224): 76.7, ('mobilenetv3_l', 224): 74.0,
    ('swin_t', 224): 81.2, ('convnext_t', 224): 82.1,
}


#: "Similar accuracy" for the verdict on the paper's claim: UniFormer's top-1 is at least the
#: peer's and at most this many points higher.
SIMILAR_TOP1 = 3.0


def _spec(key: str, label: str, type_: str, ours: bool = False, **kwargs: Any) -> ModelSpec:
    return ModelSpec(key=key, label=label, type=type_, kwargs=kwargs, ours=ours)


def uniformer_s_cls() -> ModelSpec:
    """UniFormer-S, classification backbone (final BatchNorm)."""
    return _spec('uniformer_s', 'UniFormer-S', 'uniformer_mm.UniFormer', True, arch='small')


def peer_specs(kind: str) -> List[ModelSpec]:
    """Peers for ``kind``: ``'image'`` (S-size, ~4 GFLOPs), ``'light'`` (mobile models),
    ``'video'`` (mmaction2) or ``'dense'`` (multi-scale outputs for detection)."""
    if kind == 'image':
        return [_spec('swin_t', 'Swin-T', 'mmpretrain.SwinTransformer', arch='tiny'),
                _spec('convnext_t', 'ConvNeXt-T', 'mmpretrain.ConvNeXt', arch='tiny'),
                _spec('poolformer_s12', 'PoolFormer-S12', 'mmpretrain.PoolFormer', arch='s12'),
                _spec('poolformer_s24', 'PoolFormer-S24', 'mmpretrain.PoolFormer', arch='s24')]
    if kind == 'light':
        return [_spec('mobilevit_xxs', 'MobileViT-XXS', 'mmpretrain.MobileViT', arch='xx_small'),
                _spec('mobilevit_xs', 'MobileViT-XS', 'mmpretrain.MobileViT', arch='x_small'),
                _spec('mobilevit_s', 'MobileViT-S', 'mmpretrain.MobileViT', arch='small'),
                _spec('efficientnet_b0', 'EfficientNet-B0', 'mmpretrain.EfficientNet',
                      arch='b0'),
                _spec('mobilenetv3_l', 'MobileNetV3-L', 'mmpretrain.MobileNetV3',
                      arch='large')]
    if kind == 'video':
        return [_spec('mvit_s', 'MViTv2-S', 'mmaction.MViT', arch='small'),
                _spec('swin3d_t', 'Video Swin-T', 'mmaction.SwinTransformer3D', arch='tiny',
                      pretrained=None)]
    if kind == 'dense':
        return [_spec('swin_t', 'Swin-T', 'mmpretrain.SwinTransformer', arch='tiny',
                      out_indices=(0, 1, 2, 3)),
                _spec('convnext_t', 'ConvNeXt-T', 'mmpretrain.ConvNeXt', arch='tiny',
                      out_indices=(0, 1, 2, 3), gap_before_final_norm=False)]
    raise ValueError(f"kind must be 'image', 'light', 'video' or 'dense', got {kind!r}")


def _cases(specs: Sequence[ModelSpec], shape: Tuple[int, ...], batch: int,
           layouts: Sequence[bool] = (False, )) -> List[Case]:
    return [Case(s, shape, batch, Variant(channels_last=cl)) for s in specs for cl in layouts]


def video_group(frames: int = 16, size: int = 224, repeats: int = 5) -> Group:
    """UniFormer3D-S vs mmaction2's UniFormer (same weights), MViTv2-S and Video Swin-T."""
    arch = VIDEO_ARCHS['small']
    ours = _spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
                 arch='small')
    theirs = ModelSpec('mmaction_uniformer_s', 'mmaction2 UniFormer-S', 'mmaction.UniFormer',
                       mmaction_uniformer_kwargs(arch), weights_from='uniformer3d_s')
    shape = (3, frames, size, size)
    return Group('video', f'Video backbones, 1 x {frames}x{size}², CPU fp32',
                 _cases([ours, theirs, *peer_specs('video')], shape, 1), 'uniformer3d_s',
                 # One warm-up round, as the other groups: the first pass of a process
                 # creates the oneDNN primitives of every 3D convolution shape.
                 warmup=1, repeats=repeats, profile=('uniformer3d_s', 'mmaction_uniformer_s'),
                 note='mmaction2 UniFormer-S runs with the weights of ours (its LayerNorm eps '
                      '1e-5 vs the official 1e-6 is the only model difference).')


def image_group(size: int = 224, batch: int = 8, repeats: int = 5) -> Group:
    """UniFormer-S vs Swin-T, ConvNeXt-T and PoolFormer-S12/S24 (classification backbones)."""
    cases = _cases([uniformer_s_cls()], (3, size, size), batch)
    for peer in peer_specs('image'):
        # Swin is made of Linear layers on tokens: channels-last changes nothing for it.
        layouts = (False, ) if peer.key == 'swin_t' else (False, True)
        cases += _cases([peer], (3, size, size), batch, layouts=layouts)
    return Group('image', f'Image backbones (ImageNet size), {batch} x {size}², CPU fp32',
                 cases, 'uniformer_s', warmup=1, repeats=repeats,
                 note='ConvNeXt and PoolFormer also run channels-last (+cl: input and '
                      'weights); UniFormer converts to channels-last internally.')


def dense_group(height: int = 800, width: int = 1333, window: int = 14, repeats: int = 3,
                peers: bool = False) -> Group:
    """Dense UniFormer-S (4 outputs) at detection size: global (fused attention), global with
    explicit softmax (same weights), window and hybrid attention."""
    kw = dict(arch='small', out_indices=(0, 1, 2, 3), final_norm=False)
    specs = [
        _spec('global', 'UniFormer-S global', 'uniformer_mm.UniFormer', True, **kw),
        ModelSpec('global_explicit', 'UniFormer-S global, explicit softmax',
                  'uniformer_mm.UniFormer', dict(kw), ours=True, weights_from='global',
                  attention='explicit'),
        _spec('window', f'UniFormer-S window {window}', 'uniformer_mm.UniFormer', True,
              attn_type='window', window_size=window, **kw),
        _spec('hybrid', f'UniFormer-S hybrid {window}', 'uniformer_mm.UniFormer', True,
              attn_type='hybrid', window_size=window, **kw),
    ]
    if peers:
        specs += peer_specs('dense')
    return Group('dense', f'Dense UniFormer-S, 1 x {width}x{height} (detection), CPU fp32',
                 _cases(specs, (3, height, width), 1), 'global', warmup=0, repeats=repeats,
                 rss=('global', 'global_explicit'),
                 profile=('global', 'global_explicit', 'window', 'hybrid'),
                 note='Stage 3 sees 50 x 83 = 4150 tokens (the input / 16, floored); '
                      'window and hybrid blocks pad that map to multiples of the window.')


def _light_specs() -> Dict[str, ModelSpec]:
    return dict(xxs=_spec('uniformer_xxs', 'UniFormer-XXS', 'uniformer_mm.UniFormerLight', True,
                          arch='xxs'),
                xs=_spec('uniformer_xs', 'UniFormer-XS', 'uniformer_mm.UniFormerLight', True,
                         arch='xs'))


def light_group(size: int, batch: int = 16, repeats: int = 5,
                peer_keys: Optional[Sequence[str]] = None) -> Group:
    """UniFormer-XXS (and XS where released: 192, 224) vs mobile models at ``size``."""
    ours = _light_specs()
    specs = [ours['xxs']] + ([ours['xs']] if size >= 192 else [])
    peers = [p for p in peer_specs('light') if peer_keys is None or p.key in peer_keys]
    # UniFormer models run channels-last internally; the peers get both memory formats.
    cases = _cases(specs, (3, size, size), batch)
    cases += _cases(peers, (3, size, size), batch, layouts=(False, True))
    return Group(f'light{size}', f'Efficient models, {batch} x {size}², CPU fp32', cases,
                 'uniformer_xxs', warmup=1, repeats=repeats,
                 note='Peers in both memory formats (+cl: channels-last input and weights); '
                      'UniFormer models convert to channels-last internally.')


def light_matched_group(batch: int = 16, repeats: int = 5) -> Group:
    """Each model at the resolution its published accuracy was measured at (see :data:`TOP1`):
    the paper's "similar accuracy" comparison, on this CPU."""
    ours = _light_specs()
    peers = {p.key: p for p in peer_specs('light')}
    plan = [(ours['xxs'], 128), (ours['xxs'], 160), (ours['xxs'], 192), (ours['xs'], 192),
            (peers['mobilevit_xs'], 256), (peers['mobilevit_s'], 256),
            (peers['efficientnet_b0'], 224), (peers['mobilenetv3_l'], 224)]
    # Peers channels-last only: the same-resolution groups show it is their faster format.
    cases = [Case(s, (3, r, r), batch, Variant(channels_last=not s.ours)) for s, r in plan]
    return Group('light_matched', f'Efficient models at their accuracy resolutions, batch '
                 f'{batch}, CPU fp32', cases, 'uniformer_xxs', warmup=1, repeats=repeats,
                 note='Top-1 (ImageNet-1k) from the official releases and mmpretrain '
                      'metafiles. Peers run channels-last (+cl), their faster format in the '
                      'same-resolution groups.')


def variants_group(which: str, repeats: int = 5, compile_backend: str = 'inductor') -> Group:
    """fp32 eager vs channels-last input, bf16 autocast and ``torch.compile(fullgraph=True)``
    for one of our models: ``'s'`` (UniFormer-S 8x224², compiled in fp32), ``'xxs'``
    (UniFormer-XXS 16x224², compiled in fp32 and under bf16 autocast) or ``'3d'``
    (UniFormer3D-S 1x16x224², eager only; :func:`compile_suite` compiles it)."""
    variants = [Variant(), Variant(channels_last=True), Variant('bf16')]
    if which == 's':
        spec, shape, batch = uniformer_s_cls(), (3, 224, 224), 8
        variants += [Variant(compile=compile_backend)]
    elif which == 'xxs':
        spec, shape, batch = _light_specs()['xxs'], (3, 224, 224), 16
        variants += [Variant(compile=compile_backend), Variant('bf16', compile=compile_backend)]
    elif which == '3d':
        spec = _spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
                     arch='small')
        shape, batch = (3, 16, 224, 224), 1
    else:
        raise ValueError(f"which must be 's', 'xxs' or '3d', got {which!r}")
    return Group(f'variants_{which}', f'{spec.label}: dtype, memory format and torch.compile, '
                 f'{batch} x {"x".join(map(str, shape[1:]))}',
                 [Case(spec, shape, batch, v) for v in variants],
                 spec.key, warmup=2, repeats=repeats,
                 note='For compiled variants the first call is the compilation '
                      '(fullgraph=True: a graph break is an error, not a silent fallback). It '
                      'reuses inductor\'s on-disk cache of earlier runs; a cold compile takes '
                      'about a minute per model here.')


def compile_suite(backend: str = 'inductor', repeats: int = 3) -> List[Group]:
    """``torch.compile(fullgraph=True)`` with ``backend`` on every backbone family not compiled
    by :func:`default_suite` (dense global / window / hybrid, 3D, light dense, light 3D): one
    group per model, eager fp32 vs compiled fp32 and bf16 autocast."""
    dense = dict(arch='small', out_indices=(0, 1, 2, 3), final_norm=False)
    plan = [
        (_spec('dense_global', 'UniFormer-S dense global', 'uniformer_mm.UniFormer', True,
               **dense), (3, 512, 512), 1),
        (_spec('dense_window', 'UniFormer-S dense window 14', 'uniformer_mm.UniFormer', True,
               attn_type='window', window_size=14, **dense), (3, 512, 512), 1),
        (_spec('dense_hybrid', 'UniFormer-S dense hybrid 14', 'uniformer_mm.UniFormer', True,
               attn_type='hybrid', window_size=14, **dense), (3, 512, 512), 1),
        (_spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
               arch='small'), (3, 8, 224, 224), 1),
        (_spec('light_dense_xxs', 'UniFormer-XXS dense', 'uniformer_mm.UniFormerLight', True,
               arch='xxs', final_norm=False, out_indices=(0, 1, 2, 3)), (3, 512, 512), 1),
        (_spec('light3d_xxs', 'UniFormerLight3D-XXS', 'uniformer_mm.UniFormerLight3D', True,
               arch='xxs'), (3, 8, 160, 160), 2),
    ]
    return [Group(f'compile_{spec.key}', f'{spec.label}: torch.compile({backend}, '
                  f'fullgraph=True), {batch} x {"x".join(map(str, shape[1:]))}',
                  [Case(spec, shape, batch, v) for v in
                   (Variant(), Variant(compile=backend), Variant('bf16', compile=backend))],
                  spec.key, warmup=1, repeats=repeats) for spec, shape, batch in plan]


#: The deployment modes of issue 15, measured next to eager PyTorch.
DEPLOY_VARIANTS = (Variant(), Variant(compile='inductor', freezing=True),
                   Variant(runtime='onnxruntime'))


def deploy_suite(repeats: int = 11) -> List[Group]:
    """The fast inference modes per family: eager fp32, compiled with inductor weight freezing
    (``tools/test.py --compile``) and onnxruntime on the exported ONNX graph.

    UniFormer-S (classification, 8 x 224²) is also measured against the official-equivalent
    model (same weights, the official explicit-softmax attention and channels-first layout),
    and UniFormer3D-S (1 x 16x224²) against mmaction2's UniFormer on identical weights: the two
    ratio targets. More rounds than the other groups (11 by default): the targets are ratios
    of passes of half a second, and single rounds on a shared 2-core machine scatter by 10-20%.
    """
    ours_s = uniformer_s_cls()
    official_s = ModelSpec('uniformer_s_official', 'UniFormer-S official-equivalent',
                           'uniformer_mm.UniFormer', dict(arch='small'), ours=False,
                           weights_from='uniformer_s', attention='explicit',
                           official_layout=True)
    arch3d = VIDEO_ARCHS['small']
    ours_3d = _spec('uniformer3d_s', 'UniFormer3D-S', 'uniformer_mm.UniFormer3D', True,
                    arch='small')
    mmaction_3d = ModelSpec('mmaction_uniformer_s', 'mmaction2 UniFormer-S',
                            'mmaction.UniFormer', mmaction_uniformer_kwargs(arch3d),
                            weights_from='uniformer3d_s')
    dense = dict(arch='small', out_indices=(0, 1, 2, 3), final_norm=False)
    # Both ratio groups spend most of their FLOPs in stage 3's MLP: 1568 tokens (8 x 14² and
    # 8 x 14² after the video stem's temporal stride 2) x 320 -> 1280.
    stage3_mlp = (1568, 320, 1280)
    plan = [
        ('deploy_s', [ours_s], (3, 224, 224), 8, official_s, 'uniformer_s_official'),
        ('deploy_3d', [ours_3d], (3, 16, 224, 224), 1, mmaction_3d, 'mmaction_uniformer_s'),
        ('deploy_dense', [_spec('dense_hybrid', 'UniFormer-S dense hybrid 14',
                                'uniformer_mm.UniFormer', True, attn_type='hybrid',
                                window_size=14, **dense)], (3, 512, 683), 1, None, None),
        ('deploy_light', [_light_specs()['xxs']], (3, 224, 224), 16, None, None),
        ('deploy_light3d', [_spec('light3d_xxs', 'UniFormerLight3D-XXS',
                                  'uniformer_mm.UniFormerLight3D', True, arch='xxs')],
         (3, 8, 160, 160), 2, None, None),
    ]
    groups = []
    for name, specs, shape, batch, peer, baseline in plan:
        cases = [Case(s, shape, batch, v) for s in specs for v in DEPLOY_VARIANTS]
        if peer is not None:
            cases.insert(1, Case(peer, shape, batch))  # after ours: it loads our weights
        key = specs[0].key
        groups.append(Group(
            name, f'{specs[0].label}: eager, compiled (inductor, frozen weights), onnxruntime; '
            f'{batch} x {"x".join(map(str, shape[1:]))}, CPU fp32', cases, baseline or key,
            warmup=1, repeats=repeats, profile=tuple(c.spec.key for c in cases[:2]),
            gemm_probe=stage3_mlp if peer is not None else None,
            note='Compiled: torch.compile(fullgraph=True) with inductor freezing, the mode of '
                 'tools/test.py --compile (first call = compilation). onnxruntime: the ONNX '
                 'graph of tools/deployment/export.py (dynamic shapes), CPU provider, '
                 "torch's thread count. The official-equivalent model is ours on the same "
                 'weights computing as the official code does (Sense-X/UniFormer '
                 'image_classification/models/uniformer.py): explicit-softmax attention and '
                 'contiguous channels-first maps after every patch embedding; its max rel. diff '
                 'is to ours, whose outputs the golden tests pin to the official ones.'))
    return groups


def default_suite() -> List[Group]:
    """What ``make benchmark`` runs (about 10-15 minutes on 2 cores)."""
    return [video_group(), image_group(), dense_group(), light_group(224), light_group(128),
            light_matched_group(), variants_group('s'), variants_group('xxs'),
            variants_group('3d'), *deploy_suite()]


def quick_suite() -> List[Group]:
    """Tiny models, a few seconds: for tests and a smoke run of the tool."""
    tiny2d = dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16)
    kw = dict(arch=tiny2d, out_indices=(0, 1, 2, 3), final_norm=False)
    dense = [
        _spec('global', 'tiny global', 'uniformer_mm.UniFormer', True, **kw),
        ModelSpec('global_explicit', 'tiny global, explicit softmax', 'uniformer_mm.UniFormer',
                  dict(kw), ours=True, weights_from='global', attention='explicit'),
        _spec('window', 'tiny window 4', 'uniformer_mm.UniFormer', True, attn_type='window',
              window_size=4, **kw),
    ]
    light = _spec('light', 'tiny light', 'uniformer_mm.UniFormerLight', True,
                  arch=dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16))
    return [
        Group('dense', 'quick dense', _cases(dense, (3, 200, 136), 1), 'global', warmup=0,
              repeats=2, rss=True, profile=('global', 'window')),
        Group('variants', 'quick variants',
              [Case(light, (3, 64, 64), 2, v) for v in
               (Variant(), Variant(channels_last=True), Variant('bf16'))], 'light', warmup=0,
              repeats=2),
    ]


def compare_group(spec: ModelSpec, input_shape: Tuple[int, ...], batch: int,
                  variant: Variant, compare: bool = False, warmup: int = 1,
                  repeats: int = 5, rss: bool = False) -> Group:
    """One model (any variant), with ``compare`` its peers at the same input (fp32 eager)."""
    cases = [Case(spec, input_shape, batch, variant)]
    if compare:
        if len(input_shape) == 4:
            kind = 'video'
        elif spec.type.endswith('Light'):
            kind = 'light'
        elif spec.kwargs.get('final_norm') is False or spec.kwargs.get('out_indices', (3, )) \
                not in ((3, ), 3, (-1, ), -1):
            kind = 'dense'
        else:
            kind = 'image'
        peers = peer_specs(kind)
        if kind == 'video' and spec.type == 'uniformer_mm.UniFormer3D':
            arch = spec.kwargs.get('arch', 'small')
            if isinstance(arch, str) and arch.lower() in ('s', 'small', 'b', 'base'):
                settings = VIDEO_ARCHS['small' if arch.lower() in ('s', 'small') else 'base']
                peers.insert(0, ModelSpec('mmaction_uniformer', 'mmaction2 UniFormer',
                                          'mmaction.UniFormer',
                                          mmaction_uniformer_kwargs(settings),
                                          weights_from=spec.key))
        cases += [Case(p, input_shape, batch, Variant()) for p in peers if p.key != spec.key]
    return Group('custom', f'{spec.label}, {batch} x {"x".join(map(str, input_shape[1:]))}',
                 cases, spec.key, warmup=warmup, repeats=repeats, rss=rss, profile=(spec.key, ))
