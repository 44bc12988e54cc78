"""Segmentation scores exactly as the DAVIS benchmark computes them.

J is the region similarity (IoU); F the boundary F-measure with a tolerance of
``ceil(0.008 * image diagonal)`` pixels; per sequence the mean, the recall
(fraction of frames above 0.5) and the decay (first-quarter mean minus
last-quarter mean). Label maps (several objects, as DAVIS 2017 and
``keyframe segment`` give them) are scored per object and averaged over the
objects, as DAVIS 2017 does.
"""

from __future__ import annotations

import math
import numbers
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
    pred, truth = _masks(pred, truth)
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else float(np.count_nonzero(pred & truth) / union)


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

    Parameters
    ----------
    pred, truth : array_like
        Masks of one shape ``(H, W)``, at least one pixel; non-zero is foreground.
    tolerance : int, optional
        The matching radius in whole pixels, from 0 (exact) to the masks' diagonal. None gives DAVIS's
        :func:`boundary_tolerance`, ``ceil(0.008 * diagonal)`` (DAVIS' own ``bound_th`` reads values below 1
        as that fraction; here give None instead).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((50, 50), bool); a[10:40, 10:40] = True
    >>> boundary_f(a, a)
    1.0
    """
    pred, truth = _masks(pred, truth)
    # boundary_map indexes the last row and column, and OpenCV's dilation drops a trailing axis of 1.
    if pred.ndim != 2 or pred.size == 0:
        raise ValueError(
            f"pred and truth have shape {pred.shape}, but boundary_f needs 2-D masks (H, W) of at least one pixel; "
            "check how they were read or cropped (a colour mask: mask.max(axis=-1))"
        )
    radius = _radius(tolerance, pred.shape)
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
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def _masks(pred, truth) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``truth`` as boolean masks (non-zero is foreground), refused if their shapes differ."""
    pred, truth = np.asarray(pred) > 0, np.asarray(truth) > 0
    if pred.shape != truth.shape:
        raise ValueError(f"masks differ in shape: {pred.shape} vs {truth.shape}")
    return pred, truth


def _radius(tolerance, shape: tuple[int, ...]) -> int:
    """The boundary matching radius: DAVIS's for None, else ``tolerance`` if a whole number of pixels from 0 to
    the diagonal (beyond it every boundary pixel already matches; a far larger one would only exhaust memory).

    Examples
    --------
    >>> _radius(None, (480, 854)), _radius(3, (480, 854))
    (8, 3)
    >>> _radius(0.008, (480, 854))
    Traceback (most recent call last):
    ...
    ValueError: tolerance must be a whole number of pixels from 0 to 980 (the masks' diagonal), got 0.008; give one, or None for DAVIS's ceil(0.008 x diagonal)
    """
    if tolerance is None:
        return boundary_tolerance(shape)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real):
        raise TypeError(f"tolerance must be a number of pixels or None, got {type(tolerance).__name__}")
    limit = math.ceil(math.hypot(shape[0], shape[1]))
    # Negative radii made an empty disk, which OpenCV replaces by its 3x3 default: radius 1, silently.
    if not (float(tolerance).is_integer() and 0 <= tolerance <= limit):
        raise ValueError(
            f"tolerance must be a whole number of pixels from 0 to {limit} (the masks' diagonal), got {tolerance}; "
            "give one, or None for DAVIS's ceil(0.008 x diagonal)"
        )
    return int(tolerance)


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


VOID = 255  # in a label map: pixels not scored as any object


def object_labels(truths) -> list[int]:
    """The object ids of a sequence: every non-zero value of its true masks, in order.

    Examples
    --------
    >>> import numpy as np
    >>> object_labels([np.array([[0, 2]], np.uint8), np.array([[1, 0]], np.uint8)])
    [1, 2]
    """
    values = set()
    for truth in truths:
        values.update(int(v) for v in np.unique(truth))
    return sorted(values - {0})


def frame_scores(pred: np.ndarray, truth: np.ndarray, labels: list[int], per_object: bool | None = None) -> dict:
    """J and F of one frame: ``{"J", "F"}``, and with several ``labels`` also ``objects``,
    ``{label: {"J", "F"}}``, whose means J and F are.

    With one label (or none) any non-zero value is foreground; with several (or ``per_object``) each
    object is ``pred == label`` against ``truth == label`` (an object absent from
    both scores 1), so a prediction that swaps two objects scores 0.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((20, 20), np.uint8); truth[2:8, 2:8] = 1; truth[12:18, 12:18] = 2
    >>> frame_scores(truth, truth, [1, 2])["J"], frame_scores(np.where(truth > 0, 3 - truth, 0), truth, [1, 2])["J"]
    (1.0, 0.0)
    """
    if not (len(labels) > 1 if per_object is None else per_object):
        return {"J": jaccard(pred, truth), "F": boundary_f(pred, truth)}
    objects = {str(label): {"J": jaccard(pred == label, truth == label), "F": boundary_f(pred == label, truth == label)}
               for label in labels}
    return {
        "J": float(np.mean([o["J"] for o in objects.values()])),
        "F": float(np.mean([o["F"] for o in objects.values()])),
        "objects": objects,
    }


def evaluate_masks(pred_dir, truth_dir, progress=None) -> dict:
    """Score a folder of predicted masks against a folder of true masks, DAVIS style.

    Frames are matched by file stem; only stems present in both folders are
    scored. When the true masks hold one non-zero value (e.g. 0/255), any
    non-zero value counts as foreground. When they hold several (a label map:
    DAVIS 2017, or ``keyframe segment``'s output for several segments), each
    object (every non-zero value found in the true masks but 255, which a label map
    uses for void pixels and the DAVIS 2017 evaluation reads as background) is scored on its own,
    ``pred == id`` against ``truth == id`` on every frame (1 where both lack it),
    its statistics are taken over the frames, and J and F are their means over
    the objects, as the DAVIS 2017 benchmark averages them.

    Returns
    -------
    dict with ``J`` and ``F`` (each ``mean``, ``recall``, ``decay``), ``JF``
    (the mean of J mean and F mean), ``frames`` (the count), ``objects`` (the
    object ids scored separately; empty for a single object) and ``per_frame``
    (``{stem: {"J": .., "F": ..}}``). With several objects, ``per_object``
    holds each object's ``J`` and ``F`` statistics (``{id: {"J": {..}, "F": {..}}}``)
    and every ``per_frame`` entry each object's scores under ``objects``.

    Examples
    --------
    >>> evaluate_masks("pred", "davis/bear/masks")["JF"]  # doctest: +SKIP
    0.84
    """
    from pathlib import Path

    from keyframe.errors import fail
    from keyframe.io.images import mask_files, mask_size, read_mask
    from keyframe.progress import report

    # Each folder named on its own when it is a file, missing or empty, not only when the stems differ.
    preds = {path.stem: path for path in mask_files(pred_dir)}
    truths = {path.stem: path for path in mask_files(truth_dir)}
    pred_dir, truth_dir = Path(pred_dir), Path(truth_dir)
    stems = [s for s in truths if s in preds]
    if not stems:
        raise fail(pred_dir, f"shares no mask stems with {truth_dir}")
    for stem in stems:  # from the headers: a predicted mask cut short or of the wrong size stops the run before any work
        pred_size, truth_size = mask_size(preds[stem]), mask_size(truths[stem])
        if pred_size != truth_size:
            raise fail(preds[stem], f"is {pred_size[1]}x{pred_size[0]} but its truth is {truth_size[1]}x{truth_size[0]}")
    # The objects of the whole sequence first: a frame may lack one that it must still be scored on.
    found = object_labels(read_mask(truths[stem]) for stem in stems)
    # In a label map, 255 marks void pixels (DAVIS 2017 outlines its objects so), which its evaluation reads as
    # background; in a 0/255 mask it is the object.
    labels = [label for label in found if label != VOID] if len(found) > 1 else found
    per_object = len(labels) > 1 or labels != found
    per_frame = {}
    for done, stem in enumerate(stems, 1):
        pred, truth = read_mask(preds[stem]), read_mask(truths[stem])
        if pred.shape != truth.shape:
            raise fail(preds[stem], f"is {pred.shape[1]}x{pred.shape[0]} but its truth is {truth.shape[1]}x{truth.shape[0]}")
        per_frame[stem] = frame_scores(pred, truth, labels, per_object)
        report(progress, done, len(stems))
    scores = _sequence_scores(per_frame, labels if per_object else [])
    return {**scores, "frames": len(stems), "per_frame": per_frame}


def _sequence_scores(per_frame: dict, objects: list[int]) -> dict:
    """``J``, ``F``, ``JF`` and ``objects`` of a sequence from its per-frame scores; with ``objects``, each
    statistic is the mean of the objects' own (DAVIS 2017), also given under ``per_object``."""
    if not objects:
        j = sequence_stats([v["J"] for v in per_frame.values()])
        f = sequence_stats([v["F"] for v in per_frame.values()])
        return {"J": _as_dict(j), "F": _as_dict(f), "JF": (j.mean + f.mean) / 2, "objects": []}
    per_object = {
        str(label): {m: _as_dict(sequence_stats([v["objects"][str(label)][m] for v in per_frame.values()])) for m in ("J", "F")}
        for label in objects
    }
    j, f = (_mean_stats([o[m] for o in per_object.values()]) for m in ("J", "F"))
    return {"J": j, "F": f, "JF": (j["mean"] + f["mean"]) / 2, "objects": objects, "per_object": per_object}


def _mean_stats(stats: list[dict]) -> dict:
    return {key: float(np.mean([s[key] for s in stats])) for key in ("mean", "recall", "decay")}


def _as_dict(stats: SequenceStats) -> dict:
    return {"mean": stats.mean, "recall": stats.recall, "decay": stats.decay}
