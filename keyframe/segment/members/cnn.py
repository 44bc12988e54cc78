"""A small fully convolutional pixel classifier with positional-encoding input channels.

Each pixel is classified from its colour neighbourhood (a stack of dilated
3x3 convolutions) and from where it lies in the frame: the input carries, next
to RGB, the linear x and y coordinates and their sin/cos at a few
frequencies. Those channels are attached to the frame *before* augmentation,
so a rotated or flipped training crop still tells the network where in the
frame its pixels came from. Training uses random crops of the annotated
frames (biased towards the foreground) with flips, rotations, zoom and colour
jitter.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from keyframe.io.frames import FrameSource
from keyframe.segment.augment import (
    AugmentConfig,
    augmented_crops,
    dice_bce,
    fit_segmenter,
    foreground_pixels,
    mask_tensor,
    positional_channels,
    to_tensor,
)
from keyframe.segment.base import Member, check_real, check_type, check_whole, register_member, resize_prob, work_size

log = logging.getLogger(__name__)


@dataclass
class CNNConfig:
    """Settings of :class:`CNNMember` (the fast defaults; ``--trials`` searches around them).

    Attributes
    ----------
    max_side : frames are classified with their longer side scaled to this.
    width : channels of every hidden layer.
    depth : number of 3x3 convolutions; dilations cycle 1, 2, 4, 8.
    frequencies : sin/cos bands of the positional encoding (0 = linear x, y only).
    crop : side of the square training crops, pixels at ``max_side`` scale.
    batch, steps, lr : the optimiser's batch size, number of steps and Adam learning rate.
    augment : flips, rotations, zoom, shift and colour jitter of the crops.
    seed : seeds the initialisation and the sampling of crops.
    """

    max_side: int = 224
    width: int = 16
    depth: int = 5
    frequencies: int = 2
    crop: int = 64
    batch: int = 6
    steps: int = 150
    lr: float = 4e-3
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_whole(self, "max_side", "width", "depth", "crop", "batch", "steps")
        check_whole(self, "frequencies", "seed", minimum=0)
        check_real(self, "lr", inclusive=False)
        check_type(self, "augment", AugmentConfig)
        self.augment.check()

    @classmethod
    def suggest(cls, trial) -> "CNNConfig":
        """A configuration drawn by an Optuna ``trial`` (used by ``--trials``)."""
        return cls(
            width=trial.suggest_categorical("cnn_width", [16, 24, 32, 48]),
            depth=trial.suggest_int("cnn_depth", 4, 8),
            frequencies=trial.suggest_int("cnn_frequencies", 0, 4),
            steps=trial.suggest_int("cnn_steps", 120, 480, step=60),
            lr=trial.suggest_float("cnn_lr", 1e-3, 1e-2, log=True),
            augment=AugmentConfig(
                rotate=trial.suggest_float("cnn_rotate", 0.0, 30.0),
                jitter=trial.suggest_float("cnn_jitter", 0.0, 0.3),
            ),
        )


class PixelCNN(nn.Module):
    """Dilated 3x3 convolutions from RGB + positional planes to one logit per pixel.

    Examples
    --------
    >>> net = PixelCNN(in_channels=3 + 10, width=8, depth=3)
    >>> net(torch.rand(2, 13, 32, 40)).shape
    torch.Size([2, 1, 32, 40])
    """

    def __init__(self, in_channels: int, width: int = 32, depth: int = 6):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i in range(depth):
            dilation = 2 ** (i % 4)
            layers += [
                nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        layers.append(nn.Conv2d(width, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def train_pixel_cnn(images: torch.Tensor, masks: torch.Tensor, config: CNNConfig) -> PixelCNN:
    """Train a :class:`PixelCNN` on ``images`` ``(K, 3+P, H, W)`` (RGB then positional planes) and ``masks`` ``(K, 1, H, W)``.

    Examples
    --------
    >>> imgs = torch.cat([torch.rand(1, 3, 40, 48), positional_channels(40, 48, 1)[None]], 1)
    >>> m = torch.zeros(1, 1, 40, 48); m[..., 10:30, 12:36] = 1
    >>> net = train_pixel_cnn(imgs, m, CNNConfig(width=8, depth=2, frequencies=1, crop=32, steps=3))
    """
    stacked = torch.cat([images, masks], 1)
    pixels = foreground_pixels(masks)
    height, width = images.shape[-2:]
    crop = (min(config.crop, height), min(config.crop, width))

    def batch_loss(net: PixelCNN, generator: torch.Generator) -> torch.Tensor:
        rgb, rest = augmented_crops(stacked, pixels, config.batch, config.augment, generator, crop)
        inputs = torch.cat([rgb, rest[:, :-1]], 1)
        return dice_bce(net(inputs.contiguous(memory_format=torch.channels_last)), rest[:, -1:])

    build = lambda: PixelCNN(images.shape[1], config.width, config.depth).to(memory_format=torch.channels_last)  # noqa: E731
    return fit_segmenter(build, batch_loss, config.steps, config.lr, config.seed)


@register_member
class CNNMember(Member):
    """Small CNN pixel classifier with positional-encoding channels, trained on the annotated frames.

    Examples
    --------
    >>> member = CNNMember().fit(source, {0: mask0})  # doctest: +SKIP
    >>> prob = member.predict_frame(10, source.read(10))  # doctest: +SKIP
    """

    name = "cnn"
    config_type = CNNConfig

    def __init__(self, config: CNNConfig | None = None):
        self.config = config or CNNConfig()
        self.net: PixelCNN | None = None

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "CNNMember":
        self.size = work_size(*source.size, self.config.max_side)
        self.planes = positional_channels(*self.size, self.config.frequencies)
        images = torch.stack([torch.cat([to_tensor(source.read(i), self.size), self.planes]) for i in sorted(keyframes)])
        masks = torch.stack([mask_tensor(keyframes[i], self.size) for i in sorted(keyframes)])
        self.net = train_pixel_cnn(images, masks, self.config)
        log.info("cnn: trained on %d frames at %dx%d (%s)", len(keyframes), self.size[1], self.size[0], asdict(self.config))
        return self

    @torch.inference_mode()
    def predict_frame(self, index: int, rgb: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("CNNMember.fit must be called before predicting")
        x = torch.cat([to_tensor(rgb, self.size), self.planes])[None].contiguous(memory_format=torch.channels_last)
        prob = torch.sigmoid(self.net(x))[0, 0].numpy()
        return resize_prob(prob, *rgb.shape[:2])
