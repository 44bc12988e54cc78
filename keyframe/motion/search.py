"""Search several videos for a learned movement and rank them by score.

Each video is scored on its own (:func:`keyframe.motion.detect.detect`, a pure
function of the model and the video), so a search can be split over machines
and the parts' results concatenated and ranked again. A video that cannot be
read, or is shorter than one window, does not stop the search: it is listed
under ``failed`` with the reason, and the others are still scored.

A long search can be resumed: with a ``journal`` file, every scored video's
window scores are appended to it as one JSON line, and a later search with the
same model and settings reuses those of videos that have not changed since
(same size and modification time) instead of scoring them again.

Examples
--------
>>> found = search("wave.kfm", ["a.mp4", "b.mp4", "missing.mp4"])  # doctest: +SKIP
>>> [(d.path, round(d.score, 2), d.detected) for d in found.ranked]  # doctest: +SKIP
[('b.mp4', 0.31, True), ('a.mp4', -1.8, False)]
>>> found.failed  # doctest: +SKIP
[('missing.mp4', 'missing.mp4: no such file or folder')]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from keyframe.errors import KeyframeError
from keyframe.motion.detect import DetectConfig, Detection, detect, verdict
from keyframe.motion.features import Region
from keyframe.motion.model import MovementModel, load_model
from keyframe.progress import report

log = logging.getLogger(__name__)


@dataclass
class Search:
    """The result of :func:`search`: detections ranked by score (best first), and the videos that failed."""

    threshold: float
    ranked: list[Detection] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "threshold": round(float(self.threshold), 6),
            "videos": [detection.to_dict() for detection in self.ranked],
            "failed": [{"video": video, "error": error} for video, error in self.failed],
        }

    def write_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON, atomically."""
        from keyframe.io import write_json

        write_json(path, self.to_dict(), indent=1)


def search(model, videos, config: DetectConfig = DetectConfig(), progress=None, journal=None) -> Search:
    """Score every one of ``videos`` for the movement ``model`` (a model or its path); rank them by score.

    Parameters
    ----------
    model : a :class:`MovementModel` or the path of its file (read once).
    videos : paths of videos or frame folders (or frame sources, or uint8 arrays).
    config : detection settings, the same for every video.
    progress : ``progress(done, total, note)`` callable, over videos.
    journal : optional path of a JSON-lines file that keeps each scored video (see :class:`Journal`); a search
        interrupted and run again with the same journal, model and settings scores only what is left.

    Raises
    ------
    KeyframeError
        For a bad model file; a bad video only ends up in ``failed``.
    """
    given = model
    model = model if isinstance(model, MovementModel) else load_model(model)
    videos = list(videos)
    found = Search(model.threshold)
    kept = Journal(journal, model_fingerprint(given), config) if journal is not None else None
    for number, video in enumerate(videos):
        name = str(video) if isinstance(video, (str, os.PathLike)) else str(getattr(video, "path", f"<video {number + 1}>"))
        report(progress, number, len(videos), name)
        stamp = video_stamp(video)
        detection = kept.detection(model, name, stamp, config) if kept is not None and stamp else None
        if detection is None:
            try:
                detection = detect(model, video, config)
            except KeyframeError as error:
                found.failed.append((name, str(error)))
                continue
            if kept is not None and stamp:
                kept.add(name, stamp, detection)
        detection.path = name  # arrays all read as "<frames>": number them so the ranking says which is which
        found.ranked.append(detection)
    report(progress, len(videos), len(videos), "done")
    found.ranked.sort(key=lambda detection: detection.score, reverse=True)
    return found


def model_fingerprint(model) -> str:
    """A digest of a model file's bytes (or of a model's saved form): which model a journal's scores are from."""
    digest = hashlib.sha1()
    if isinstance(model, MovementModel):
        buffer = io.BytesIO()
        torch.save(model.to_dict(), buffer)
        digest.update(buffer.getvalue())
    else:
        with open(model, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def video_stamp(video) -> list[int] | None:
    """Size and modification time of a video file or frame folder (a rerun reuses a score only if they match);
    None for frames that are not on disk."""
    if not isinstance(video, (str, os.PathLike)):
        return None
    path = Path(video)
    try:
        if path.is_dir():
            files = [entry.stat() for entry in os.scandir(path) if entry.is_file()]
            return [len(files), sum(f.st_size for f in files), max((f.st_mtime_ns for f in files), default=0)]
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


class Journal:
    """Window scores of the videos a search has scored, one JSON line each, so that the search can resume.

    The first line names the model (:func:`model_fingerprint`) and the detection settings; a journal of
    another model or other settings is started afresh. A line cut short by an interruption is ignored.
    """

    def __init__(self, path, fingerprint: str, config: DetectConfig):
        self.path = Path(path)
        self.header = {"model": fingerprint, "config": asdict(config)}
        self.entries: dict[str, dict] = {}
        if self.path.is_file():
            self._read()
        if not self.entries:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.header) + "\n")

    def _read(self) -> None:
        text = self.path.read_text()
        if text and not text.endswith("\n"):
            # A line cut short by an interruption: end it, so the next entry starts on a line of its own.
            with open(self.path, "a") as handle:
                handle.write("\n")
        lines = text.splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if header != self.header:
            log.warning("%s: from another model or other settings, starting afresh", self.path)
            return
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.entries[entry["video"]] = entry
        log.info("%s: %d videos already scored", self.path, len(self.entries))

    def detection(self, model: MovementModel, name: str, stamp: list[int], config: DetectConfig) -> Detection | None:
        """The kept detection of ``name``, if it was scored in its present state."""
        entry = self.entries.get(name)
        if entry is None or entry["stamp"] != stamp:
            return None
        region = Region(**entry["region"])
        return verdict(model, np.asarray(entry["window_scores"]), entry["frames"], entry["fps"], name, region, config,
                       entry["seconds"])

    def add(self, name: str, stamp: list[int], detection: Detection) -> None:
        entry = {"video": name, "stamp": stamp, "window_scores": detection.window_scores.tolist(),
                 "frames": int(len(detection.frame_scores)), "fps": detection.fps, "seconds": detection.seconds,
                 "region": {"x": detection.region.x, "y": detection.region.y, "side": detection.region.side}}
        with open(self.path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[name] = entry
