"""Interlaced video (camcorders' 1080i, broadcast and DV captures) shown without combing.

An interlaced frame holds two fields filmed a field apart: its even lines at one moment, its odd lines at the
next. Where something moves, the two disagree and the frame shows comb teeth along every moving edge, which a
mask or a style would learn as texture. Here each frame is mended on its own (a pure function of the frame, so
any frame range can be read anywhere): the top field's lines are kept, and a line of the other field is
replaced by the mean of the lines above and below it only where it combs, that is where it is brighter or
darker than both by more than a threshold. What stands still keeps its full vertical detail.
"""

from __future__ import annotations

import cv2
import numpy as np

COMB_THRESHOLD = 12  # grey levels a line must stand out from both neighbours by to count as a comb tooth


def comb_mask(grey: np.ndarray, threshold: float = COMB_THRESHOLD) -> np.ndarray:
    """Where the odd lines of ``grey`` (uint8) comb: brighter than both lines around them, or darker than both, by
    more than ``threshold``, as the next or the previous odd line is too; widened by a pixel on each side so that
    the teeth's soft edges go too.

    Examples
    --------
    >>> grey = np.zeros((5, 3), np.uint8); grey[1::2, 1] = 200  # the odd lines differ in the middle column
    >>> comb_mask(grey).astype(int)
    array([[0, 0, 0],
           [1, 1, 1],
           [0, 0, 0],
           [1, 1, 1],
           [0, 0, 0]])
    """
    mask = np.zeros(grey.shape, bool)
    mask[1::2] = _odd_line_combs(grey, threshold)
    return mask


def _odd_line_combs(grey: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`comb_mask` on the odd lines alone (one row per odd line)."""
    odd, above, below = _odd_lines_and_neighbours(grey.astype(np.int16))
    brighter = (odd - above > threshold) & (odd - below > threshold)
    darker = (above - odd > threshold) & (below - odd > threshold)
    combed = _in_a_run(brighter) | _in_a_run(darker)
    return cv2.dilate(combed.astype(np.uint8), np.ones((1, 3), np.uint8)).astype(bool)


def _odd_lines_and_neighbours(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The odd lines, the lines above them and the lines below them (the last line, when odd, has only the one
    above it, which stands in for both)."""
    odd, above, below = lines[1::2], lines[0:-1:2], lines[2::2]
    if len(below) < len(odd):
        below = np.concatenate([below, above[-1:]])
    return odd, above, below


def _in_a_run(standing_out: np.ndarray) -> np.ndarray:
    """Lines that stand out where the odd line before or after them does too: combing repeats down a moving edge,
    while a thin horizontal line in the picture stands out alone."""
    before = np.zeros_like(standing_out)
    before[1:] = standing_out[:-1]
    after = np.zeros_like(standing_out)
    after[:-1] = standing_out[1:]
    return standing_out & (before | after)


def deinterlace(rgb: np.ndarray, threshold: float = COMB_THRESHOLD) -> np.ndarray:
    """``rgb`` (uint8, H x W x 3) with its odd lines, where they comb (:func:`comb_mask`), replaced by the mean
    of the lines above and below: the top field kept, the other interpolated where the two disagree.

    Examples
    --------
    >>> frame = np.full((6, 4, 3), 50, np.uint8); frame[1::2, :2] = 250  # a bar the odd field saw elsewhere
    >>> deinterlace(frame)[:, 0, 0]
    array([50, 50, 50, 50, 50, 50], dtype=uint8)
    """
    if rgb.shape[0] < 3:
        return rgb
    combed = _odd_line_combs(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), threshold)
    if not combed.any():
        return rgb
    odd, above, below = _odd_lines_and_neighbours(rgb)
    between = cv2.addWeighted(np.ascontiguousarray(above), 0.5, np.ascontiguousarray(below), 0.5, 0)
    odd = np.ascontiguousarray(odd)
    cv2.copyTo(between, combed.view(np.uint8), odd)  # 10x faster than numpy's masked copy across channels
    mended = rgb.copy()
    mended[1::2] = odd
    return mended
