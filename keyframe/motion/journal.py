"""A detection's finished work, kept as it goes, so that an interrupted run resumes where it stopped.

:func:`keyframe.motion.detect.detect` scores a video a chunk of windows at a
time, each a pure function of the model, the frames and the crop regions. A
journal keeps the regions and every finished chunk's window scores as JSON
lines; a later run with the same model and detection settings takes them from
there instead of reading the frames again, for every video that has not
changed since (same size and modification time). One journal may serve a whole
search over many videos.

Examples
--------
>>> journal = Journal("search.json.partial", "wave.kfm", DetectConfig())  # doctest: +SKIP
>>> detect("wave.kfm", "long.mp4", journal=journal)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from keyframe.errors import fail
from keyframe.io.atomic import keep_aside, torch_bytes
from keyframe.motion.features import Region
from keyframe.motion.model import MovementModel

log = logging.getLogger(__name__)


def model_fingerprint(model) -> str:
    """A digest of a model file's bytes (or of a model's saved form): which model a journal's scores are from."""
    digest = hashlib.sha1()
    if isinstance(model, MovementModel):
        digest.update(torch_bytes(model.to_dict()))
    else:
        with open(model, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class Journal:
    """Crop regions and chunk scores of the videos scored so far, one JSON line each.

    Parameters
    ----------
    path : the journal file (created if missing).
    model : the model or its file, as given to ``detect``: its :func:`model_fingerprint` heads the journal,
        with ``config``'s scoring settings; a journal of another model or of other settings is started afresh.
    config : the :class:`~keyframe.motion.detect.DetectConfig` of the run.

    A line cut short by an interruption is ignored. A file that does not start as a journal does is moved aside
    (:func:`~keyframe.io.atomic.keep_aside`), and the journal starts afresh.
    """

    def __init__(self, path, model, config):
        self.path = Path(path)
        self.header = {"model": model_fingerprint(model), "config": config.scoring_settings()}
        self.entries: dict[tuple, dict] = {}
        if self.path.is_dir():
            raise fail(self.path, "is a folder; the work of an interrupted run is kept in this file (remove the folder)")
        if self.path.is_file():
            self._read()
        if not self.entries:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.header) + "\n")

    def _read(self) -> None:
        text = self.path.read_bytes().decode("utf-8", errors="replace")  # a damaged file is started afresh
        lines = text.splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not (isinstance(header, dict) and set(header) == set(self.header)):
            # Not a journal of keyframe's, or damaged: the user's, possibly; never lost.
            damaged = keep_aside(self.path)
            log.warning("%s: not the work of an interrupted detection; kept as %s, starting afresh", self.path, damaged.name)
            return
        if header != self.header:
            log.warning("%s: kept from another model or other settings; starting afresh", self.path)
            return
        if not text.endswith("\n"):
            # End the cut line, so that the next entry starts on a line of its own.
            with open(self.path, "a") as handle:
                handle.write("\n")
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                self.entries[self._key(entry["video"], entry["stamp"], entry.get("first"))] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        log.info("%s: %d pieces of work kept", self.path, len(self.entries))

    @staticmethod
    def _key(video: str, stamp: list[int], first: int | None) -> tuple:
        return video, tuple(stamp), first

    def _add(self, entry: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[self._key(entry["video"], entry["stamp"], entry.get("first"))] = entry

    def regions(self, video: str, stamp: list[int]) -> tuple[list[Region | None], float] | None:
        """The kept crop regions of ``video`` (None for parts without one) and the seconds finding them took, if any."""
        entry = self.entries.get(self._key(video, stamp, None))
        return ([None if region is None else Region(*region) for region in entry["regions"]], entry["seconds"]) if entry else None

    def add_regions(self, video: str, stamp: list[int], regions: list[Region | None], seconds: float) -> None:
        self._add({"video": video, "stamp": stamp, "regions": [None if region is None else list(map(float, region)) for region in regions],
                   "seconds": seconds})

    def chunk(self, video: str, stamp: list[int], first: int, last: int) -> tuple[np.ndarray, float] | None:
        """The kept window scores ``first .. last - 1`` of ``video`` and the seconds they took, if any."""
        entry = self.entries.get(self._key(video, stamp, first))
        if entry is None or entry["last"] != last:
            return None
        return np.asarray(entry["scores"], np.float64), entry["seconds"]

    def add_chunk(self, video: str, stamp: list[int], first: int, last: int, scores: np.ndarray, seconds: float) -> None:
        self._add({"video": video, "stamp": stamp, "first": first, "last": last,
                   "scores": [float(v) for v in scores], "seconds": seconds})
