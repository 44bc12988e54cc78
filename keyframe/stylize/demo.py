"""The stylization part of ``keyframe demo``: two looks, one per segment, on the built-in sample."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from keyframe.io import open_frames, write_image
from keyframe.metrics import ssim
from keyframe.sample import make_sample, write_sample
from keyframe.stylize import functional as SF
from keyframe.stylize.filters import cartoon, stylization

DEMO_ITERATIONS = 200
FIGURE, BACKGROUND = 255, 0


def demo(out_dir: str | Path, log=print, iterations: int = DEMO_ITERATIONS, frames: int = 40, progress=None) -> dict:
    """Stylize the sample's figure as a cartoon and its background as a watercolour, then encode an mp4.

    The keyframes are the sample's middle frame passed through two filters; the
    sample's exact masks (0/255) are the segmentation, so the figure is segment
    255 and the background segment 0. Because the filters can be run on every
    frame, the summary also scores the result against that truth.

    Parameters
    ----------
    out_dir
        Gets ``sample/`` (frames, masks), ``keys/<segment>/<stem>.png``,
        ``stylized/`` (frames and models) and ``stylized.mp4``.
    log
        Called with one line of text per step (``print`` by default).
    iterations
        Training iterations per segment (kept small so the demo takes well under a minute).
    frames
        Length of the sample clip.
    progress
        ``progress(done, total, note)``.

    Returns
    -------
    dict
        Frames, keyframe stem, seconds, and mean SSIM against the filtered truth
        of the stylized result and of the unstyled frames.

    Examples
    --------
    >>> summary = demo("out/demo/stylize")  # doctest: +SKIP
    >>> summary["ssim_stylized"] > summary["ssim_unstyled"]  # doctest: +SKIP
    True
    """
    from keyframe.stylize.pipeline import stylize

    out_dir = Path(out_dir)
    started = time.perf_counter()
    clip = make_sample("wave", frames=frames, size=(320, 240), seed=0)
    write_sample(out_dir / "sample", clip)
    middle = len(clip.frames) // 2
    stem = clip.stems[middle]
    write_image(out_dir / "keys" / str(FIGURE) / f"{stem}.png", cartoon(clip.frames[middle]))
    write_image(out_dir / "keys" / str(BACKGROUND) / f"{stem}.png", stylization(clip.frames[middle]))
    log(f"stylize: a cartoon look for the figure and a watercolour look for the background, painted on frame {stem}")
    result = stylize(
        out_dir / "sample" / "frames",
        out_dir / "keys",
        out_dir / "stylized",
        masks=out_dir / "sample" / "masks",
        iterations=iterations,
        video=out_dir / "stylized.mp4",
        progress=progress,
    )
    styled = open_frames(out_dir / "stylized")
    scores, unstyled = [], []
    for index in range(0, len(clip.frames), 4):
        if index == middle:
            continue
        frame = clip.frames[index]
        truth = SF.composite_frame(frame, clip.masks[index], {FIGURE: cartoon(frame), BACKGROUND: stylization(frame)}, radius=4.0)
        scores.append(ssim(styled.read(styled.index_of(clip.stems[index])), truth))
        unstyled.append(ssim(frame, truth))
    summary = {
        "frames": len(clip.frames),
        "keyframe": stem,
        "segments": {str(FIGURE): "cartoon", str(BACKGROUND): "stylization"},
        "iterations": iterations,
        "train_seconds": round(result.train_seconds, 1),
        # Where the models had trained fully in an earlier run (a finished demo run again), none trains now.
        "models_kept": not result.trained,
        # None where every frame was kept from an earlier run: no rate, and NaN is not JSON.
        "render_fps": round(result.frames_per_second, 1) if result.rendered else None,
        "ssim_stylized": round(float(np.mean(scores)), 3),
        "ssim_unstyled": round(float(np.mean(unstyled)), 3),
        "video": str(result.video),
        "seconds": round(time.perf_counter() - started, 1),
    }
    training = "the earlier run's models, kept" if summary["models_kept"] else f"training {summary['train_seconds']} s"
    log(
        f"stylize: {summary['frames']} frames in {summary['seconds']} s ({training}), "
        f"SSIM to the filtered truth {summary['ssim_stylized']} (unstyled {summary['ssim_unstyled']}) -> {summary['video']}"
    )
    return summary
