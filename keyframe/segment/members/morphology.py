"""Mask clean-up and soft-mask helpers shared by the classical members.

Every function works on one ``(H, W)`` mask; binary masks are ``bool``,
soft masks ``float32`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from keyframe.segment.base import check_real, check_whole


@dataclass(frozen=True)
class CleanConfig:
    """How a raw binary foreground is cleaned.

    Attributes
    ----------
    vote : side of the neighbour-vote window (a median filter on the binary
        mask: a pixel keeps its label only if most neighbours agree); 0 = off.
    close : diameter of the elliptic closing kernel; 0 = off.
    min_blob : blobs smaller than this fraction of the image are removed.
    fill_holes : fill background regions that do not touch the border.
    """

    vote: int = 5
    close: int = 5
    min_blob: float = 0.0005
    fill_holes: bool = True

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_whole(self, "vote", "close", minimum=0)
        check_real(self, "min_blob", maximum=1.0)


def clean_mask(mask: np.ndarray, config: CleanConfig = CleanConfig()) -> np.ndarray:
    """Neighbour vote, closing, small-blob removal and hole filling, in that order.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((40, 40), bool); m[10:30, 10:30] = True; m[20, 20] = False; m[2, 2] = True
    >>> out = clean_mask(m)
    >>> bool(out[20, 20]), bool(out[2, 2])
    (True, False)
    """
    out = np.asarray(mask, bool).astype(np.uint8) * 255
    if config.vote > 1:
        out = cv2.medianBlur(out, config.vote | 1)
    if config.close > 1:
        out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _ellipse(config.close))
    out = remove_small_blobs(out > 0, config.min_blob)
    if config.fill_holes:
        out = fill_holes(out)
    return out


def remove_small_blobs(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """Drop 8-connected foreground blobs smaller than ``min_fraction`` of the image."""
    mask = np.asarray(mask, bool)
    min_area = min_fraction * mask.size
    if min_area < 1 or not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Foreground plus every background region that does not reach the image border."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return mask
    # Flood the background from a padded border: whatever it cannot reach is a hole.
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return mask | holes


def soft_from_binary(mask: np.ndarray, softness: float = 2.0) -> np.ndarray:
    """A soft mask from a binary one: a sigmoid of the signed distance to its edge.

    ``softness`` is the distance in pixels over which the confidence goes from
    0.5 to about 0.73; pixels deep inside (or far outside) get close to 1 (0).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((20, 20), bool); m[5:15, 5:15] = True
    >>> p = soft_from_binary(m)
    >>> bool(p[10, 10] > 0.85), bool(p[0, 0] < 0.1), bool((p > 0.5).sum() == m.sum())
    (True, True, True)
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if mask.all():
        return np.ones(mask.shape, np.float32)
    as_u8 = mask.astype(np.uint8)
    inside = cv2.distanceTransform(as_u8, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - as_u8, cv2.DIST_L2, 3)
    # A pixel on either side of the edge is at distance ~1; shift so the edge sits at 0.5.
    signed = np.clip(np.where(mask, inside - 0.5, 0.5 - outside), -50 * softness, 50 * softness)
    return (1.0 / (1.0 + np.exp(-signed / max(softness, 1e-3)))).astype(np.float32)


def sharpen(prob: np.ndarray, gain: float) -> np.ndarray:
    """Push a soft mask away from 0.5 (a logistic curve through 0.5 with slope ``gain / 4``)."""
    if gain <= 0:
        return np.asarray(prob, np.float32)
    return (1.0 / (1.0 + np.exp(-gain * (np.asarray(prob, np.float32) - 0.5)))).astype(np.float32)


def bounding_box(mask: np.ndarray, margin: float = 0.0) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` of the foreground grown by ``margin`` x its size, clipped; None if empty."""
    rows, cols = np.flatnonzero(np.any(mask, axis=1)), np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    grow_y, grow_x = round(margin * (y1 - y0)), round(margin * (x1 - x0))
    height, width = mask.shape[:2]
    return max(0, y0 - grow_y), min(height, y1 + grow_y), max(0, x0 - grow_x), min(width, x1 + grow_x)


def _ellipse(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
