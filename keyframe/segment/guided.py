"""Edge-aware upsampling of a soft mask to the frame's size: the colour guided filter.

The ensemble stacks and smooths at a work size (longer side 384 by default), and
the UNet's logits are at half its own input size, so a mask upsampled bilinearly
to the frame keeps that coarse grid's edges. The guided filter of He, Sun and
Tang models the mask, in every small window, as an affine function of the
frame's colour, ``q = a . I + b``, fitted by least squares: where the window
holds an edge of the frame the mask's edge snaps to it. As in He and Sun's fast
guided filter, ``a`` and ``b`` are fitted at the mask's own size against the
frame shrunk to it, then upsampled and applied to the frame at full size, so the
cost is that of a few box filters at the work size and one multiply-add per
pixel at the frame's.
"""

from __future__ import annotations

import cv2
import numpy as np


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the ``(2r+1)^2`` window around each pixel (edges mirrored)."""
    side = 2 * radius + 1
    return cv2.boxFilter(image, -1, (side, side), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The colour guided filter's window-averaged coefficients: ``a`` ``(H, W, 3)`` and ``b`` ``(H, W)`` with
    ``filtered = (a * guide).sum(-1) + b``.

    ``guide`` is float32 RGB ``(H, W, 3)`` in [0, 1], ``source`` float32 ``(H, W)``; ``eps`` regularises the
    fit (larger: smoother, less bound to the guide's edges).

    Examples
    --------
    >>> guide = np.zeros((8, 8, 3), np.float32); guide[:, 4:] = 1
    >>> a, b = guided_coefficients(guide, guide[..., 0].copy(), 1, 1e-4)
    >>> [round(float(v), 2) for v in ((a * guide).sum(-1) + b)[0]]   # the guide's own step, kept to within a few percent
    [0.0, 0.0, -0.01, 0.03, 1.0, 0.98, 1.0, 1.0]
    """
    channels = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
    mean_guide = [_box(channel, radius) for channel in channels]
    mean_source = _box(source, radius)
    covariance = [_box(channel * source, radius) - mean * mean_source for channel, mean in zip(channels, mean_guide)]
    # The guide's 3x3 colour covariance in every window, plus eps on the diagonal; solved by its adjugate.
    var = {(i, j): _box(channels[i] * channels[j], radius) - mean_guide[i] * mean_guide[j]
           for i in range(3) for j in range(i, 3)}
    rr, rg, rb, gg, gb, bb = (var[0, 0] + eps, var[0, 1], var[0, 2], var[1, 1] + eps, var[1, 2], var[2, 2] + eps)
    adjugate = ((gg * bb - gb * gb, rb * gb - rg * bb, rg * gb - rb * gg),
                (rb * gb - rg * bb, rr * bb - rb * rb, rg * rb - rr * gb),
                (rg * gb - rb * gg, rg * rb - rr * gb, rr * gg - rg * rg))
    determinant = rr * adjugate[0][0] + rg * adjugate[0][1] + rb * adjugate[0][2]
    a = [sum(adjugate[i][j] * covariance[j] for j in range(3)) / determinant for i in range(3)]
    b = mean_source - sum(a_c * mean for a_c, mean in zip(a, mean_guide))
    return np.dstack([_box(a_c, radius) for a_c in a]), _box(b, radius)


def guided_upsample(prob: np.ndarray, rgb: np.ndarray, radius: int = 4, eps: float = 1e-4) -> np.ndarray:
    """A soft mask ``prob`` (float32 in [0, 1], any size) brought to the size of the uint8 RGB frame ``rgb`` with
    its edges snapped to the frame's: the fast colour guided filter, ``radius`` in pixels of ``prob``'s grid.
    Returns float32 in [0, 1] at the frame's size.

    Examples
    --------
    >>> rgb = np.zeros((40, 40, 3), np.uint8); rgb[:, 21:] = 255     # an edge between columns 20 and 21
    >>> coarse = np.zeros((10, 10), np.float32); coarse[:, 5:] = 1    # the same edge, 4x coarser
    >>> up = guided_upsample(coarse, rgb, radius=2)
    >>> bool((up[:, :21] < 0.5).all() and (up[:, 21:] >= 0.5).all())
    True
    """
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (prob.shape[1], prob.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    a, b = guided_coefficients(small, prob.astype(np.float32), radius, eps)
    a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    full = rgb.astype(np.float32) * np.float32(1 / 255)
    out = b + a[..., 0] * full[..., 0] + a[..., 1] * full[..., 1] + a[..., 2] * full[..., 2]
    return np.clip(out, 0.0, 1.0, out=out)
