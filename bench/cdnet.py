"""CDnet-2014 highway: F-measure of the background-subtraction member against plain OpenCV.

Protocol (changedetection.net): frames 470-1700 of ``baseline/highway``
(``temporalROI.txt``) are scored inside ``ROI.bmp``; ground-truth labels 85
(outside the region of interest) and 170 (unknown) are ignored, 50 (shadow)
counts as background and 255 as foreground; TP, FP and FN are summed over all
scored frames before the F-measure is taken.

The member gets the ground truth of the first scored frame as its only
annotated mask (255 = foreground), so that frame itself is not scored, for
any method. Plain OpenCV MOG2 and KNN with default parameters see every
frame from the first, as in their published results (about 0.71 and 0.80).

Run ``python -m bench.cdnet`` from the repository root.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from bench.report import SHARED_DATA, markdown_table, write_section
from keyframe.io import open_frames, read_mask
from keyframe.segment.members.backsub import BackSubConfig, BackSubMember

log = logging.getLogger(__name__)
HIGHWAY = SHARED_DATA / "cdnet" / "highway"


@dataclass
class Counts:
    """Pixel counts summed over frames; ``f_measure`` as CDnet defines it."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, pred: np.ndarray, truth: np.ndarray, roi: np.ndarray) -> None:
        """Count one frame: ``truth`` is the raw CDnet label image."""
        scored = roi & (truth != 85) & (truth != 170)
        positive = truth == 255
        self.tp += int(np.count_nonzero(pred & positive & scored))
        self.fp += int(np.count_nonzero(pred & ~positive & scored))
        self.fn += int(np.count_nonzero(~pred & positive & scored))

    @property
    def f_measure(self) -> float:
        """2 TP / (2 TP + FP + FN), i.e. the harmonic mean of precision and recall.

        Examples
        --------
        >>> Counts(tp=8, fp=2, fn=2).f_measure
        0.8
        """
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def scored_range(folder: Path) -> tuple[int, int]:
    """First and last scored frame numbers (1-based, inclusive) from ``temporalROI.txt``."""
    first, last = (int(v) for v in (folder / "temporalROI.txt").read_text().split()[:2])
    return first, last


def truth(folder: Path, number: int) -> np.ndarray:
    """The raw ground-truth label image of frame ``number`` (1-based)."""
    return read_mask(folder / "masks" / f"gt{number:06d}.png")


def score(preds: Iterator[tuple[int, np.ndarray]], folder: Path, first: int, last: int) -> Counts:
    """Sum counts over predictions ``(0-based index, bool mask)`` whose frame number is in ``first..last``."""
    roi = read_mask(folder / "ROI.bmp") > 0
    counts = Counts()
    for index, pred in preds:
        number = index + 1
        if first <= number <= last:
            counts.add(pred, truth(folder, number), roi)
    return counts


def opencv_default(algorithm: str, folder: Path) -> Iterator[tuple[int, np.ndarray]]:
    """Plain OpenCV with default parameters over every frame; shadows (127) count as background."""
    model = cv2.createBackgroundSubtractorMOG2() if algorithm == "mog2" else cv2.createBackgroundSubtractorKNN()
    for frame in open_frames(folder / "frames").iter_frames():
        yield frame.index, model.apply(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)) == 255


def member_run(config: BackSubConfig, folder: Path, reference: int) -> Callable[[], Iterator[tuple[int, np.ndarray]]]:
    """The backsub member given only the ground truth of frame ``reference`` (1-based)."""

    def run() -> Iterator[tuple[int, np.ndarray]]:
        source = open_frames(folder / "frames")
        keyframes = {reference - 1: truth(folder, reference) == 255}
        member = BackSubMember(config).fit(source, keyframes)
        for index, prob in member.predict(source, start=reference - 1):
            yield index, prob > 0.5

    return run


def timed(run: Callable[[], Iterator[tuple[int, np.ndarray]]], folder: Path, first: int, last: int) -> tuple[Counts, float]:
    """Counts and seconds per processed frame of one method."""
    started = time.perf_counter()
    frames = 0

    def counting():
        nonlocal frames
        for item in run():
            frames += 1
            yield item

    counts = score(counting(), folder, first, last)
    return counts, (time.perf_counter() - started) / max(frames, 1)


def methods(folder: Path, reference: int) -> dict[str, Callable]:
    """Name -> a callable yielding predictions, for every row of the table."""
    default = BackSubConfig()
    return {
        "OpenCV MOG2, defaults": lambda: opencv_default("mog2", folder),
        "OpenCV KNN, defaults": lambda: opencv_default("knn", folder),
        "backsub member (defaults: KNN, stabilised)": member_run(default, folder, reference),
        "backsub member, KNN, no stabilisation": member_run(replace(default, stabilize=False), folder, reference),
        "backsub member, MOG2, no stabilisation": member_run(replace(default, algorithm="mog2", stabilize=False), folder, reference),
        "backsub member, MOG2, noise warm-up (seed), no stabilisation": member_run(
            replace(default, algorithm="mog2", warmup_fill="noise", stabilize=False), folder, reference
        ),
    }


def main() -> None:
    """Score every method and write the ``cdnet`` section of docs/benchmarks.md."""
    cv2.setNumThreads(1)
    if not (HIGHWAY / "temporalROI.txt").is_file():
        print(f"bench.cdnet: skipped, no data at {HIGHWAY}")
        return
    first, last = scored_range(HIGHWAY)
    rows = []
    for name, run in methods(HIGHWAY, first).items():
        counts, seconds = timed(run, HIGHWAY, first + 1, last)
        rows.append([name, counts.f_measure, counts.precision, counts.recall, seconds * 1000])
        print(f"{name}: F={counts.f_measure:.3f} P={counts.precision:.3f} R={counts.recall:.3f} {seconds * 1000:.1f} ms/frame", flush=True)
    body = (
        f"CDnet-2014 `baseline/highway`, 320x240: frames {first + 1}-{last} scored inside ROI.bmp, labels 85 and 170 "
        f"ignored, 50 (shadow) counted as background; TP/FP/FN summed over frames. The member's only annotated mask "
        f"is the ground truth of frame {first} (so that frame is scored for nobody); plain OpenCV sees every frame "
        f"from frame 1 with default parameters. Published: MOG2 about 0.71, KNN about 0.80, best classical about 0.92.\n\n"
        + markdown_table(["method", "F-measure", "precision", "recall", "ms/frame"], rows)
    )
    write_section("cdnet", "CDnet highway: background subtraction", body)


if __name__ == "__main__":
    main()
