"""The networks: a fully convolutional image-to-image generator and a small PatchGAN critic.

The generator follows the shape of Texler et al. 2020 ("Interactive Video
Stylization Using Few-Shot Patch-Based Training"): an encoder of strided
convolutions, a bottleneck of residual blocks, and a decoder that upsamples and
concatenates the encoder's maps of the same scale (skip connections). It has no
normalisation layers, so a network trained on 32x32 patches computes exactly the
same function on a whole frame. It predicts a residual that is added to the
input colours, so an untrained network already returns its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GeneratorConfig:
    """Shape of a :class:`Generator`.

    Parameters
    ----------
    guide_channels
        Extra input channels besides RGB (temporal guides); 0 for none.
    widths
        Channels at strides 1, 2, 4, ... (one entry per scale; ``len(widths) - 1`` downsamplings).
    res_blocks
        Residual blocks at the coarsest scale.
    unshuffle
        Space-to-depth factor of the input: 2 folds each 2x2 block of pixels
        into channels (and unfolds the output the same way), so every layer
        runs at half resolution while the output keeps full resolution.
    """

    guide_channels: int = 0
    widths: tuple[int, ...] = (32, 48, 64)
    res_blocks: int = 3
    unshuffle: int = 2

    @property
    def stride(self) -> int:
        """Frames are padded to a multiple of this before the network sees them."""
        return self.unshuffle * 2 ** (len(self.widths) - 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        return cls(
            guide_channels=int(data["guide_channels"]),
            widths=tuple(int(w) for w in data["widths"]),
            res_blocks=int(data["res_blocks"]),
            unshuffle=int(data.get("unshuffle", 1)),
        )


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a skip: ``x + conv(act(conv(x)))``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class Generator(nn.Module):
    """Encoder - residual blocks - decoder with skip connections; RGB (+ guides) in, RGB out.

    Input ``(B, 3 + guide_channels, H, W)`` floats in [0, 1] with ``H, W``
    multiples of ``config.stride`` (see :func:`keyframe.stylize.functional.pad_to_multiple`);
    output ``(B, 3, H, W)``, not clamped (clamp for display).

    Examples
    --------
    >>> net = Generator(GeneratorConfig(widths=(8, 16), res_blocks=1, unshuffle=2))
    >>> net(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 3, 32, 32])
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.config = config
        widths = config.widths
        fold = config.unshuffle**2
        cin = (3 + config.guide_channels) * fold
        self.inc = nn.Sequential(nn.Conv2d(cin, widths[0], 3, padding=1), _act())
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1), _act()) for i in range(len(widths) - 1)
        )
        self.blocks = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(config.res_blocks)))
        # Decoder: upsample, conv to the finer width, concatenate the skip, fuse.
        self.up = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i + 1], widths[i], 3, padding=1), _act()) for i in reversed(range(len(widths) - 1))
        )
        self.fuse = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * widths[i], widths[i], 3, padding=1), _act()) for i in reversed(range(len(widths) - 1))
        )
        self.out = nn.Conv2d(widths[0], 3 * fold, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x[:, :3]
        factor = self.config.unshuffle
        h = self.inc(F.pixel_unshuffle(x, factor) if factor > 1 else x)
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        h = self.blocks(skips.pop())
        for up, fuse in zip(self.up, self.fuse):
            skip = skips.pop()
            h = up(F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = fuse(torch.cat([h, skip], dim=1))
        delta = self.out(h)
        return rgb + (F.pixel_shuffle(delta, factor) if factor > 1 else delta)


class PatchDiscriminator(nn.Module):
    """A small PatchGAN critic: one real/fake logit per overlapping receptive field.

    Examples
    --------
    >>> PatchDiscriminator(width=8)(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 1, 8, 8])
    """

    def __init__(self, width: int = 32, in_channels: int = 3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            _act(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            _act(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            _act(),
            nn.Conv2d(2 * width, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
