"""The segmentation part of ``keyframe demo``: mask the built-in sample from two of its masks.

Examples
--------
>>> from keyframe.segment.demo import demo  # doctest: +SKIP
>>> demo("out/demo")["JF"]  # doctest: +SKIP
0.9
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from keyframe.io import write_mask
from keyframe.metrics import evaluate_masks
from keyframe.sample import make_sample, write_sample
from keyframe.segment.members.gmm import GMMConfig
from keyframe.segment.pipeline import segment
from keyframe.segment.cutout import write_cutouts
from keyframe.segment.preview import preview

# Members that keep the demo well under a minute on a 2-core laptop.
DEMO_METHODS = ("flow", "gmm", "grabcut", "unet")
# The UNet keeps its defaults: shrunk to 224 px and 100 steps it saved 20 s but fell from J&F 0.97 to 0.73 here.
DEMO_OPTIONS = {"gmm": GMMConfig(components=(4, 8), samples=8000)}


def demo(
    out_dir: str | os.PathLike, log=print, frames: int = 60, size: tuple[int, int] = (320, 240), methods: tuple[str, ...] = DEMO_METHODS
) -> dict:
    """Segment the built-in 'wave' sample from the masks of its first and middle frames; return J, F and J&F.

    Writes ``out_dir/sample/`` (frames, all true masks), ``given_masks/``
    (the two masks handed over), ``masks/`` (the result, one per frame) and
    ``masks.mp4`` (the frames with the result drawn over them) and ``cutout.mov`` (the figure cut out onto a
    transparent background, ProRes 4444). Given frames are not scored.
    """
    started = time.perf_counter()
    root = Path(out_dir)
    clip = make_sample("wave", frames=frames, size=size, seed=0)
    write_sample(root / "sample", clip)
    given = [0, frames // 2]
    for index in given:
        write_mask(root / "given_masks" / f"{clip.stems[index]}.png", clip.masks[index])
    result = segment(root / "sample" / "frames", root / "given_masks", root / "masks", methods=methods, member_options=DEMO_OPTIONS)
    scored = root / "scored"
    for index in range(frames):
        if index not in given:
            write_mask(scored / f"{clip.stems[index]}.png", clip.masks[index])
    scores = evaluate_masks(root / "masks", scored)
    preview(root / "sample" / "frames", root / "masks", root / "masks.mp4")
    write_cutouts(root / "sample" / "frames", root / "masks", root / "cutout.mov", feather=1.0)
    summary = {
        "frames": frames,
        "given": given,
        "methods": list(methods),
        "J": round(scores["J"]["mean"], 4),
        "F": round(scores["F"]["mean"], 4),
        "JF": round(scores["JF"], 4),
        "seconds": round(time.perf_counter() - started, 1),
        "seconds_per_frame": result["seconds_per_frame"],
    }
    log(
        f"segment: {frames} frames from 2 masks ({', '.join(methods)}): "
        f"J {summary['J']:.3f}  F {summary['F']:.3f}  J&F {summary['JF']:.3f} in {summary['seconds']} s -> {root / 'masks'} "
        f"(drawn over the frames: {root / 'masks.mp4'}; cut out: {root / 'cutout.mov'})"
    )
    return summary
