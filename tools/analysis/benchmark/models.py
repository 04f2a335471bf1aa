"""Building the benchmarked models: registry types in eval mode, with weights that exercise
them (random BatchNorm statistics, selective attention), explicit-softmax attention as the
memory reference, and UniFormer3D next to mmaction2's UniFormer with the same weights."""
import types
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .specs import ModelSpec

__all__ = [
    'build_model', 'randomize_batchnorm_', 'spread_attention_',
    'use_explicit_softmax_attention', 'use_official_layout', 'to_channels_last_', 'build_spec',
    'VIDEO_ARCHS',
    'mmaction_uniformer_kwargs', 'build_mmaction_pair', 'set_layernorm_eps',
    'restore_layernorm_eps', 'output_difference'
]


def build_model(type_: str, kwargs: Optional[dict] = None) -> nn.Module:
    """Build a scoped registry type (``'mmpretrain.ConvNeXt'``) in eval mode.

    The root registry resolves the scope prefix and imports the toolbox's registry, so no
    default scope is needed and the current one does not matter.
    """
    from mmengine.registry import MODELS
    if '.' not in type_:
        raise ValueError(f'give a scoped type such as uniformer_mm.UniFormer or '
                         f'mmpretrain.ConvNeXt, got {type_!r}')
    if type_.startswith('uniformer_mm.'):
        import uniformer_mm.models  # noqa: F401  (registers the types)
    model = MODELS.build(dict(type=type_, **(kwargs or {})))
    model.eval()  # some mmpretrain backbones' train() returns None: never chain it
    return model


@torch.no_grad()
def randomize_batchnorm_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random statistics and affine parameters (in place).

    Freshly built BatchNorms are identities in eval mode; trained ones are not, and an output
    comparison should exercise them.
    """
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            c = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(c, generator=g))
            module.running_var.copy_(0.5 + torch.rand(c, generator=g))
            if module.affine:
                module.weight.copy_(1 + 0.1 * torch.randn(c, generator=g))
                module.bias.copy_(0.1 * torch.randn(c, generator=g))
    return model


@torch.no_grad()
def spread_attention_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Re-draw every ``*.qkv`` Linear weight with std ``1/sqrt(in_features)`` and every
    ``cls_token`` with std 1 (in place).

    The official init (trunc-normal std 0.02; a zero class token) gives logits near 0, and the
    zero class token attends exactly uniformly. The light models rank tokens by that class
    attention, and uniform scores are exact ties:
    which tokens a block keeps then depends on the last bit of the arithmetic, so a compiled
    model (other summation order) may keep others and differ from eager by far more than
    rounding. Trained models attend selectively; so do these weights, which makes output
    checks meaningful. Speed does not depend on weight values.
    """
    g = torch.Generator().manual_seed(seed)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name.split('.')[-1] == 'qkv':
            w = torch.randn(module.weight.shape, generator=g) * module.in_features**-0.5
            module.weight.copy_(w)
    for name, param in model.named_parameters():
        if name.split('.')[-1] == 'cls_token':
            param.copy_(torch.randn(param.shape, generator=g))
    return model


def _explicit_attend(self: nn.Module, q: torch.Tensor, k: torch.Tensor,
                     v: torch.Tensor) -> torch.Tensor:
    """``MultiheadAttention.attend`` with the ``N x N`` probabilities materialised.

    The textbook formulation: logits, scale, softmax and the product with ``v`` as separate
    tensors, as attention was written before fused kernels; the reference of the memory target.
    """
    B, _, N, _ = q.shape
    attn = (q @ k.transpose(-2, -1)) * self.scale
    attn = attn.softmax(dim=-1)
    if self.training and self.attn_drop > 0:
        attn = torch.nn.functional.dropout(attn, self.attn_drop)
    x = (attn @ v).transpose(1, 2).reshape(B, N, self.num_heads * self.head_dim)
    return self.proj_drop(self.proj(x))


def use_explicit_softmax_attention(model: nn.Module) -> int:
    """Make every uniformer_mm ``MultiheadAttention`` of ``model`` use explicit softmax.

    Patches the instances (not the class), so other models are unaffected. The light models'
    ``LightAttention`` has its own ``forward`` and is left alone.

    Returns:
        int: The number of patched attention modules (0 means the model has none).
    """
    from uniformer_mm.models.hourglass import LightAttention
    from uniformer_mm.models.blocks import MultiheadAttention
    count = 0
    for module in model.modules():
        if isinstance(module, MultiheadAttention) and not isinstance(module, LightAttention):
            module.attend = types.MethodType(_explicit_attend, module)
            count += 1
    return count


def _contiguous_input(module: nn.Module, args: tuple) -> tuple:
    return (args[0].contiguous(), ) + tuple(args[1:])


def use_official_layout(model: nn.Module) -> int:
    """Make a uniformer_mm model keep the memory layout of the official code (in place).

    The official ``PatchEmbed`` returns ``.contiguous()`` channels-first maps and its model
    reads the input as given; ours keeps channels-last memory from the input on (a faster
    layout for oneDNN's depthwise and 1x1 convolutions, same values). Here every patch
    embedding returns contiguous channels-first maps again and the stem convolution reads
    a contiguous channels-first input, so the convolution blocks run in the official layout.
    (The attention blocks' token round trip yields a channels-last view in both codes.)

    Returns:
        int: The number of patch embeddings changed (0: the model has none).
    """
    from uniformer_mm.models.blocks import PatchEmbed
    embeds = [m for m in model.modules() if isinstance(m, PatchEmbed)]
    for m in embeds:
        m.channels_last = False
    stem = getattr(model, 'patch_embed1', None)
    if embeds and stem is not None:
        stem.proj.register_forward_pre_hook(_contiguous_input)
    return len(embeds)


def to_channels_last_(model: nn.Module) -> nn.Module:
    """Put 4-D parameters in ``channels_last`` and 5-D ones in ``channels_last_3d``."""
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
        elif p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
    return model


def build_spec(spec: ModelSpec, others: Optional[Dict[str, nn.Module]] = None,
               seed: int = 0) -> nn.Module:
    """Build ``spec`` (eval mode, random BatchNorm statistics, its attention and weights)."""
    torch.manual_seed(seed)
    model = build_model(spec.type, spec.kwargs)
    randomize_batchnorm_(model, seed)
    if spec.ours:
        spread_attention_(model, seed)
    if spec.weights_from is not None:
        if others is None or spec.weights_from not in others:
            raise KeyError(f'{spec.key}: weights_from={spec.weights_from!r} is not built yet')
        model.load_state_dict(others[spec.weights_from].state_dict(), strict=True)
    if spec.attention == 'explicit':
        if not use_explicit_softmax_attention(model):
            raise ValueError(f'{spec.key}: attention="explicit" needs a uniformer_mm model with '
                             'MultiheadAttention modules')
    elif spec.attention != 'sdpa':
        raise ValueError(f"attention must be 'sdpa' or 'explicit', got {spec.attention!r}")
    if spec.official_layout and not use_official_layout(model):
        raise ValueError(f'{spec.key}: official_layout=True needs a uniformer_mm model with '
                         'PatchEmbed stems')
    return model


#: Video backbone settings by name; ``tiny`` is for quick runs and tests only.
VIDEO_ARCHS: Dict[str, dict] = {
    'small': dict(depths=[3, 4, 8, 3], embed_dims=[64, 128, 320, 512], head_dim=64),
    'base': dict(depths=[5, 8, 20, 7], embed_dims=[64, 128, 320, 512], head_dim=64),
    'tiny': dict(depths=[1, 1, 2, 1], embed_dims=[16, 32, 64, 128], head_dim=16),
}


def mmaction_uniformer_kwargs(arch: dict) -> dict:
    """Constructor arguments of mmaction2's ``UniFormer`` for one of our video archs."""
    return dict(depth=list(arch['depths']), embed_dim=list(arch['embed_dims']),
                head_dim=arch['head_dim'], pretrained2d=False, pretrained=None)


def build_mmaction_pair(arch: str = 'small', checkpoint: Optional[str] = None,
                        seed: int = 0) -> Tuple[nn.Module, nn.Module]:
    """Our ``UniFormer3D`` and mmaction2's ``UniFormer`` with identical weights, in eval mode.

    Our state_dict loads into mmaction2's model unchanged (``strict=True``): both use the
    official module names.

    Args:
        arch (str): A key of :data:`VIDEO_ARCHS`.
        checkpoint (str, optional): Weights for ours (any file our ``Pretrained`` init reads;
            2D files are inflated). Without one the official random init is used, with random
            BatchNorm statistics and affine parameters so that they take part in comparisons.
        seed (int): Seed of the random init.

    Returns:
        tuple: ``(ours, theirs)``.
    """
    from mmengine.logging import MMLogger
    from uniformer_mm.models import UniFormer3D
    settings = VIDEO_ARCHS[arch]
    torch.manual_seed(seed)
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    ours = UniFormer3D(arch=dict(settings), init_cfg=init_cfg)
    # init_weights reports every parameter at INFO level; nobody wants that here.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    try:
        ours.init_weights()
    finally:
        logger.setLevel(level)
    if checkpoint is None:
        randomize_batchnorm_(ours, seed)
    theirs = build_model('mmaction.UniFormer', mmaction_uniformer_kwargs(settings))
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.eval(), theirs.eval()


def set_layernorm_eps(model: nn.Module, eps: float) -> List[float]:
    """Set the eps of every LayerNorm inside attention blocks (``blocks3``/``blocks4``).

    Returns:
        list: The previous values, in module order, for :func:`restore_layernorm_eps`.
    """
    old = []
    for name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm) and name.startswith(('blocks3', 'blocks4')):
            old.append(module.eps)
            module.eps = eps
    return old


def restore_layernorm_eps(model: nn.Module, old: List[float]) -> None:
    """Undo :func:`set_layernorm_eps`."""
    modules = [m for n, m in model.named_modules()
               if isinstance(m, nn.LayerNorm) and n.startswith(('blocks3', 'blocks4'))]
    for module, eps in zip(modules, old):
        module.eps = eps


@torch.no_grad()
def output_difference(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> Dict[str, float]:
    """Largest absolute output difference, as built and with mmaction2's eps set to 1e-6.

    mmaction2's attention blocks use LayerNorm eps 1e-5, the official model and ours 1e-6.

    Returns:
        dict: ``scale`` (max |output| of ours), ``max_abs_diff`` and ``max_rel_diff`` (as
        built), ``max_abs_diff_eps_aligned`` and ``max_rel_diff_eps_aligned``.
    """
    (a, ) = ours(x)
    b = theirs(x)
    old = set_layernorm_eps(theirs, 1e-6)
    try:
        c = theirs(x)
    finally:
        restore_layernorm_eps(theirs, old)
    scale = a.abs().max().item()
    d1, d2 = (a - b).abs().max().item(), (a - c).abs().max().item()
    return dict(scale=scale, max_abs_diff=d1, max_rel_diff=d1 / scale,
                max_abs_diff_eps_aligned=d2, max_rel_diff_eps_aligned=d2 / scale)
