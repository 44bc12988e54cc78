"""Search several videos for a learned movement and rank them by score.

Each video is scored on its own (:func:`keyframe.motion.detect.detect`, a pure
function of the model and the video), so a search can be split over machines
and the parts' results concatenated and ranked again. A video that cannot be
read, or is shorter than one window, does not stop the search: it is listed
under ``failed`` with the reason, and the others are still scored.

A long search can be resumed: with a ``journal`` (:mod:`keyframe.motion.journal`),
every video's scores are kept as they are made, and a later search with the
same model and settings takes them from there for the videos that have not
changed since, down to the chunk where an interrupted video stopped.

Examples
--------
>>> found = search("wave.kfm", ["a.mp4", "b.mp4", "missing.mp4"])  # doctest: +SKIP
>>> [(d.path, round(d.score, 2), d.detected) for d in found.ranked]  # doctest: +SKIP
[('b.mp4', 0.31, True), ('a.mp4', -1.8, False)]
>>> found.failed  # doctest: +SKIP
[('missing.mp4', 'missing.mp4: no such file or folder')]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from keyframe.errors import KeyframeError
from keyframe.motion.detect import DetectConfig, Detection, check_detection_output, check_runnable, detect
from keyframe.motion.journal import Journal
from keyframe.motion.model import as_model
from keyframe.progress import report


@dataclass
class Search:
    """The result of :func:`search`: detections ranked by score (best first), and the videos that failed."""

    threshold: float
    ranked: list[Detection] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    calibrated_threshold: float | None = None  # the model's own, where ``threshold`` was given instead

    def to_dict(self) -> dict:
        # The model's own threshold is kept beside a given one here too, not only in each video's detection: a
        # search in which every video failed has none to carry it.
        calibrated = {} if self.calibrated_threshold is None else {"calibrated_threshold": round(float(self.calibrated_threshold), 6)}
        return {
            "threshold": round(float(self.threshold), 6),
            **calibrated,
            "videos": [detection.to_dict() for detection in self.ranked],
            "failed": [{"video": video, "error": error} for video, error in self.failed],
        }

    def write_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON, atomically; an existing file there must be such a JSON
        (:func:`~keyframe.motion.detect.check_detection_output`)."""
        from keyframe.io import write_json

        check_detection_output(path)
        write_json(path, self.to_dict(), indent=1)


def search(model, videos, config: DetectConfig = DetectConfig(), progress=None, journal=None) -> Search:
    """Score every one of ``videos`` for the movement ``model`` (a model or its path); rank them by score.

    Parameters
    ----------
    model : a :class:`MovementModel` or the path of its file (read once).
    videos : paths of videos or frame folders (or frame sources, or uint8 arrays).
    config : detection settings, the same for every video.
    progress : ``progress(done, total, note)`` callable, over videos.
    journal : optional path of a file that keeps the work as it is done (:mod:`keyframe.motion.journal`); a
        search interrupted and run again with the same journal, model and settings scores only what is left.
        The journal stays when the search is done (the CLI removes it once the results are written).

    Raises
    ------
    KeyframeError
        For a bad model file; a bad video only ends up in ``failed``.
    """
    given = model
    model = as_model(model)
    # A model that cannot run here stops the search, as a bad model file does: every video would fail alike.
    check_runnable(model, given if isinstance(given, (str, os.PathLike)) else "the model")
    videos = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    found = Search(config.threshold_for(model), calibrated_threshold=None if config.threshold is None else model.threshold)
    kept = Journal(journal, given, config) if journal is not None else None
    for number, video in enumerate(videos):
        name = str(video) if isinstance(video, (str, os.PathLike)) else str(getattr(video, "path", f"<video {number + 1}>"))
        report(progress, number, len(videos), name)
        try:
            detection = detect(model, video, config, journal=kept)
        except KeyframeError as error:
            found.failed.append((name, str(error)))
        else:
            detection.path = name  # arrays all read as "<frames>": number them so the ranking says which is which
            found.ranked.append(detection)
    report(progress, len(videos), len(videos), "done")
    found.ranked.sort(key=lambda detection: detection.score, reverse=True)
    return found
