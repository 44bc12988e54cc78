"""The movement benchmark's report, written from made-up measurements: a full run takes hours, so its last
step (turning the measurements into docs/benchmarks.md) is checked here, with and without mediapipe's rows."""

from pathlib import Path

import numpy as np
import pytest

import bench.motion as bench
from keyframe.motion.detect import Detection


def totals(label: str, auc: float, accuracy: float = 0.86) -> dict:
    """:func:`bench.motion.evaluate`'s totals, the same on the test pool and over every take."""
    return {"label": label, "auc": auc, "dtw_auc": 0.838, "accuracy": accuracy, "fps": 40.0,
            "every_auc": auc, "every_dtw_auc": 0.85, "every_accuracy": accuracy}


def exercise(squat_score: float) -> dict:
    """:func:`bench.motion.exercise`'s result: the routine scores 1, the squat after the turn ``squat_score``."""
    scores = np.where(np.arange(393) < bench.SQUAT_TURN, 1.0, squat_score)
    detection = Detection("exercise.avi", 1.0, True, -1.14, scores, scores[:-9], [[0, 371], [377, 392]], 10.0, None)
    given = Detection("exercise.avi", 1.0, True, -0.5, scores, scores[:-9], [[0, 371]], 10.0, None)
    return {"learn_s": 5.0, "result": detection, "given": given}


def measurements(with_pose: bool, squat_score: float = -0.9, best: float = 0.931) -> bench.Measurements:
    movements = {m: [bench.Take(m, style, "001", Path(f"{m}_{style}.bvh")) for style in ("normal", "angry")]
                 for m in bench.TARGETS}
    pool = [(items[1], 10.0) for items in movements.values()]
    row = ["bow (pixels)", 1, 4, 0.69, 0.84, 0.881, "10.0", 2042]
    crops = [["one crop for the clip", 0.1, -0.9, 0.2, -0.8, -0.5, -0.4],
             ["`--crop-seconds 5`", 0.3, 0.1, 0.3, 0.2, 0.23, 0.28]]
    optional = {"pose": None, "pose_neg": None, "pose_image_neg": None, "fused_mean": None, "fused_quiet": None,
              "fused_seeds": [], "gesture_seeds": []}
    if with_pose:
        optional = {"pose": totals("pose", 0.693), "pose_neg": totals("pose, negatives", 0.829),
                  "pose_image_neg": totals("pose, negatives, image frame", 0.852),
                  "fused_mean": totals("pixels+pose, negatives, mean fusion", 0.879),
                  "fused_quiet": totals("pixels+pose, negatives, noise 0.05", 0.893),
                  "fused_seeds": [totals("pixels+pose, negatives", 0.876 - seed / 100) for seed in range(3)],
                  "gesture_seeds": [totals(f"{bench.GESTURE}, negatives", best - seed / 100, 0.888) for seed in range(3)]}
    return bench.Measurements(
        load="1-minute load average 0.5", all_takes=movements, pool=pool, every=pool, rows=[row],
        pixels=totals("pixels", 0.76), negative_rows=[row], pixels_neg=totals("pixels, negatives", 0.855),
        cnn={"learn_s": 15.0, "fps": 150.5, "frames": 512}, ex=exercise(squat_score), crops=crops,
        stamp="2026-12-04", **optional)


def written(tmp_path: Path, run: bench.Measurements) -> str:
    report, plot = tmp_path / "benchmarks.md", tmp_path / "plot.png"
    bench.write(run, report, plot)
    assert plot.stat().st_size > 0
    return report.read_text()


def test_the_report_gives_each_target_its_verdict(tmp_path):
    text = written(tmp_path, measurements(with_pose=True))
    assert text.count("<!-- bench:motion -->") == 1 and "_Measured 2026-12-04" in text
    assert "Targets: mean AUC >= 0.95: 0.760, **missed**" in text
    assert ">= 20 frames/s with cnn:\n150.5, met" in text
    assert (f"the best mean AUC is 0.931 (`{bench.GESTURE}, negatives`) against 0.850 for DTW: beating DTW, met; "
            "mean AUC >= 0.95, **missed**") in text
    assert f"`{bench.GESTURE}, negatives` at seeds 0, 1, 2: 0.931, 0.921, 0.911 (mean 0.921)" in text


def test_a_target_reached_reads_met(tmp_path):
    text = written(tmp_path, measurements(with_pose=True, best=0.97))
    assert "the best mean AUC is 0.970" in text and "mean AUC >= 0.95, met" in text


def test_the_report_is_written_without_mediapipe_s_rows(tmp_path):
    text = written(tmp_path, measurements(with_pose=False))
    assert "`pose` rows: skipped, mediapipe is not installed here." in text
    assert "Its rows need mediapipe, which is not installed here." in text
    assert "the best mean AUC is 0.855 (`pixels, negatives`)" in text


@pytest.mark.parametrize("squat_score, verdict", [(-0.9, "all above it"), (-1.5, "partly below it")])
def test_the_exercise_sentence_reads_the_squat_from_the_scores(tmp_path, squat_score, verdict):
    text = written(tmp_path, measurements(with_pose=False, squat_score=squat_score))
    first = bench.SQUAT_TURN + bench.LearnConfig().window.length
    assert f"The squat's frames (from {first} on, where every window is in the squat) score {squat_score:.2f}" in text
    assert verdict in text
    assert "the score falls below it only at frames 372-376 (the routine turns to the squat at frame 375)" in text
