"""The movement part of ``keyframe demo``: learn the sample's wave, find it among the other movements.

The same performer in the same place (one sample seed) does each movement;
the model learns the first half of the wave clip and scores the second half
of every movement's clip, frames it never saw.
"""

from __future__ import annotations

import time
from pathlib import Path

from keyframe.motion.detect import detect
from keyframe.motion.learn import LearnConfig, learn
from keyframe.motion.plot import plot_detection

SIZE = (160, 120)
SEED = 100


def demo(out_dir, log=print, movement: str = "wave", frames: int = 150) -> dict:
    """Learn ``movement`` from the first half of a sample clip, then score the second half of every movement's clip.

    Writes ``movement.kfm``, one score plot per clip and ``movement.json`` under
    ``out_dir``; returns the summary (per clip: score, detected, intervals).

    Examples
    --------
    >>> summary = demo("out/demo/movement")  # doctest: +SKIP
    >>> summary["correct"], summary["clips"]  # doctest: +SKIP
    (4, 4)
    """
    from keyframe.io import write_json
    from keyframe.sample import MOVEMENTS, make_sample

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    half = frames // 2
    clips = {name: make_sample(name, frames=frames, size=SIZE, seed=SEED).frames for name in MOVEMENTS}
    model = learn([clips[movement][:half]], LearnConfig(), out=out_dir / "movement.kfm")
    results = {}
    for other in MOVEMENTS:
        detection = detect(model, clips[other][half:])
        detection.path = f"sample {other}"
        plot_detection(detection, out_dir / f"scores-{other}.png")
        expected = other == movement
        results[other] = {"score": round(detection.score, 4), "detected": bool(detection.detected),
                          "correct": bool(detection.detected) == expected, "intervals": detection.intervals}
        if log:
            log(f"movement: learned {movement!r}; {other:>12}: score {detection.score:+.3f} "
                f"-> {'detected' if detection.detected else 'not detected'}")
    summary = {
        "learned": movement,
        "threshold": round(model.threshold, 4),
        "clips": len(results),
        "correct": sum(r["correct"] for r in results.values()),
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(out_dir / "movement.json", summary)
    return summary
