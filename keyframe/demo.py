"""``keyframe demo``: the whole toolkit on the built-in sample, results in one folder."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from keyframe.errors import fail
from keyframe.io import ExtractOptions, encode_frames, extract_frames, open_frames, write_json
from keyframe.io.atomic import OUTPUTS
from keyframe.io.video import written_by_keyframe
from keyframe.metrics import psnr
from keyframe.sample import make_sample, write_sample


# What the demo writes in its folder: a folder that holds its summary.json is the demo's, and these are rebuilt.
DEMO_PARTS = ("sample", "extracted", "reencoded.mp4", "segment", "stylize", "movement")
# The videos the demo writes beside its parts' folders; those of a version that did not tag its videos as keyframe's
# would be refused as the user's (check_replaceable).
DEMO_VIDEOS = ("reencoded.mp4", "segment/masks.mp4", "segment/cutout.mov", "stylize/stylized.mp4")
MARK = ".keyframe-demo.json"  # written first: the folder is the demo's even when it was stopped before its summary


def pipeline_demos() -> list[tuple[str, Callable[..., dict]]]:
    """Each pipeline's demo, in the order the toolkit is used: ``(name, demo(out_dir, log) -> summary)``."""
    from keyframe.motion.demo import demo as movement_demo
    from keyframe.segment.demo import demo as segment_demo
    from keyframe.stylize.demo import demo as stylize_demo

    return [("segment", segment_demo), ("stylize", stylize_demo), ("movement", movement_demo)]


def run_demo(out_dir: str | Path, log=print) -> dict:
    """Generate the sample, round-trip it through extract and encode, and run each pipeline on it.

    Returns the summary that is also written to ``out_dir/summary.json``. A demo that was stopped is resumed: the
    pipelines it had finished are kept (a finished demo run again is made afresh).
    """
    out_dir = Path(out_dir)
    _check_demo_folder(out_dir)
    _clear_earlier_demo(out_dir)
    finished = _finished_parts(out_dir)
    # The summary goes until the demo is whole again; the mark, written before any work, makes a demo stopped
    # halfway known for the demo's when it is run again, and lists the pipelines it finished.
    (out_dir / "summary.json").unlink(missing_ok=True)
    write_json(out_dir / MARK, {"kind": "demo", "finished": finished})
    summary: dict = {}
    started = time.perf_counter()

    clip = make_sample("wave", frames=60, size=(320, 240), seed=0)
    write_sample(out_dir / "sample", clip)
    extract_frames(out_dir / "sample" / "video.mp4", out_dir / "extracted", ExtractOptions())
    encode_frames(out_dir / "extracted", out_dir / "reencoded.mp4")
    extracted, reencoded = open_frames(out_dir / "extracted"), open_frames(out_dir / "reencoded.mp4")
    round_trip = min(psnr(extracted.read(i), reencoded.read(i)) for i in (0, len(extracted) // 2))
    summary["sample"] = {
        "frames": len(clip.frames),
        "size": f"{clip.frames.shape[2]}x{clip.frames.shape[1]}",
        "round_trip_psnr_db": round(round_trip, 2),
    }
    log(f"sample: {len(clip.frames)} frames, extract -> encode round trip PSNR {summary['sample']['round_trip_psnr_db']} dB")

    for name, run in pipeline_demos():
        if name in finished:
            log(f"{name}: kept from the demo that was stopped")
            summary[name] = finished[name]
            continue
        summary[name] = finished[name] = run(out_dir / name, log=log)
        write_json(out_dir / MARK, {"kind": "demo", "finished": finished})

    summary["seconds"] = round(time.perf_counter() - started, 1)
    write_json(out_dir / "summary.json", summary)
    return summary


def _finished_parts(out_dir: Path) -> dict:
    """The summaries of the pipelines a stopped demo in ``out_dir`` finished, whose folders are still there; none
    when the demo there was finished (it is made afresh) or is not this version's."""
    if (out_dir / "summary.json").is_file():
        return {}
    try:
        finished = json.loads((out_dir / MARK).read_text()).get("finished", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(finished, dict):
        return {}
    return {name: part for name, part in finished.items() if (out_dir / name).is_dir()}


def _is_demo(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a demo, finished or stopped: it has the demo's mark, or its ``summary.json`` is
    the demo's (a demo of a version before the mark)."""
    if (out_dir / MARK).is_file():
        return True
    try:
        summary = json.loads((out_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and {"sample", "seconds", *dict(pipeline_demos())} <= set(summary)


def _check_demo_folder(out_dir: Path) -> None:
    """Refuse, before any work, a folder the demo would mix its outputs into (or whose files, such as a
    ``summary.json`` of the user's, it would replace): it must be new, empty or an earlier demo's."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise fail(out_dir, "exists and is not a folder")
    if not _is_demo(out_dir) and any(not path.name.startswith(".") for path in out_dir.iterdir()):
        raise fail(out_dir, "holds files the demo did not write; give a new or empty folder, or an earlier demo's")


def _clear_earlier_demo(out_dir: Path) -> None:
    """Remove the parts of a demo made in ``out_dir`` by an earlier version (its ``summary.json`` is the demo's,
    and its outputs are not listed): they would block this one. A demo of this version is left to be replaced
    part by part, keeping files added to it."""
    if not _is_demo(out_dir):
        return
    if (out_dir / "sample" / OUTPUTS).is_file():
        # Made by this version: each part replaces its earlier outputs and keeps what else is there.
        for video in (out_dir / name for name in DEMO_VIDEOS):
            if video.is_file() and not video.is_symlink() and not written_by_keyframe(video):
                video.unlink()
        return
    for name in DEMO_PARTS:
        for path in (out_dir / name, out_dir / f"{name}.partial"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
