"""Stateless building blocks of stylization: tensors, padding, patches, soft masks, compositing.

Everything here is a pure function of its arguments (kornia-style), so the
modules and pipelines around it stay thin and the pieces can be tested alone.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from keyframe.errors import check_number

# The blur behind a feather costs about its radius per pixel (a second a frame at 1080p by 200 px; 1e6 runs for
# hours), and a wider edge is a glow across the subject, not a feather.
MAX_FEATHER = 100.0


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W, C)`` (or float in [0, 1]) -> float ``(1, C, H, W)`` in [0, 1].

    Examples
    --------
    >>> to_tensor(np.zeros((4, 5, 3), np.uint8)).shape
    torch.Size([1, 3, 4, 5])
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    tensor = tensor.float() / 255.0 if array.dtype == np.uint8 else tensor.float()
    return tensor.permute(2, 0, 1).unsqueeze(0)


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """float ``(1, 3, H, W)`` or ``(3, H, W)`` in [0, 1] -> uint8 ``(H, W, 3)``, clamped and rounded.

    Examples
    --------
    >>> to_image(torch.full((1, 3, 2, 2), 0.5))[0, 0].tolist()
    [128, 128, 128]
    """
    if tensor.dim() == 4:
        tensor = tensor[0]
    array = tensor.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0)
    return np.ascontiguousarray(array.cpu().numpy())


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``(B, C, H, W)`` on the bottom and right (replicating the edge) to multiples of ``multiple``.

    Returns the padded tensor and the original ``(H, W)`` for :func:`crop_to`.

    Examples
    --------
    >>> padded, size = pad_to_multiple(torch.zeros(1, 3, 30, 17), 8)
    >>> padded.shape[-2:], size
    (torch.Size([32, 24]), (30, 17))
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (height, width)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``size = (H, W)``."""
    return x[..., : size[0], : size[1]]


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize an ``(H, W[, C])`` array by ``scale`` (area filter down, linear up); 1.0 returns it unchanged."""
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def feather(region: np.ndarray, radius: float) -> np.ndarray:
    """Soft float32 mask in [0, 1] from a boolean region, blurred over about ``radius`` pixels.

    Blurring is linear, so the feathered masks of a partition of the image
    (one per label) still sum to one at every pixel.

    Examples
    --------
    >>> hard = np.zeros((20, 20), bool); hard[:, 10:] = True
    >>> soft = feather(hard, 4)
    >>> round(float(soft[0, 0]), 3), round(float(soft[0, 19]), 3), bool(0 < soft[0, 10] < 1)
    (0.0, 1.0, True)
    """
    soft = region.astype(np.float32)
    if radius <= 0:
        return soft
    sigma = radius / 2.0
    size = 2 * int(np.ceil(3 * sigma)) + 1
    return np.clip(cv2.GaussianBlur(soft, (size, size), sigma, borderType=cv2.BORDER_REPLICATE), 0.0, 1.0)


def check_feather(radius: float) -> float:
    """``radius`` if it is a feather radius from 0 to ``MAX_FEATHER`` pixels; a :class:`KeyframeError` naming
    ``--feather`` otherwise.

    Examples
    --------
    >>> check_feather(1e6)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --feather must be a number <= 100 (pixels), got 1e+06
    """
    return check_number("--feather", radius, inclusive=True, maximum=MAX_FEATHER, unit="pixels")


def check_shape(array, shape: tuple[int, ...], what: str, against: str = "frame") -> np.ndarray:
    """``array`` if its shape is ``shape`` (that of the image it goes with, ``against``); a ValueError naming
    ``what`` otherwise: a mask, label map or guide of another size would be cropped or broadcast out of place.

    Examples
    --------
    >>> check_shape(np.zeros((10, 10), bool), (32, 32), "mask")
    Traceback (most recent call last):
    ...
    ValueError: mask (10, 10) and frame (32, 32) differ in size
    """
    array = np.asarray(array)
    if array.shape != tuple(shape):
        raise ValueError(f"{what} {array.shape} and {against} {tuple(shape)} differ in size")
    return array


def dilate(region: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a boolean region by ``pixels`` (an elliptical structuring element)."""
    if pixels <= 0:
        return region.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(region.astype(np.uint8), kernel) > 0


def bounding_box(region: np.ndarray, margin: int = 0, multiple: int = 1) -> tuple[slice, slice] | None:
    """Row and column slices around the ``True`` pixels, grown by ``margin`` and clipped; None if empty.

    The top and left edges are moved out to a multiple of ``multiple``: a strided network then sees every pixel
    of a crop at the same place in its grid as in the whole frame, so a box that moves does not change its output.

    Examples
    --------
    >>> region = np.zeros((10, 10), bool); region[4, 5] = True
    >>> bounding_box(region, margin=1)
    (slice(3, 6, None), slice(4, 7, None))
    >>> bounding_box(region, margin=1, multiple=4)
    (slice(0, 6, None), slice(4, 7, None))
    """
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return None
    height, width = region.shape
    top, bottom = max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)
    left, right = max(0, cols[0] - margin), min(width, cols[-1] + 1 + margin)
    top, left = top - top % multiple, left - left % multiple
    return slice(int(top), int(bottom)), slice(int(left), int(right))


def sample_patches(
    inputs: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    centers: Sequence[np.ndarray],
    size: int,
    batch: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut ``batch`` random ``size x size`` patches from keyframe pairs, centred inside their masks.

    Parameters
    ----------
    inputs, targets
        Per keyframe, float32 ``(H + size, W + size, C)`` arrays already padded
        by ``size // 2`` on every side (see :func:`pad_for_patches`); inputs may
        carry guide channels after RGB, targets are RGB.
    weights
        Per keyframe, float32 ``(H + size, W + size)`` loss weights (the mask), padded the same way.
    centers
        Per keyframe, flat indices into the unpadded ``(H, W)`` image where a patch may be centred.
    size, batch
        Patch side and number of patches.
    rng
        Source of randomness (the only one, so a seed reproduces the batch).

    Returns
    -------
    inputs, targets, weights : torch.Tensor
        ``(batch, C, size, size)``, ``(batch, 3, size, size)`` and ``(batch, 1, size, size)``.

    Examples
    --------
    >>> image = pad_for_patches(np.random.rand(40, 50, 3).astype(np.float32), 8)
    >>> mask = pad_for_patches(np.ones((40, 50), np.float32), 8)
    >>> x, y, w = sample_patches([image], [image], [mask], [np.arange(2000)], 8, 4, np.random.default_rng(0))
    >>> x.shape, w.shape
    (torch.Size([4, 3, 8, 8]), torch.Size([4, 1, 8, 8]))
    """
    counts = np.array([len(c) for c in centers], np.float64)
    which = rng.choice(len(centers), size=batch, p=counts / counts.sum())
    offsets = np.arange(size)
    xs, ys, ws = [], [], []
    for key in np.unique(which):
        n = int(np.sum(which == key))
        width = inputs[key].shape[1] - 2 * (size // 2)
        flat = centers[key][rng.integers(0, len(centers[key]), n)]
        # Top-left corner in padded coordinates is the centre in unpadded ones.
        top, left = flat // width, flat % width
        rows = (top[:, None] + offsets)[:, :, None]
        cols = (left[:, None] + offsets)[:, None, :]
        xs.append(inputs[key][rows, cols])
        ys.append(targets[key][rows, cols])
        ws.append(weights[key][rows, cols])
    order = rng.permutation(batch)

    def stack(parts: list[np.ndarray]) -> torch.Tensor:
        array = np.concatenate(parts)[order]
        if array.ndim == 3:
            array = array[..., None]
        return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))

    return stack(xs), stack(ys), stack(ws)


def pad_for_patches(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an ``(H, W[, C])`` array by ``size // 2`` on every side (and ``size - size // 2`` after)."""
    before, after = size // 2, size - size // 2
    pad = ((before, after), (before, after)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad, mode="reflect")


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a ``(2r+1)^2`` window with the window shrunk at the borders (``(B, C, H, W)``)."""
    size = 2 * radius + 1
    ones = torch.ones_like(x[:, :1])
    total = F.avg_pool2d(F.pad(x, (radius,) * 4), size, stride=1, count_include_pad=True)
    count = F.avg_pool2d(F.pad(ones, (radius,) * 4), size, stride=1, count_include_pad=True)
    return total / count


def guided_upsample(low_input: torch.Tensor, low_output: torch.Tensor, full_input: torch.Tensor, radius: int = 2, eps: float = 1e-3) -> torch.Tensor:
    """Carry a filter computed at low resolution to full resolution (fast guided filter, He & Sun 2015).

    Fits, per low-resolution window, the per-channel affine map ``output = a * input + b``,
    upsamples ``a`` and ``b`` bilinearly and applies them to the full-resolution input,
    so edges and fine texture come from the full-resolution frame.

    Parameters
    ----------
    low_input, low_output
        ``(B, 3, h, w)``: what the filter saw and what it returned.
    full_input
        ``(B, 3, H, W)``: the frame at full resolution.
    radius, eps
        Window radius (low-resolution pixels) and regulariser of the fit.

    Examples
    --------
    >>> low = torch.rand(1, 3, 16, 16)
    >>> guided_upsample(low, 0.5 * low + 0.1, torch.rand(1, 3, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
    """
    mean_i = box_filter(low_input, radius)
    mean_o = box_filter(low_output, radius)
    cov = box_filter(low_input * low_output, radius) - mean_i * mean_o
    var = box_filter(low_input * low_input, radius) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_o - a * mean_i
    size = full_input.shape[-2:]
    a = F.interpolate(box_filter(a, radius), size=size, mode="bilinear", align_corners=False)
    b = F.interpolate(box_filter(b, radius), size=size, mode="bilinear", align_corners=False)
    return a * full_input + b


def blend_layer(total: np.ndarray, weights: np.ndarray, layer: np.ndarray, weight: np.ndarray, box: tuple[slice, slice]) -> None:
    """Add ``weight * layer`` to the running sums of a composite, inside ``box`` only.

    ``total`` is float32 ``(H, W, 3)``, ``weights`` float32 ``(H, W)``; ``layer``
    and ``weight`` are already cropped to ``box``. Finish with :func:`finish_blend`.
    """
    total[box] += layer.astype(np.float32) * weight[..., None]
    weights[box] += weight


def finish_blend(frame: np.ndarray, total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``total + (1 - weights) * frame`` as uint8: what no layer covers keeps the frame.

    Feathered masks of a partition sum to one, so where two stylized segments
    meet their layers share the pixel and the original frame does not leak in.
    """
    rest = np.clip(1.0 - weights, 0.0, 1.0)[..., None]
    return np.clip(np.rint(total + rest * frame.astype(np.float32)), 0, 255).astype(np.uint8)


def unblend(blended: np.ndarray, frame: np.ndarray, alpha: np.ndarray, floor: float = 1 / 255) -> np.ndarray:
    """The colours a layer had before it was blended over ``frame``: ``blended = alpha * layer + (1 - alpha) * frame``.

    A segment stylized on its own keeps the original frame outside its
    segment, and its feathered edge is already a mix of its style and the
    original. Blending that edge again with another segment's would mix the
    original in twice (a rim at the seam); taking it apart first gives back the
    style the segment's model drew there. Where ``alpha`` is below ``floor``
    the layer holds too little of it to recover, and ``blended`` is kept.

    Examples
    --------
    >>> frame = np.full((1, 3, 3), 100, np.uint8); alpha = np.array([[1.0, 0.5, 0.0]], np.float32)
    >>> blended = np.array([[[200] * 3, [150] * 3, [100] * 3]], np.uint8)  # a layer of 200 feathered over 100
    >>> unblend(blended, frame, alpha)[0, :, 0].tolist()
    [200, 200, 100]
    """
    own = (alpha >= floor) & (alpha < 1.0)  # where alpha is 1 the layer is its own already
    layer = blended.copy()
    weight = alpha[own][:, None]
    recovered = (blended[own].astype(np.float32) - (1.0 - weight) * frame[own].astype(np.float32)) / weight
    layer[own] = np.clip(np.rint(recovered), 0, 255).astype(np.uint8)
    return layer


def composite_frame(frame: np.ndarray, labels: np.ndarray, layers: Mapping[int, np.ndarray], radius: float) -> np.ndarray:
    """Blend per-segment layers into one frame with feathered masks; segments without a layer keep ``frame``.

    Parameters
    ----------
    frame
        uint8 ``(H, W, 3)``: the original frame.
    labels
        uint8 ``(H, W)`` label map: a segment id per pixel.
    layers
        Segment id -> uint8 ``(H, W, 3)`` stylized frame (only its segment's area matters).
    radius
        Feather radius in pixels; 0 for hard edges.

    Examples
    --------
    >>> frame = np.zeros((8, 8, 3), np.uint8); labels = np.zeros((8, 8), np.uint8); labels[:, 4:] = 1
    >>> out = composite_frame(frame, labels, {1: np.full((8, 8, 3), 200, np.uint8)}, radius=0)
    >>> int(out[0, 0, 0]), int(out[0, 7, 0])
    (0, 200)
    """
    total = np.zeros(frame.shape, np.float32)
    weights = np.zeros(frame.shape[:2], np.float32)
    for segment, layer in layers.items():
        weight = feather(labels == segment, radius)
        box = bounding_box(weight > 0)
        if box is None:
            continue
        blend_layer(total, weights, layer[box], weight[box], box)
    return finish_blend(frame, total, weights)
