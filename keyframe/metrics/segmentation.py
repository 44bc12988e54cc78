"""Segmentation scores exactly as the DAVIS benchmark computes them.

J is the region similarity (IoU); F the boundary F-measure with a tolerance of
``ceil(0.008 * image diagonal)`` pixels; per sequence the mean, the recall
(fraction of frames above 0.5) and the decay (first-quarter mean minus
last-quarter mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.morphology import disk

BOUNDARY_FRACTION = 0.008


def jaccard(pred: np.ndarray, truth: np.ndarray) -> float:
    """Region similarity J: intersection over union of two binary masks (1 if both are empty).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[:, :2] = True
    >>> round(jaccard(a, b), 3)
    0.333
    """
    pred, truth = np.asarray(pred) > 0, np.asarray(truth) > 0
    if pred.shape != truth.shape:
        raise ValueError(f"masks differ in shape: {pred.shape} vs {truth.shape}")
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels: those that differ from their east, south or south-east neighbour.

    The last row compares with east only, the last column with south only,
    and the bottom-right pixel is never a boundary (as in DAVIS' ``seg2bmap``).
    """
    seg = np.asarray(mask) > 0
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    boundary[-1, :] = seg[-1, :] ^ east[-1, :]
    boundary[:, -1] = seg[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_tolerance(shape: tuple[int, ...]) -> int:
    """Tolerance radius in pixels: ``ceil(0.008 * diagonal)`` (8 at 854x480)."""
    return math.ceil(BOUNDARY_FRACTION * math.hypot(shape[0], shape[1]))


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int | None = None) -> float:
    """Boundary F-measure: 2PR/(P+R) of boundary pixels matched within ``tolerance``.

    No predicted boundary where a true one exists gives 0; both empty gives 1.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((50, 50), bool); a[10:40, 10:40] = True
    >>> boundary_f(a, a)
    1.0
    """
    pred, truth = np.asarray(pred) > 0, np.asarray(truth) > 0
    if pred.shape != truth.shape:
        raise ValueError(f"masks differ in shape: {pred.shape} vs {truth.shape}")
    radius = boundary_tolerance(pred.shape) if tolerance is None else tolerance
    pred_b, truth_b = boundary_map(pred), boundary_map(truth)
    n_pred, n_truth = np.count_nonzero(pred_b), np.count_nonzero(truth_b)
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    kernel = disk(radius).astype(np.uint8)
    pred_zone = cv2.dilate(pred_b.astype(np.uint8), kernel) > 0
    truth_zone = cv2.dilate(truth_b.astype(np.uint8), kernel) > 0
    precision = np.count_nonzero(pred_b & truth_zone) / n_pred
    recall = np.count_nonzero(truth_b & pred_zone) / n_truth
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class SequenceStats:
    """DAVIS per-sequence statistics of one measure (J or F)."""

    mean: float
    recall: float
    decay: float


def sequence_stats(values, bins: int = 4) -> SequenceStats:
    """Mean, recall (fraction > 0.5) and decay (first bin's mean minus last bin's) of per-frame values.

    Examples
    --------
    >>> sequence_stats([1.0, 1.0, 0.0, 0.0])
    SequenceStats(mean=0.5, recall=0.5, decay=1.0)
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return SequenceStats(float("nan"), float("nan"), float("nan"))
    edges = np.round(np.linspace(1, values.size, bins + 1) + 1e-10).astype(int) - 1
    chunks = [values[edges[i] : edges[i + 1] + 1] for i in range(bins)]
    decay = float(np.mean(chunks[0]) - np.mean(chunks[-1]))
    return SequenceStats(float(values.mean()), float(np.mean(values > 0.5)), decay)


def evaluate_masks(pred_dir, truth_dir, progress=None) -> dict:
    """Score a folder of predicted masks against a folder of true masks, DAVIS style.

    Frames are matched by file stem; only stems present in both folders are
    scored. Any non-zero value counts as foreground.

    Returns
    -------
    dict with ``J`` and ``F`` (each ``mean``, ``recall``, ``decay``), ``JF``
    (the mean of J mean and F mean), ``frames`` (the count) and ``per_frame``
    (``{stem: {"J": .., "F": ..}}``).

    Examples
    --------
    >>> evaluate_masks("pred", "davis/bear/masks")["JF"]  # doctest: +SKIP
    0.84
    """
    from pathlib import Path

    from keyframe.errors import fail
    from keyframe.io.images import list_images, read_mask
    from keyframe.progress import report

    pred_dir, truth_dir = Path(pred_dir), Path(truth_dir)
    for folder in (pred_dir, truth_dir):
        if not folder.is_dir():
            raise fail(folder, "no such folder")
    preds = {p.stem: p for p in list_images(pred_dir)}
    truths = {p.stem: p for p in list_images(truth_dir)}
    stems = [s for s in truths if s in preds]
    if not stems:
        raise fail(pred_dir, f"shares no mask stems with {truth_dir}")
    per_frame = {}
    for done, stem in enumerate(stems, 1):
        pred, truth = read_mask(preds[stem]), read_mask(truths[stem])
        if pred.shape != truth.shape:
            raise fail(preds[stem], f"is {pred.shape[1]}x{pred.shape[0]} but its truth is {truth.shape[1]}x{truth.shape[0]}")
        per_frame[stem] = {"J": jaccard(pred, truth), "F": boundary_f(pred, truth)}
        report(progress, done, len(stems))
    j = sequence_stats([v["J"] for v in per_frame.values()])
    f = sequence_stats([v["F"] for v in per_frame.values()])
    return {
        "J": _as_dict(j),
        "F": _as_dict(f),
        "JF": (j.mean + f.mean) / 2,
        "frames": len(stems),
        "per_frame": per_frame,
    }


def _as_dict(stats: SequenceStats) -> dict:
    return {"mean": stats.mean, "recall": stats.recall, "decay": stats.decay}
