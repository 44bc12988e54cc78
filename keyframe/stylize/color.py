"""Global colour transfer (Reinhard et al. 2001): match per-channel mean and std in CIELAB.

Fitted on a keyframe pair (the frame and its painted version), it carries the
painting's overall palette to every other frame in a few milliseconds: a fast
option on its own, and a baseline for the learned stylizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EPS = 1e-6


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` -> float32 CIELAB (L in [0, 100], a and b about [-127, 127])."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 CIELAB -> uint8 RGB, clipped to the displayable range."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def lab_stats(rgb: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an image in CIELAB, over ``mask`` if given."""
    lab = rgb_to_lab(rgb).reshape(-1, 3)
    if mask is not None:
        lab = lab[np.asarray(mask, bool).reshape(-1)]
    if lab.size == 0:
        raise ValueError("colour statistics of an empty region")
    return lab.mean(axis=0), lab.std(axis=0)


@dataclass(frozen=True)
class ColorTransfer:
    """A fitted Reinhard transfer: ``lab -> (lab - source_mean) / source_std * target_std + target_mean``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> frame = rng.integers(60, 200, (32, 32, 3)).astype(np.uint8)
    >>> painted = (frame * 0.8 + 30).astype(np.uint8)
    >>> transfer = ColorTransfer.fit(frame, painted)
    >>> transfer.apply(frame).shape
    (32, 32, 3)
    """

    source_mean: np.ndarray
    source_std: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray

    @classmethod
    def fit(cls, source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> ColorTransfer:
        """Fit on a frame (``source``) and its painted version (``target``), inside ``mask`` if given."""
        source_mean, source_std = lab_stats(source, mask)
        target_mean, target_std = lab_stats(target, mask)
        return cls(source_mean, source_std, target_mean, target_std)

    @classmethod
    def fit_many(cls, pairs: list[tuple[np.ndarray, np.ndarray]], masks: list[np.ndarray] | None = None) -> ColorTransfer:
        """Fit on several keyframe pairs at once (statistics over all their pixels)."""
        masks = masks or [None] * len(pairs)

        def pooled(images):
            labs = []
            for image, mask in images:
                lab = rgb_to_lab(image).reshape(-1, 3)
                labs.append(lab if mask is None else lab[np.asarray(mask, bool).reshape(-1)])
            stacked = np.concatenate(labs)
            return stacked.mean(axis=0), stacked.std(axis=0)

        source_mean, source_std = pooled([(s, m) for (s, _), m in zip(pairs, masks)])
        target_mean, target_std = pooled([(t, m) for (_, t), m in zip(pairs, masks)])
        return cls(source_mean, source_std, target_mean, target_std)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Transfer the colours of a uint8 RGB frame."""
        lab = rgb_to_lab(rgb)
        lab = (lab - self.source_mean) / np.maximum(self.source_std, EPS) * self.target_std + self.target_mean
        return lab_to_rgb(lab)


def reinhard_transfer(image: np.ndarray, source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Recolour ``image`` the way ``source`` became ``target`` (Reinhard LAB mean/std transfer).

    Examples
    --------
    >>> frame = np.full((8, 8, 3), 100, np.uint8)
    >>> reinhard_transfer(frame, frame, np.full((8, 8, 3), 150, np.uint8))[0, 0].tolist()
    [150, 150, 150]
    """
    return ColorTransfer.fit(source, target, mask).apply(image)
