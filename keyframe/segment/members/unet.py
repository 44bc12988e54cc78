"""UNet members: a small UNet trained from scratch, or a decoder on the pretrained EfficientNet-Lite0.

Two encoders, one member:

* ``encoder="efficientnet"`` (default, the strongest): the frozen ImageNet
  EfficientNet-Lite0 from :mod:`keyframe.nets` gives features at strides 2 to
  32; a light top-down decoder with skip connections is trained on them.
  Because the encoder is frozen, the features of a fixed set of augmented
  copies of the annotated frames are computed once and the decoder is
  trained on that cache, which keeps training to seconds on a CPU.
  With ``tune_stages > 0`` the deepest encoder stages are fine-tuned too
  (OSVOS-style, at a lower learning rate): they run at strides 16 and 32,
  so on the cached input of the first tuned stage this costs little more.
* ``encoder="plain"``: the classic UNet with ``levels`` (1 to 3) down/up
  steps, trained end to end on augmented crops (no pretrained weights needed).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from keyframe.errors import KeyframeError
from keyframe.io.frames import FrameSource
from keyframe.segment.augment import (
    AugmentConfig,
    augmented_crops,
    colour_jitter,
    dice_bce,
    fit_segmenter,
    foreground_pixels,
    mask_tensor,
    random_affines,
    to_tensor,
    warp_batch,
)
from keyframe.segment.base import Member, check_real, check_type, check_whole, register_member, resize_prob, work_size

log = logging.getLogger(__name__)

ENCODERS = ("efficientnet", "plain")
# Work sizes (longer side) when ``max_side`` is left to the member. With one
# annotated frame the UNet trains once, and 512 px gave +0.025 J&F over 448 on
# DAVIS (one mask, 0.88 s per frame for the whole run); with several it trains
# twice (held-out split, then every mask) and 512 px would cost 1.04 instead of
# 0.91 s per frame on bear.
ONE_MASK_SIDE, SEVERAL_MASKS_SIDE = 512, 448


@dataclass
class UNetConfig:
    """Settings of :class:`UNetMember` (fast defaults; ``--trials`` searches around them).

    Attributes
    ----------
    encoder : ``"efficientnet"`` (frozen pretrained Lite0) or ``"plain"`` (trained from scratch).
    max_side : frames are segmented with their longer side scaled to this;
        None picks it from the number of annotated frames (:meth:`side_for`).
    levels : down/up steps of the plain UNet (1 to 3).
    base : channels of the plain UNet's first level (doubling per level).
    decoder : channels of the pretrained decoder's finest levels (coarser ones get twice as many).
    copies : augmented copies of the annotated frames whose encoder features are cached
        (pretrained encoder; at least 4 per annotated frame, at most ``max_copies``).
    max_copies : cap on ``copies`` when there are many annotated frames.
    crop : side of the square training crops of the plain UNet.
    batch, steps, lr : optimiser batch size, number of steps and Adam learning rate.
    warm_steps : steps of a refit that starts from a network trained on some
        of the same frames (:meth:`UNetMember.fit_from`; 0 trains afresh).
    tune_stages : the last this many block stages of the pretrained encoder
        (of 7) are fine-tuned with the decoder; 0 keeps the encoder frozen.
    tune_lr : learning-rate factor of the fine-tuned encoder stages.
    augment : flips, rotations, zoom, shift and colour jitter.
    seed : seeds the initialisation and the augmentation.
    """

    encoder: str = "efficientnet"
    max_side: int | None = None
    levels: int = 3
    base: int = 16
    decoder: int = 16
    copies: int = 16
    max_copies: int = 48
    crop: int = 128
    batch: int = 4
    steps: int = 150
    lr: float = 5e-3
    warm_steps: int = 50
    tune_stages: int = 0
    tune_lr: float = 0.1
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(rotate=10.0, scale=0.2, shift=0.1))
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        if self.encoder not in ENCODERS:
            raise KeyframeError(f"unknown UNet encoder {self.encoder!r}; choose one of {', '.join(ENCODERS)}")
        check_whole(self, "levels", "tune_stages", minimum=0)
        if not 1 <= self.levels <= 3:
            raise KeyframeError(f"a UNet has 1 to 3 levels, got {self.levels}")
        if not 0 <= self.tune_stages <= 7:
            raise KeyframeError(f"tune_stages is 0 to 7 (the encoder's block stages), got {self.tune_stages}")
        if self.max_side is not None:
            check_whole(self, "max_side")
        check_whole(self, "base", "decoder", "copies", "max_copies", "crop", "batch", "steps")
        check_whole(self, "warm_steps", "seed", minimum=0)
        check_real(self, "lr", inclusive=False)
        check_real(self, "tune_lr")
        check_type(self, "augment", AugmentConfig)
        self.augment.check()

    def side_for(self, annotated: int) -> int:
        """The work size (longer side) when fitting on ``annotated`` frames.

        Examples
        --------
        >>> UNetConfig().side_for(1), UNetConfig().side_for(3), UNetConfig(max_side=256).side_for(1)
        (512, 448, 256)
        """
        if self.max_side is not None:
            return self.max_side
        return ONE_MASK_SIDE if annotated == 1 else SEVERAL_MASKS_SIDE

    def for_annotated(self, annotated: int) -> "UNetConfig":
        """These settings with the work size fixed for a video with ``annotated`` given masks
        (the ensemble's held-out fits see fewer masks but must work at the final size)."""
        return replace(self, max_side=self.side_for(annotated))

    @classmethod
    def suggest(cls, trial) -> "UNetConfig":
        """A configuration drawn by an Optuna ``trial`` (the encoder stays the pretrained one)."""
        return cls(
            decoder=trial.suggest_categorical("unet_decoder", [12, 16, 24, 32]),
            copies=trial.suggest_int("unet_copies", 8, 32, step=8),
            steps=trial.suggest_int("unet_steps", 100, 400, step=50),
            lr=trial.suggest_float("unet_lr", 1e-3, 2e-2, log=True),
            tune_stages=trial.suggest_categorical("unet_tune_stages", [0, 1, 2]),
            augment=AugmentConfig(
                rotate=trial.suggest_float("unet_rotate", 0.0, 25.0),
                scale=trial.suggest_float("unet_scale", 0.0, 0.35),
                jitter=trial.suggest_float("unet_jitter", 0.0, 0.3),
            ),
        )


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class PlainUNet(nn.Module):
    """The classic UNet with ``levels`` down/up steps and skip connections; one logit per pixel.

    Examples
    --------
    >>> PlainUNet(levels=2, base=4)(torch.rand(1, 3, 30, 42)).shape
    torch.Size([1, 1, 30, 42])
    """

    def __init__(self, levels: int = 3, base: int = 16, in_channels: int = 3):
        super().__init__()
        widths = [base * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList([_block(in_channels, widths[0])] + [_block(widths[i], widths[i + 1]) for i in range(levels)])
        self.up = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 1) for i in reversed(range(levels)))
        self.merge = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in reversed(range(levels)))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2, ceil_mode=True))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge):
            skip = skips.pop()
            x = up(F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False))
            x = merge(torch.cat([x, skip], 1))
        return self.head(x)


class FeatureDecoder(nn.Module):
    """Top-down decoder over multi-scale encoder features (finest first); logits at the finest stride.

    Examples
    --------
    >>> dec = FeatureDecoder((16, 24, 40, 112, 320), width=8)
    >>> feats = [torch.rand(1, c, 48 // s, 64 // s) for c, s in zip((16, 24, 40, 112, 320), (2, 4, 8, 16, 32))]
    >>> dec(feats).shape
    torch.Size([1, 1, 24, 32])
    """

    def __init__(self, channels: tuple[int, ...], width: int = 16):
        super().__init__()
        widths = [width if i < 2 else 2 * width for i in range(len(channels))]
        self.lateral = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, w, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)) for c, w in zip(channels, widths)
        )
        self.reduce = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 1) for i in range(len(channels) - 1))
        self.smooth = nn.ModuleList(
            nn.Sequential(nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)) for w in widths[:-1]
        )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.lateral[-1](features[-1])
        for i in reversed(range(len(features) - 1)):
            skip = self.lateral[i](features[i])
            x = self.reduce[i](F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False))
            x = self.smooth[i](x + skip)
        return self.head(x)


class TunedTail(nn.Module):
    """A trainable copy of the encoder's last ``count`` block stages followed by a :class:`FeatureDecoder`.

    Its input is what the frozen part of the encoder gives (:func:`encode_prefix`):
    the feature maps tapped before the tuned stages, and the input of the first
    tuned one. Batch norm keeps the pretrained statistics (a few copies of one
    frame would drift them).

    Examples
    --------
    >>> from keyframe.nets.efficientnet_lite import EfficientNetLite
    >>> enc = EfficientNetLite()
    >>> tail = TunedTail(enc, 2, FeatureDecoder(enc.feature_channels, 8))
    >>> tail(encode_prefix(enc, torch.rand(1, 3, 64, 96), tail.first)).shape
    torch.Size([1, 1, 32, 48])
    """

    def __init__(self, encoder: nn.Module, count: int, decoder: FeatureDecoder):
        super().__init__()
        self.first = len(encoder.stages) - count
        self.taps = tuple(encoder.taps)
        self.stages = copy.deepcopy(nn.ModuleList(encoder.stages[self.first :])).requires_grad_(True)
        self.decoder = decoder

    def train(self, mode: bool = True) -> "TunedTail":
        super().train(mode)
        self.stages.eval()
        return self

    def forward(self, prefix: list[torch.Tensor]) -> torch.Tensor:
        maps, x = list(prefix[:-1]), prefix[-1]
        for offset, stage in enumerate(self.stages):
            x = stage(x)
            if self.first + offset in self.taps:
                maps.append(x)
        return self.decoder(maps)


def encode_prefix(encoder: nn.Module, images: torch.Tensor, first: int) -> list[torch.Tensor]:
    """The frozen encoder up to block stage ``first``: the feature maps tapped before it, then its input."""
    x = encoder.stem(encoder._prepare(images.contiguous(memory_format=torch.channels_last)))
    maps = []
    for index, stage in enumerate(encoder.stages[:first]):
        x = stage(x)
        if index in encoder.taps:
            maps.append(x)
    return [*maps, x]


def load_encoder() -> nn.Module:
    """The frozen pretrained EfficientNet-Lite0 (``keyframe.nets.get_backbone``)."""
    from keyframe.nets import get_backbone

    return get_backbone()


def augmented_copies(
    images: torch.Tensor, masks: torch.Tensor, count: int, augment: AugmentConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` augmented copies of ``images`` ``(K, 3, H, W)`` and ``masks`` ``(K, 1, H, W)``, the originals first.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = augmented_copies(torch.rand(2, 3, 20, 30), torch.rand(2, 1, 20, 30), 5, AugmentConfig(), g)
    >>> x.shape, y.shape
    (torch.Size([5, 3, 20, 30]), torch.Size([5, 1, 20, 30]))
    """
    keep = min(count, len(images))
    extra = count - keep
    picks = torch.arange(extra) % len(images)
    theta = random_affines(extra, augment, generator, tuple(images.shape[-2:]))
    warped = warp_batch(torch.cat([images, masks], 1)[picks], theta, tuple(images.shape[-2:]))
    rgb = colour_jitter(warped[:, :3], augment.jitter, generator)
    return torch.cat([images[:keep], rgb]), torch.cat([masks[:keep], warped[:, 3:]])


@torch.inference_mode()
def encode(encoder: nn.Module, images: torch.Tensor, batch: int = 8, first: int | None = None) -> list[torch.Tensor]:
    """Encoder features of ``images`` ``(N, 3, H, W)``, computed in batches and concatenated per scale
    (with ``first``, those of :func:`encode_prefix`)."""
    if first is None:
        parts = [encoder.features(images[i : i + batch].contiguous(memory_format=torch.channels_last)) for i in range(0, len(images), batch)]
    else:
        parts = [encode_prefix(encoder, images[i : i + batch], first) for i in range(0, len(images), batch)]
    return [torch.cat([p[s] for p in parts]).contiguous() for s in range(len(parts[0]))]


def train_decoder(
    features: list[torch.Tensor],
    masks: torch.Tensor,
    channels: tuple[int, ...],
    config: UNetConfig,
    encoder: nn.Module | None = None,
    start: nn.Module | None = None,
) -> nn.Module:
    """Fit a :class:`FeatureDecoder` on cached ``features`` of augmented frames and their ``masks`` ``(N, 1, H, W)``.

    With ``config.tune_stages`` (and the ``encoder``), ``features`` are those of
    :func:`encode_prefix` and a :class:`TunedTail` is fitted instead. With
    ``start`` (a network of the same kind), a copy of it is trained for
    ``config.warm_steps`` steps instead of a new one for ``config.steps``.
    """
    targets = F.interpolate(masks, size=features[0].shape[-2:], mode="area")
    steps = config.warm_steps if start is not None else config.steps

    def batch_loss(decoder: nn.Module, generator: torch.Generator) -> torch.Tensor:
        picks = torch.randint(len(masks), (min(config.batch, len(masks)),), generator=generator)
        return dice_bce(decoder([f[picks] for f in features]), targets[picks])

    if config.tune_stages and encoder is not None:
        build = lambda: TunedTail(encoder, config.tune_stages, FeatureDecoder(channels, config.decoder))  # noqa: E731
        groups = lambda tail: [(list(tail.decoder.parameters()), 1.0), (list(tail.stages.parameters()), config.tune_lr)]  # noqa: E731
    else:
        build, groups = (lambda: FeatureDecoder(channels, config.decoder)), None
    if start is not None:
        build = lambda: copy.deepcopy(start)  # noqa: E731
    return fit_segmenter(build, batch_loss, steps, config.lr, config.seed, groups)


def train_plain_unet(images: torch.Tensor, masks: torch.Tensor, config: UNetConfig) -> PlainUNet:
    """Fit a :class:`PlainUNet` on augmented crops of ``images`` ``(K, 3, H, W)`` and ``masks`` ``(K, 1, H, W)``."""
    height, width = images.shape[-2:]
    crop = (min(config.crop, height), min(config.crop, width))
    stacked = torch.cat([images, masks], 1)
    pixels = foreground_pixels(masks)

    def batch_loss(net: PlainUNet, generator: torch.Generator) -> torch.Tensor:
        rgb, masks_crop = augmented_crops(stacked, pixels, config.batch, config.augment, generator, crop)
        return dice_bce(net(rgb), masks_crop)

    return fit_segmenter(lambda: PlainUNet(config.levels, config.base), batch_loss, config.steps, config.lr, config.seed)


@register_member
class UNetMember(Member):
    """UNet segmentation trained on the annotated frames; pretrained EfficientNet-Lite0 encoder by default.

    Examples
    --------
    >>> member = UNetMember().fit(source, {0: mask0})  # doctest: +SKIP
    >>> member_plain = UNetMember(UNetConfig(encoder="plain", levels=2))  # doctest: +SKIP
    """

    name = "unet"
    config_type = UNetConfig

    def __init__(self, config: UNetConfig | None = None):
        self.config = config or UNetConfig()
        self.net: nn.Module | None = None

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray], start: nn.Module | None = None) -> "UNetMember":
        config = self.config
        self.size = work_size(*source.size, config.side_for(len(keyframes)))
        order = sorted(keyframes)
        images = torch.stack([to_tensor(source.read(i), self.size) for i in order])
        masks = torch.stack([mask_tensor(keyframes[i], self.size) for i in order])
        if config.encoder == "plain":
            self.encoder = None
            self.net = train_plain_unet(images, masks, config)
        else:
            self.encoder = load_encoder()
            generator = torch.Generator().manual_seed(config.seed)
            count = min(max(config.copies, 4 * len(order)), max(config.max_copies, len(order)))
            inputs, targets = augmented_copies(images, masks, count, config.augment, generator)
            self.first = len(self.encoder.stages) - config.tune_stages if config.tune_stages else None
            features = encode(self.encoder, inputs, first=self.first)
            self.net = train_decoder(features, targets, tuple(self.encoder.feature_channels), config, self.encoder, start)
        log.info("unet (%s): trained on %d frames at %dx%d", config.encoder, len(order), self.size[1], self.size[0])
        return self

    def fit_from(self, earlier: Member, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "UNetMember":
        """Fit on ``keyframes`` starting from ``earlier``'s network (a UNet fitted on some of them, same settings).

        The held-out stage of the ensemble trains a UNet on all but the
        held-out masks; the final UNet continues from it for ``warm_steps``
        instead of training a new one for ``steps`` (three masks on DAVIS:
        0.95 instead of 1.11 s per frame for the whole run, and J&F 0.900
        instead of 0.887).
        """
        same = (
            isinstance(earlier, UNetMember)
            and earlier.net is not None
            and earlier.config == self.config
            and self.config.encoder != "plain"
            and self.config.warm_steps > 0
            and earlier.size == work_size(*source.size, self.config.side_for(len(keyframes)))
        )
        return self.fit(source, keyframes, start=earlier.net if same else None)

    @torch.inference_mode()
    def predict_frame(self, index: int, rgb: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("UNetMember.fit must be called before predicting")
        x = to_tensor(rgb, self.size)[None]
        if self.encoder is None:
            logits = self.net(x)
        else:
            if self.first is None:
                logits = self.net(self.encoder.features(x.contiguous(memory_format=torch.channels_last)))
            else:
                logits = self.net(encode_prefix(self.encoder, x, self.first))
            logits = F.interpolate(logits, size=self.size, mode="bilinear", align_corners=False)
        return resize_prob(torch.sigmoid(logits)[0, 0].numpy(), *rgb.shape[:2])
