"""Tensor helpers shared by the learned members: positional channels and batch augmentation.

Everything here is a pure function of its inputs (and of a ``torch.Generator``
for the random ones), so training is reproducible from a seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from keyframe.segment.base import check_real


@dataclass(frozen=True)
class AugmentConfig:
    """Random geometric and photometric changes applied to training samples.

    Attributes
    ----------
    flip : probability of a horizontal flip.
    rotate : largest rotation, degrees (uniform in ``[-rotate, rotate]``).
    scale : largest relative zoom (uniform log-scale in ``[1/(1+scale), 1+scale]``).
    shift : largest translation as a fraction of the frame.
    jitter : strength of the colour jitter (gain, offset and saturation).
    """

    flip: float = 0.5
    rotate: float = 15.0
    scale: float = 0.15
    shift: float = 0.08
    jitter: float = 0.15

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_real(self, "flip", maximum=1.0)
        check_real(self, "rotate", "scale", "shift", "jitter")


def positional_channels(height: int, width: int, frequencies: int = 2) -> torch.Tensor:
    """Positional-encoding planes ``(2 + 4 * frequencies, H, W)``: x, y, then sin/cos bands.

    x and y run over ``[-1, 1]``; band ``k`` holds ``sin``/``cos`` of ``pi * 2**k * x`` (and of y).

    Examples
    --------
    >>> positional_channels(4, 6, frequencies=1).shape
    torch.Size([6, 4, 6])
    """
    y, x = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
    planes = [x, y]
    for k in range(frequencies):
        for axis in (x, y):
            angle = math.pi * (2**k) * axis
            planes += [torch.sin(angle), torch.cos(angle)]
    return torch.stack(planes)


def to_tensor(rgb: np.ndarray, size: tuple[int, int] | None = None) -> torch.Tensor:
    """uint8 RGB ``(H, W, 3)`` -> float ``(3, h, w)`` in [0, 1], area-resized to ``size = (h, w)`` if given."""
    if size is not None and rgb.shape[:2] != tuple(size):
        rgb = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)


def mask_tensor(mask: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Boolean ``(H, W)`` mask -> float ``(1, h, w)`` in [0, 1] at ``size`` (area-averaged)."""
    mask = np.asarray(mask, np.float32)
    if mask.shape != tuple(size):
        mask = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(mask)[None]


def random_affines(
    count: int,
    config: AugmentConfig,
    generator: torch.Generator,
    in_size: tuple[int, int],
    out_size: tuple[int, int] | None = None,
    centers: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(count, 2, 3)`` matrices for ``F.affine_grid``: output coordinates -> input coordinates.

    Rotations and zooms are exact in pixel space (no shear on non-square
    frames). With ``out_size`` smaller than ``in_size`` the output is a crop.

    Parameters
    ----------
    in_size, out_size
        ``(height, width)`` of the sampled image and of the output (default: the same).
    centers
        ``(count, 2)`` crop centres in normalised input coordinates (x, y);
        default: the frame centre. The random shift is added to them.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> random_affines(3, AugmentConfig(), g, (120, 160), (64, 64)).shape
    torch.Size([3, 2, 3])
    """
    out_size = in_size if out_size is None else out_size

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator)

    angle = uniform(-config.rotate, config.rotate) * math.pi / 180
    zoom = torch.exp(uniform(-math.log1p(config.scale), math.log1p(config.scale)))
    flip = torch.where(torch.rand(count, generator=generator) < config.flip, -1.0, 1.0)
    shift = torch.stack([uniform(-config.shift, config.shift), uniform(-config.shift, config.shift)], 1) * 2
    center = shift if centers is None else centers + shift
    (in_h, in_w), (out_h, out_w) = in_size, out_size
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0] = cos * out_w / in_w * flip
    theta[:, 0, 1] = -sin * out_h / in_w
    theta[:, 1, 0] = sin * out_w / in_h * flip
    theta[:, 1, 1] = cos * out_h / in_h
    theta[:, :, 2] = center
    return theta


def warp_batch(images: torch.Tensor, theta: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Sample ``images`` ``(B, C, H, W)`` through ``theta`` into ``(B, C, *size)`` (bilinear, border padding)."""
    grid = F.affine_grid(theta, (images.shape[0], images.shape[1], *size), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(rgb: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Random per-image gain, offset and saturation change of ``(B, 3, H, W)`` in [0, 1].

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> colour_jitter(torch.rand(2, 3, 4, 4), 0.2, g).shape
    torch.Size([2, 3, 4, 4])
    """
    if strength <= 0:
        return rgb
    count = rgb.shape[0]

    def uniform(*shape: int) -> torch.Tensor:
        return (torch.rand(count, *shape, generator=generator) * 2 - 1) * strength

    gain = 1 + uniform(3, 1, 1) * 0.5 + uniform(1, 1, 1)
    offset = uniform(1, 1, 1) * 0.5
    grey = rgb.mean(dim=1, keepdim=True)
    saturation = 1 + uniform(1, 1, 1) * 2
    out = grey + (rgb - grey) * saturation
    return (out * gain + offset).clamp_(0, 1)


def foreground_pixels(masks: torch.Tensor) -> list[torch.Tensor]:
    """Normalised ``(x, y)`` coordinates of the foreground pixels of each of ``masks`` ``(K, 1, H, W)``."""
    height, width = masks.shape[-2:]
    out = []
    for mask in masks:
        yx = torch.nonzero(mask[0] > 0.5).float()
        out.append(torch.stack([(yx[:, 1] + 0.5) / width * 2 - 1, (yx[:, 0] + 0.5) / height * 2 - 1], 1))
    return out


def foreground_centers(pixels: list[torch.Tensor], picks: torch.Tensor, generator: torch.Generator, share: float = 0.6) -> torch.Tensor:
    """Crop centres in normalised coordinates: a ``share`` of them on foreground pixels, the rest anywhere.

    ``pixels`` comes from :func:`foreground_pixels`; ``picks`` is the mask index of each sample.

    Examples
    --------
    >>> m = torch.zeros(1, 1, 8, 8); m[..., 2:4, 2:4] = 1
    >>> g = torch.Generator().manual_seed(0)
    >>> foreground_centers(foreground_pixels(m), torch.zeros(4, dtype=torch.long), g).shape
    torch.Size([4, 2])
    """
    count = picks.shape[0]
    centers = torch.rand(count, 2, generator=generator) * 2 - 1
    on_object = torch.rand(count, generator=generator) < share
    for i in range(count):
        candidates = pixels[picks[i]]
        if on_object[i] and len(candidates):
            centers[i] = candidates[torch.randint(len(candidates), (1,), generator=generator).item()]
    return centers


def augmented_crops(
    stacked: torch.Tensor,
    pixels: list[torch.Tensor],
    count: int,
    augment: AugmentConfig,
    generator: torch.Generator,
    crop: tuple[int, int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random crops of ``stacked`` ``(K, 3 + C, H, W)`` (RGB first, then any other channels).

    Each crop picks a frame, is centred on its foreground often enough
    (:func:`foreground_centers`), warped by a random affine and its RGB
    colour-jittered. Returns the jittered RGB ``(count, 3, h, w)`` and the
    other channels ``(count, C, h, w)`` (e.g. positional channels and the mask).

    Examples
    --------
    >>> m = torch.zeros(1, 1, 16, 16); m[..., 4:12, 4:12] = 1
    >>> rgb, rest = augmented_crops(torch.cat([torch.rand(1, 3, 16, 16), m], 1), foreground_pixels(m), 2,
    ...                             AugmentConfig(), torch.Generator().manual_seed(0), (8, 8))
    >>> rgb.shape, rest.shape
    (torch.Size([2, 3, 8, 8]), torch.Size([2, 1, 8, 8]))
    """
    picks = torch.randint(len(stacked), (count,), generator=generator)
    centers = foreground_centers(pixels, picks, generator)
    theta = random_affines(count, augment, generator, tuple(stacked.shape[-2:]), crop, centers)
    batch = warp_batch(stacked[picks], theta, crop)
    return colour_jitter(batch[:, :3], augment.jitter, generator), batch[:, 3:]


def dice_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice loss (Dice per sample, averaged).

    Examples
    --------
    >>> t = torch.zeros(1, 1, 4, 4); t[..., :2, :] = 1
    >>> float(dice_bce(t * 20 - 10, t)) < 0.01
    True
    """
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    dims = tuple(range(1, prob.ndim))
    inter = (prob * target).sum(dims)
    dice = 1 - (2 * inter + 1) / (prob.sum(dims) + target.sum(dims) + 1)
    return bce + dice.mean()


def fit_segmenter(
    build: Callable[[], torch.nn.Module],
    batch_loss: Callable[[torch.nn.Module, torch.Generator], torch.Tensor],
    steps: int,
    lr: float,
    seed: int,
    lr_scale: Callable[[torch.nn.Module], list[tuple[list[torch.nn.Parameter], float]]] | None = None,
) -> torch.nn.Module:
    """Train the network ``build()`` makes for ``steps`` Adam steps on a one-cycle schedule; return it in eval mode.

    ``batch_loss(net, generator)`` draws one augmented batch with ``generator``
    and returns its loss. The network is built after seeding torch, so its
    initial weights, like the batches, follow from ``seed`` alone.
    ``lr_scale(net)`` may split the parameters into ``(params, factor)``
    groups, each trained at ``factor * lr`` (e.g. pretrained layers slower).

    Examples
    --------
    >>> net = fit_segmenter(lambda: torch.nn.Conv2d(3, 1, 1), lambda n, g: n(torch.rand(1, 3, 4, 4, generator=g)).mean(), 2, 1e-3, 0)
    >>> net.training
    False
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = build()
    groups = lr_scale(net) if lr_scale is not None else [(list(net.parameters()), 1.0)]
    optimiser = torch.optim.Adam([{"params": params, "lr": lr * factor} for params, factor in groups], lr=lr)
    max_lr = [lr * factor for _, factor in groups]
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=max_lr, total_steps=max(1, steps), pct_start=0.15)
    net.train()
    for _ in range(steps):
        loss = batch_loss(net, generator)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
    return net.eval()
