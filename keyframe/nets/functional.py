"""Stateless tensor functions that the backbone modules are built from.

Everything here is a plain function of tensors (kornia-style), so it can be
tested and reused without building a network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TF EfficientNet-Lite preprocessing: (x * 255 - 127) / 128, i.e. ~ (x - 0.5) / 0.5.
HALF_MEAN = (127.0 / 255.0,) * 3
HALF_STD = (128.0 / 255.0,) * 3


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` along one axis that TensorFlow's ``"SAME"`` adds.

    The output length is ``ceil(size / stride)``; when the total is odd the
    extra pixel goes *after*, which is what makes TF weights asymmetric.

    Examples
    --------
    >>> same_padding(224, 3, 2)
    (0, 1)
    >>> same_padding(97, 3, 2)
    (1, 1)
    """
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int, dilation: int = 1) -> torch.Tensor:
    """Zero-pad the last two axes of ``x`` as TF ``"SAME"`` would before a convolution.

    Examples
    --------
    >>> pad_same(torch.zeros(1, 1, 224, 224), 3, 2).shape
    torch.Size([1, 1, 225, 225])
    """
    top, bottom = same_padding(x.shape[-2], kernel, stride, dilation)
    left, right = same_padding(x.shape[-1], kernel, stride, dilation)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    groups: int = 1,
    padding: str = "same",
) -> torch.Tensor:
    """2-D convolution with either TF ``"same"`` or ``"symmetric"`` zero padding.

    Both give ``ceil(size / stride)`` outputs for odd kernels; they differ only
    for strided convolutions on even sizes, where TF puts the extra row/column
    at the bottom/right instead of splitting evenly (and then dropping one).

    Examples
    --------
    >>> conv2d(torch.zeros(1, 2, 9, 10), torch.zeros(4, 2, 3, 3), stride=2).shape
    torch.Size([1, 4, 5, 5])
    """
    kernel = weight.shape[-1]
    if padding == "same" and stride > 1:
        x = pad_same(x, kernel, stride)
        return F.conv2d(x, weight, bias, stride, 0, 1, groups)
    if padding not in ("same", "symmetric"):
        raise ValueError(f"padding must be 'same' or 'symmetric', got {padding!r}")
    # Stride 1 with an odd kernel: TF "same" is already symmetric, so let the
    # convolution pad in place instead of copying the input through F.pad.
    return F.conv2d(x, weight, bias, stride, kernel // 2, 1, groups)


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Per-channel ``(x - mean) / std`` for ``(B, C, H, W)`` input and ``(C,)`` statistics.

    Examples
    --------
    >>> normalize(torch.full((1, 3, 2, 2), 0.5), torch.full((3,), 0.5), torch.ones(3)).abs().max().item()
    0.0
    """
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def images_to_tensor(images: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
    """Turn uint8 RGB images into the float ``(B, 3, H, W)`` tensor in ``[0, 1]`` a backbone takes.

    Parameters
    ----------
    images
        One ``(H, W, 3)`` image, a ``(B, H, W, 3)`` batch, or a sequence of
        equally sized ``(H, W, 3)`` images, all uint8 RGB.

    Examples
    --------
    >>> images_to_tensor(np.zeros((5, 7, 3), np.uint8)).shape
    torch.Size([1, 3, 5, 7])
    >>> images_to_tensor(np.full((2, 5, 7, 3), 255, np.uint8)).max().item()
    1.0
    """
    array = np.stack(images) if isinstance(images, (list, tuple)) else np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"expected (H, W, 3) or (B, H, W, 3) RGB images, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {array.dtype}")
    tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2)
    return tensor.float().div_(255.0)


def resize_center_crop(x: torch.Tensor, size: int = 224, crop_fraction: float = 0.875) -> torch.Tensor:
    """ImageNet evaluation framing: resize the short side to ``size / crop_fraction``, crop ``size`` square.

    Classification heads were trained on centred square crops; feeding them a
    whole wide frame still works but costs accuracy.

    Examples
    --------
    >>> resize_center_crop(torch.rand(1, 3, 300, 451)).shape
    torch.Size([1, 3, 224, 224])
    """
    height, width = x.shape[-2:]
    scale = size / crop_fraction / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return x[..., top : top + size, left : left + size]


def top_k(logits: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities and class indices of the ``k`` best classes, best first.

    Examples
    --------
    >>> probs, index = top_k(torch.tensor([[0.0, 3.0, 1.0]]), k=2)
    >>> index.tolist()
    [[1, 2]]
    """
    probs = logits.float().softmax(dim=-1)
    return probs.topk(min(k, probs.shape[-1]), dim=-1)
