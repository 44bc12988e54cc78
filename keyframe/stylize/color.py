"""Global colour transfer (Reinhard et al. 2001): match per-channel mean and std in CIELAB.

Fitted on a keyframe pair (the frame and its painted version), it carries the
painting's overall palette to every other frame in a few milliseconds: a fast
option on its own, and a baseline for the learned stylizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from keyframe.io.images import check_rgb
from keyframe.stylize.functional import check_shape

EPS = 1e-6


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` -> float32 CIELAB (L in [0, 100], a and b about [-127, 127])."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 CIELAB -> uint8 RGB, clipped to the displayable range."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def lab_stats(rgb: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a uint8 RGB image in CIELAB, over ``mask`` (``(H, W)``) if given."""
    return _mean_std(_lab_pixels(check_rgb(rgb, "rgb"), mask))


def _lab_pixels(rgb: np.ndarray, mask: np.ndarray | None, what: str = "mask") -> np.ndarray:
    """The CIELAB pixels ``(N, 3)`` of a checked uint8 RGB image inside ``mask`` (all of them without one); the
    mask must be the image's ``(H, W)``, or its pixels would be picked from the wrong places (or out of range)."""
    lab = rgb_to_lab(rgb).reshape(-1, 3)
    if mask is None:
        return lab
    return lab[check_shape(mask, rgb.shape[:2], what, "image").astype(bool).reshape(-1)]


def _mean_std(lab: np.ndarray, what: str = "mask") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of CIELAB pixels ``(N, 3)``; a ValueError naming ``what`` (what
    selected them) for none, whose statistics would be NaN."""
    if lab.size == 0:
        raise ValueError(f"{what} selects no pixel, and colour statistics of an empty region are undefined")
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
        """Fit on a uint8 RGB frame (``source``) and its painted version (``target``), inside ``mask`` if given."""
        source_mean, source_std = _mean_std(_lab_pixels(check_rgb(source, "source"), mask))
        target_mean, target_std = _mean_std(_lab_pixels(check_rgb(target, "target"), mask))
        return cls(source_mean, source_std, target_mean, target_std)

    @classmethod
    def fit_many(cls, pairs: list[tuple[np.ndarray, np.ndarray]], masks: list[np.ndarray] | None = None) -> ColorTransfer:
        """Fit on several keyframe pairs at once (statistics over all their pixels).

        Parameters
        ----------
        pairs
            ``(source, target)`` uint8 RGB images, at least one pair.
        masks
            One ``(H, W)`` mask (or None: the whole frame) per pair, in the same order; None for none at all.
        """
        pairs = list(pairs)
        masks = _check_many(pairs, masks)
        source_mean, source_std = _pooled([source for source, _ in pairs], masks, "source")
        target_mean, target_std = _pooled([target for _, target in pairs], masks, "target")
        return cls(source_mean, source_std, target_mean, target_std)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Transfer the colours of a uint8 RGB frame."""
        lab = rgb_to_lab(check_rgb(rgb, "rgb"))
        lab = (lab - self.source_mean) / np.maximum(self.source_std, EPS) * self.target_std + self.target_mean
        return lab_to_rgb(lab)


def _check_many(pairs, masks) -> list:
    """The masks of :meth:`ColorTransfer.fit_many`, one per pair (all None without masks); a ValueError when there
    are no pairs or the counts differ (zip would drop the pairs past the last mask, silently)."""
    if len(pairs) == 0:
        raise ValueError("pairs is empty: give at least one (source, target) pair to fit on")
    if masks is None or len(masks) == 0:
        return [None] * len(pairs)
    if len(masks) != len(pairs):
        raise ValueError(f"masks has {len(masks)} mask(s) for {len(pairs)} pair(s); give one per pair "
                         f"(None for a whole frame)")
    return list(masks)


def _pooled(images: list, masks: list, side: str) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB mean and standard deviation over the pixels of every one of ``images`` inside its mask (``side``:
    which image of each pair they are, for messages)."""
    labs = [_lab_pixels(check_rgb(image, f"pairs[{i}] {side}"), mask, f"masks[{i}]")
            for i, (image, mask) in enumerate(zip(images, masks))]
    return _mean_std(np.concatenate(labs), "every mask")


def reinhard_transfer(image: np.ndarray, source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Recolour ``image`` the way ``source`` became ``target`` (Reinhard LAB mean/std transfer).

    Examples
    --------
    >>> frame = np.full((8, 8, 3), 100, np.uint8)
    >>> reinhard_transfer(frame, frame, np.full((8, 8, 3), 150, np.uint8))[0, 0].tolist()
    [150, 150, 150]
    """
    image = check_rgb(image, "image")  # here, to be named as the caller knows it (ColorTransfer.apply says "rgb")
    return ColorTransfer.fit(source, target, mask).apply(image)
