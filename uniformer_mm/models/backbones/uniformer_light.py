"""The efficient "hourglass" UniFormer (XXS / XS) of the TPAMI paper, for images and videos.

Stages 1-2 are the usual convolution blocks; stages 3-4 are the token-shrinking
:class:`~uniformer_mm.models.hourglass.EvoSABlock` s, which carry a class token and a running
"global score" from block to block (see :mod:`uniformer_mm.models.hourglass`). Official
classes: ``image_classification/models/uniformer_light.py::UniFormer_Light``, the det/seg
``UniFormer_Light`` and the video ``Uniformer_light*``; see ``docs/architecture.md``.
"""
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from uniformer_mm.archs import LIGHT_ARCHS
from uniformer_mm.registry import MODELS
from ..blocks import ConvBlock, ConvStem, PatchEmbed
from ..hourglass import EvoSABlock, pool_score
from .base import BaseUniFormer

__all__ = ['UniFormerLight', 'UniFormerLight3D']

Tensor = torch.Tensor


def _parse_ratios(value: Sequence, depths: Sequence[int], name: str) -> List[List[float]]:
    """Normalise per-block ratios to ``[stage3_list, stage4_list]``.

    Accepts the official 4-list layout ``[[], [], [...], [...]]`` or just the two lists.
    """
    value = [list(v) for v in value]
    if len(value) == 4:
        if value[0] or value[1]:
            raise ValueError(f'{name}: stages 1-2 are convolutional and take no ratios, got '
                             f'{value[:2]}')
        value = value[2:]
    if len(value) != 2 or len(value[0]) != depths[2] or len(value[1]) != depths[3]:
        raise ValueError(f'{name} must give one value per stage-3 and stage-4 block '
                         f'({depths[2]} and {depths[3]}), got {value}')
    return [[float(r) for r in v] for v in value]


@MODELS.register_module()
class UniFormerLight(BaseUniFormer):
    """The efficient hourglass UniFormer (XXS / XS) for images: classification and dense.

    Parameter names are the official ones, so official files load after unwrapping. The
    arguments every UniFormer backbone shares are described in
    :class:`~uniformer_mm.models.backbones.base.BaseUniFormer`.

    Args:
        arch (str | dict): ``'xxs'``, ``'xs'`` or a dict with ``depths``, ``embed_dims``,
            ``head_dim`` and optionally ``mlp_ratio`` (default 4), ``conv_stem`` (default True:
            the two-conv stem of the released models, ``patch_embed1.proj.{0,1,3,4}``; False: a
            4x4 patch embedding), ``prune_ratios`` (two lists for stages 3 and 4, or the
            official four-list layout; default ``[1, .5, ...]`` / ``[.5, ...]``) and
            ``trade_offs`` (default: the prune ratios).
        in_channels (int): Input channels.
        out_indices (int | Sequence[int]): Stages to output. Defaults to ``(3, )``.
        final_norm (bool): ``True`` (classification, official ``UniFormer_Light``): the final
            BatchNorm ``norm``, global average pooling, and the class token: the output of
            stage 3 is the pair ``(pooled, cls_token)`` (``B, C4`` each) for
            ``uniformer_mm.LightClsHead`` / ``LightVideoHead``. ``False`` (dense, the det/seg
            ``UniFormer_Light``): the maps of ``out_indices`` after LayerNorms ``norm1..norm4``
            (strides 4, 8, 16, 32). Defaults to True.
        qkv_bias (bool): Bias in the ``qkv`` projections.
        qk_scale (float, optional): Overrides ``head_dim ** -0.5``.
        drop_rate (float): Dropout after the stem, in the MLPs and after attention.
        attn_drop_rate (float): Attention-probability dropout.
        drop_path_rate (float): Stochastic depth, linearly increasing over all blocks.
        attn_fp32 (bool): Attention in float32 under autocast (see
            :class:`~uniformer_mm.models.hourglass.LightAttention`).
        layer_scale_init_value (float, optional): Layer scale as in the video ``_ls`` models
            (``gamma_1``/``gamma_2`` in every block, starting at this value); ``None``
            (official 2D) disables it.
        frozen_stages (int): ``-1`` nothing; ``k``: the stem and stages ``0..k`` (patch
            embedding, blocks, output norm; the class token with stage 2, ``cls_upsample``
            with stage 3).
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        with_cp (bool | int | Sequence[int]): Gradient checkpointing of the leading blocks.
        init_cfg (dict | list[dict], optional): mmengine init config; ``type='Pretrained'``
            loads official or uniformer_mm files.

    Note:
        The output in training and evaluation is computed the same way; only the head treats
        them differently (the class-token logits are used in training only).
    """

    arch_zoo = LIGHT_ARCHS
    arch_defaults = dict(mlp_ratio=4., conv_stem=True, prune_ratios=None, trade_offs=None)
    stage_tokens = {'cls_token': 2, 'cls_upsample.': 3}

    def __init__(self,
                 arch: Union[str, dict] = 'xxs',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 final_norm: bool = True,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 attn_fp32: bool = True,
                 layer_scale_init_value: Optional[float] = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: Union[bool, int, Sequence[int]] = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(arch, in_channels=in_channels, out_indices=out_indices,
                         final_norm=final_norm, drop_path_rate=drop_path_rate,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         init_cfg=init_cfg)
        a = self.arch_settings
        depths, dims, mlp_ratios = self.depths, self.embed_dims, a['mlp_ratio']
        prune, trade = a['prune_ratios'], a['trade_offs']
        self.num_features = dims[-1]
        num_heads = [max(d // self.head_dim, 1) for d in dims]
        nd = self.ndim

        # Module registration order follows the official state_dicts (cls_token first, as a
        # direct parameter; patch embeds; cls_upsample; blocks with the dense norms between).
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims[2]))
        self.patch_embed1 = self._make_stem(in_channels, dims[0], bool(a['conv_stem']))
        for i in range(1, 4):
            setattr(self, f'patch_embed{i + 1}', self._make_patch_embed(dims[i - 1], dims[i]))
        self.cls_upsample = nn.Linear(dims[2], dims[3])
        self.pos_drop = nn.Dropout(p=drop_rate)

        dpr = self.drop_path_rates
        starts = [sum(depths[:i]) for i in range(4)]
        for s in range(4):
            if s < 2:
                blocks = [
                    ConvBlock(dims[s], mlp_ratio=mlp_ratios[s], drop=drop_rate,
                              drop_path=dpr[starts[s] + j], ndim=nd,
                              layer_scale_init_value=layer_scale_init_value)
                    for j in range(depths[s])
                ]
            else:
                blocks = [
                    EvoSABlock(dims[s], num_heads[s], prune_ratio=prune[s - 2][j],
                               trade_off=trade[s - 2][j], attn_fp32=attn_fp32,
                               mlp_ratio=mlp_ratios[s], qkv_bias=qkv_bias, qk_scale=qk_scale,
                               drop=drop_rate, attn_drop=attn_drop_rate,
                               drop_path=dpr[starts[s] + j], ndim=nd,
                               layer_scale_init_value=layer_scale_init_value, norm_eps=1e-6)
                    for j in range(depths[s])
                ]
            setattr(self, f'blocks{s + 1}', nn.ModuleList(blocks))
            self._add_output_norm(s)
        if self.final_norm:
            # Classification: the official final BatchNorm before global average pooling.
            self.norm = (nn.BatchNorm2d if nd == 2 else nn.BatchNorm3d)(dims[3])
        self._finish_init()

    # -- construction -------------------------------------------------------------------------
    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        """The common checks plus the hourglass ratios of stages 3-4."""
        settings = super()._parse_arch(arch)
        depths = settings['depths']
        if depths[2] < 1 or depths[3] < 1:
            raise ValueError('the hourglass needs at least one block in stages 3 and 4')
        default = [[1.] + [.5] * (depths[2] - 1), [.5] * depths[3]]
        prune = _parse_ratios(settings['prune_ratios'] or default, depths, 'prune_ratios')
        # The official models use trade_off == prune_ratio, hence the default.
        trade = _parse_ratios(settings['trade_offs'] or prune, depths, 'trade_offs')
        if prune[0][0] != 1.:
            raise ValueError('the first stage-3 block must have prune_ratio 1: it runs on all '
                             'tokens and initialises the class-attention score')
        settings.update(prune_ratios=prune, trade_offs=trade)
        return settings

    def _make_stem(self, in_channels: int, dim: int, conv_stem: bool) -> nn.Module:
        if conv_stem:
            return ConvStem(in_channels, dim, ndim=2, strides=(2, 2))
        return PatchEmbed(in_channels, dim, kernel_size=4, ndim=2, channels_last=True)

    def _make_patch_embed(self, in_dim: int, dim: int) -> nn.Module:
        return PatchEmbed(in_dim, dim, kernel_size=2, ndim=2, channels_last=True)

    # -- forward ------------------------------------------------------------------------------
    def _arange_indices(self, x: Tensor) -> Tensor:
        n = x[0, 0].numel()
        return torch.arange(n, device=x.device).unsqueeze(0).expand(x.shape[0], -1)

    def _forward_stage(self, stage: int, x: Tensor, state: Dict[str, Any]) -> Tensor:
        """Stages 0-1 as every UniFormer; stages 2-3 carry the class token and the running
        score (in ``state``, local to one forward call) through the EvoSA blocks."""
        if stage < 2:
            return super()._forward_stage(stage, x, state)
        if stage == 2:
            x = self.patch_embed3(x)
            cls_token = self.cls_token.expand(x.shape[0], -1, -1)
            score: Optional[Tensor] = None
        else:
            # The score map is pooled like the features (2x2; videos 1x2x2), keeping its sum.
            score = pool_score(state['score'], x.shape[2:])
            cls_token = self.cls_upsample(state['cls_token'])
            x = self.patch_embed4(x)
        cls_token, x, score, _ = self._run_blocks(stage, cls_token, x, score,
                                                  self._arange_indices(x))
        state.update(cls_token=cls_token, score=score)
        return x

    def _stage_output(self, stage: int, x: Tensor, state: Dict[str, Any]) -> Any:
        """Dense: the normalised map; classification: ``(pooled, cls_token)``."""
        if self.final_norm:
            return self.norm(x).flatten(2).mean(-1), state['cls_token'].squeeze(1)
        return super()._stage_output(stage, x, state)


@MODELS.register_module()
class UniFormerLight3D(UniFormerLight):
    """The efficient hourglass UniFormer (XXS / XS) for videos (official ``Uniformer_light``).

    The 3D conv stem (``patch_embed1.proj``: 3x3x3 convs with strides (1, 2, 2) then
    (2, 2, 2), BN/GELU/BN) gives T/2, H/4, W/4; the other patch embeddings are 1x2x2 (or, with
    ``std=True``, 3x2x2 with temporal padding and no temporal stride). Attention is joint
    space-time; the score is pooled 1x2x2 between stages 3 and 4. Covers ``Uniformer_light``,
    ``Uniformer_light_fp32`` (``attn_fp32``, on by default) and ``Uniformer_light_ls_fp32``
    (``layer_scale_init_value=0.1`` as in their configs). Classification only: the output is
    ``((pooled, cls_token), )`` for ``uniformer_mm.LightVideoHead``.

    2D ImageNet light checkpoints load into it: every convolution kernel whose shape differs
    is inflated by averaging over time (3x3 -> 3x3x3 divided by 3), as the official
    ``get_pretrained_model``. Official video files (``{'model_state': ...}`` or raw
    state_dicts, as the light video loader took) load as they are.

    Args:
        arch (str | dict): As :class:`UniFormerLight` (the conv stem is always used).
        in_channels (int): Input channels.
        std (bool): Official ``UNIFORMER.STD``: stage 2-4 patch embeddings with a 3x2x2 kernel
            (temporal padding 1, no temporal downsampling).
        pretrained2d (bool, optional): As :class:`~uniformer_mm.models.UniFormer3D`: None
            detects 2D kernels to inflate, False refuses inflation, True requires it.
        inflate_mode (str): How 2D kernels are inflated when a 2D file is loaded:
            ``'average'`` (official) or ``'center'``.
        **kwargs: The other :class:`UniFormerLight` arguments (``final_norm`` must stay True).
    """

    ndim = 3

    def __init__(self, arch: Union[str, dict] = 'xxs', in_channels: int = 3, std: bool = False,
                 pretrained2d: Optional[bool] = None, inflate_mode: str = 'average',
                 **kwargs) -> None:
        if not kwargs.get('final_norm', True):
            raise ValueError('UniFormerLight3D is a video classifier backbone: final_norm must '
                             'be True (there is no dense video light model)')
        self.std = std
        self.pretrained2d = pretrained2d
        self.inflate_mode = self._check_inflate_mode(inflate_mode)
        super().__init__(arch=arch, in_channels=in_channels, **kwargs)

    def _make_stem(self, in_channels: int, dim: int, conv_stem: bool) -> nn.Module:
        return ConvStem(in_channels, dim, ndim=3, strides=((1, 2, 2), (2, 2, 2)))

    def _make_patch_embed(self, in_dim: int, dim: int) -> nn.Module:
        if self.std:
            return PatchEmbed(in_dim, dim, kernel_size=(3, 2, 2), stride=(1, 2, 2),
                              padding=(1, 0, 0), ndim=3, channels_last=True)
        return PatchEmbed(in_dim, dim, kernel_size=(1, 2, 2), ndim=3, channels_last=True)

    def convert_pretrained(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """As :meth:`UniFormerLight.convert_pretrained`, plus 2D->3D kernel inflation."""
        return self._inflate_pretrained(super().convert_pretrained(state_dict),
                                        self.pretrained2d, self.inflate_mode)
