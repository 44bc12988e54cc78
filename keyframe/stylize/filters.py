"""Deterministic "painting" filters: keyframes whose truth exists for every frame.

They stand in for an artist in the benchmark, the demo and the tests: filter
one frame, learn from it, and compare the other frames with the filter's output.
They are also a quick way to make a first keyframe to paint over.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from keyframe.errors import KeyframeError
from keyframe.io.images import check_rgb


def stylization(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's edge-preserving "stylization" (a watercolour-like flattening).

    Examples
    --------
    >>> stylization(np.zeros((16, 16, 3), np.uint8)).shape
    (16, 16, 3)
    """
    rgb = check_rgb(rgb, "rgb")  # a float frame would come out all black, with no error
    return cv2.cvtColor(cv2.stylization(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.45), cv2.COLOR_BGR2RGB)


def pencil(rgb: np.ndarray) -> np.ndarray:
    """The colour output of OpenCV's pencil sketch (pencil strokes over washed-out colour) of a uint8 RGB frame."""
    rgb = check_rgb(rgb, "rgb")  # a float frame would come out all white, with no error
    _, colour = cv2.pencilSketch(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    return cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)


def cartoon(rgb: np.ndarray) -> np.ndarray:
    """A cartoon look of a uint8 RGB frame: repeated bilateral smoothing, colours quantised, dark edges drawn on top."""
    rgb = check_rgb(rgb, "rgb")  # the quantising and the edge threshold are in 0-255 levels
    smooth = rgb
    for _ in range(2):
        smooth = cv2.bilateralFilter(smooth, 9, 40, 7)
    quantised = (smooth // 32) * 32 + 16
    grey = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 5)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    return np.where(edges[..., None] > 0, quantised, 0).astype(np.uint8)


FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"stylization": stylization, "pencil": pencil, "cartoon": cartoon}


def apply_filter(name: str, rgb: np.ndarray) -> np.ndarray:
    """Apply the filter called ``name`` (one of :data:`FILTERS`) to a uint8 RGB frame."""
    if name not in FILTERS:
        raise KeyframeError(f"unknown filter {name!r}; choose from {', '.join(FILTERS)}")
    return FILTERS[name](rgb)
