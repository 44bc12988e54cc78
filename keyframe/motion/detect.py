"""Find a learned movement in a video: window scores, frame scores, intervals and a verdict.

A window's score is a pure function of the model and the frames it covers
(with the seconds around them that gestures, and crops that follow the motion,
are found over), plus the crop region found once per video for models with one
crop per clip (the default), so :func:`score_range` can score any stretch of
windows independently, e.g. on several machines. A model
learned with negatives scores windows relative to its cohort of negative-clip
predictors (:mod:`keyframe.motion.cohort`); a model of several feature kinds
puts the window scores of its parts in units of their spread, with the weights
set at learning (:func:`keyframe.motion.learn.fusion_weights`), and takes
their minimum (or, for models learned with ``fusion="mean"``, their mean).

* frame score: the mean score of the windows that contain the frame;
* clip score: the best mean window score over any ``span_seconds`` stretch
  (the whole clip if shorter), so a movement that fills only part of a long
  video still counts;
* ``detected``: clip score >= the model's calibrated threshold (or the one given as
  ``DetectConfig(threshold=...)``);
* intervals: runs of frames scoring >= the threshold (gaps shorter than half a
  window closed, runs shorter than a window dropped), ``[first, last]`` frame
  indices, both included; ``interval_seconds`` gives them in seconds, from the
  frames' timestamps (so a variable-frame-rate video is timed right).

Examples
--------
>>> result = detect("wave.kfm", "clip.mp4")  # doctest: +SKIP
>>> result.detected, result.intervals  # doctest: +SKIP
(True, [[12, 140]])
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from numbers import Real

import numpy as np

from keyframe.errors import KeyframeError, check_count, check_number, fail
from keyframe.io.atomic import check_own_json, file_stamp
from keyframe.io.frames import SteppedFrames
from keyframe.io.video import check_fps, shown_until
from keyframe.motion.cohort import relative_scores
from keyframe.motion.features import DEFAULT_FPS, PERSON_SIZE, FeatureExtractor, Region, as_source, extract_views, windowed_source
from keyframe.motion.journal import Journal
from keyframe.motion.model import MovementModel, as_model
from keyframe.motion.predictor import predictor_scores
from keyframe.motion.windows import check_length, make_windows, window_count
from keyframe.progress import report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectConfig:
    """Settings of :func:`detect`.

    Attributes
    ----------
    chunk : windows scored at a time (memory stays flat for long videos).
    span_seconds : length of the stretch the clip score is taken over.
    default_fps : frame rate assumed when the video does not say.
    match_rate : score one frame in N of a video whose rate is about N times the rate the model learned
        from (:func:`rate_step`), so the movement moves as far per frame as it did then.
    threshold : the score at and above which the movement counts as found, in place of the model's calibrated
        one (None): lower finds more, higher finds less. It changes only the verdict and the intervals.
    """

    chunk: int = 512
    span_seconds: float = 2.0
    default_fps: float = DEFAULT_FPS
    match_rate: bool = True
    threshold: float | None = None

    def __post_init__(self):
        if self.threshold is not None and (isinstance(self.threshold, bool) or not isinstance(self.threshold, Real)
                                           or not math.isfinite(self.threshold)):
            raise KeyframeError(f"--threshold must be a finite number, got {self.threshold!r}")
        check_count("DetectConfig.chunk", self.chunk)
        check_number("DetectConfig.span_seconds", self.span_seconds)
        check_fps("DetectConfig.default_fps", self.default_fps)

    def span_windows(self, length: int, fps: float, step: int = 1) -> int:
        """Windows (of ``length`` frames, one in ``step`` frames of a video at ``fps``) the clip score is the best
        mean of: those in ``span_seconds``, at least one window's length.

        Examples
        --------
        >>> DetectConfig().span_windows(9, 30.0), DetectConfig().span_windows(9, 30.0, step=3)
        (60, 20)
        """
        return max(length, int(round(self.span_seconds * fps / step)))

    def threshold_for(self, model: MovementModel) -> float:
        """The threshold the verdict and intervals use with ``model``."""
        return model.threshold if self.threshold is None else float(self.threshold)

    def scoring_settings(self) -> dict:
        """The settings that the crop regions and window scores kept by a :class:`~keyframe.motion.journal.Journal`
        depend on: all but the threshold, which decides only the verdict (a rerun with another one resumes)."""
        return {name: value for name, value in asdict(self).items() if name != "threshold"}


@dataclass
class Detection:
    """The result of :func:`detect`; :meth:`to_dict` gives the JSON."""

    path: str
    score: float
    detected: bool
    threshold: float
    frame_scores: np.ndarray
    window_scores: np.ndarray
    intervals: list[list[int]]
    fps: float
    region: Region | None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    interval_seconds: list[list[float]] = field(default_factory=list)  # the intervals' [start, end] in seconds
    frame_seconds: np.ndarray | None = None  # when each frame is shown (for the plot; not in the JSON)
    resumed_windows: int = 0  # how many window scores a journal supplied (not in the JSON: the result is the same)

    @property
    def video(self) -> str:
        """What was scored (its path, or a name for frames given as an array): ``path``, by the JSON's name."""
        return self.path

    def to_dict(self) -> dict:
        return {
            "video": self.path,
            "score": round(float(self.score), 6),
            "detected": bool(self.detected),
            "threshold": round(float(self.threshold), 6),
            "frame_scores": [round(float(v), 5) for v in self.frame_scores],
            "intervals": [[int(a), int(b)] for a, b in self.intervals],
            "interval_seconds": [[round(float(a), 3), round(float(b), 3)] for a, b in self.interval_seconds],
            "fps": self.fps,
            "frames": int(len(self.frame_scores)),
            "region": None if self.region is None else {"x": round(self.region.x, 1), "y": round(self.region.y, 1),
                                                        "side": round(self.region.side, 1)},
            "seconds": round(self.seconds, 3),
            **self.extra,
        }

    def write_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON, atomically; an existing file there must be such a JSON
        (:func:`check_detection_output`)."""
        from keyframe.io import write_json

        check_detection_output(path)
        write_json(path, self.to_dict(), indent=1)


def check_detection_output(path: str | os.PathLike) -> None:
    """Refuse ``path`` for a detection's JSON when a file there is anything else: a model, a video or notes
    given as ``--json`` by mistake would be lost. An earlier detection or search JSON may be replaced."""
    check_own_json(path, [("score", "threshold"), ("threshold", "videos")], "a detection's JSON")


def _extractor(model: MovementModel) -> FeatureExtractor:
    extractor = getattr(model, "_extractor", None)
    if extractor is None or extractor.config != model.features:
        extractor = FeatureExtractor(model.features)
        model._extractor = extractor
    return extractor


def check_runnable(model: MovementModel, name="the model") -> None:
    """Refuse, before any frame is read, a model whose features cannot be made here (landmark kinds without
    MediaPipe), naming it (``name``: its path): every video would fail alike, which reads as bad videos."""
    for part in model.parts():
        try:
            _extractor(part)
        except KeyframeError as error:
            raise fail(name, f"its {part.features.kind} features cannot be made here: {error}") from None


def crop_regions(model, source) -> list[Region | None]:
    """Each part's one crop region in ``source`` (:meth:`MovementModel.parts`), what :func:`score_range` takes.

    The moving region is a pass over the whole video, found once for all parts that crop to it: find the
    regions once per video and give them to every :func:`score_range` of it. None for parts whose frames are
    each cut to the motion around them (``FeatureConfig.crop_seconds``), which need nothing found beforehand.
    ``model`` and ``source`` may be paths.
    """
    model = as_model(model)
    source = as_source(source)
    found: dict[tuple[bool, bool], Region | None] = {}
    regions = []
    for part in model.parts():
        extractor = _extractor(part)
        how = (extractor.crops_to_motion, extractor.crops_locally)
        if how not in found:
            found[how] = extractor.region_for(source)
        regions.append(found[how])
    return regions


def one_crop(model: MovementModel, regions: list[Region | None]) -> Region | None:
    """The one region frames were cut to, of the first part that crops every frame to one (a detection's
    ``region``); None when no part does (landmarks, or crops that follow the motion)."""
    return next((region for part, region in zip(model.parts(), regions) if _extractor(part).crops_to_motion), None)


def window_scores(model: MovementModel, features: np.ndarray) -> np.ndarray:
    """Scores of every window of consecutive ``features`` ``(N, D)`` (``N - L`` of them)."""
    return scores_of_windows(model, *make_windows(features, model.window.length))


def scores_of_windows(model: MovementModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Scores of windows ``x`` with next frames ``y``: the model's own, or relative to its cohort if it has one."""
    own = predictor_scores(model.predictor(), x, y, model.own.refs, model.image_shape, model.motion_weight)
    if not model.cohort:
        return own
    others = [predictor_scores(member.predictor(model.dim, model.net), x, y, member.refs, model.image_shape,
                               model.motion_weight) for member in model.cohort]
    return relative_scores(own, model.own.stats, others, [member.stats for member in model.cohort])


def fuse(model: MovementModel, scores: list[np.ndarray]) -> np.ndarray:
    """Window scores of every part of ``model`` (:meth:`MovementModel.parts`) as one.

    Each part's scores are put in units of its spread (``len(weights) * weight * scores``, the weights
    summing to 1), then combined by ``model.fusion``: their minimum, or their mean (which is the weighted mean).
    Under the minimum, views of the same signal first average their scores (``pose`` and ``gesture``
    are two views of the landmarks): the minimum is taken between signals.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from keyframe.motion.features import FeatureConfig
    >>> kinds = lambda *names: [SimpleNamespace(features=FeatureConfig(name)) for name in names]
    >>> model = SimpleNamespace(partners=["pose"], weights=[0.25, 0.75], fusion="min", parts=lambda: kinds("pixels", "pose"))
    >>> fuse(model, [np.array([4.0, -4.0]), np.array([1.0, 1.0])])
    array([ 1.5, -2. ])
    >>> model = SimpleNamespace(partners=["pose", "gesture"], weights=[0.5, 0.25, 0.25], fusion="min",
    ...                         parts=lambda: kinds("pixels", "pose", "gesture"))
    >>> fuse(model, [np.array([1.0, 1.0]), np.array([4.0, 0.0]), np.array([0.0, 0.0])])
    array([1.5, 0. ])
    """
    if not model.partners:
        return scores[0]
    standardised = [len(scores) * weight * part for weight, part in zip(model.weights, scores)]
    if model.fusion != "min":
        return np.mean(standardised, axis=0)
    by_signal: dict[str, list[np.ndarray]] = {}
    for part, part_scores in zip(model.parts(), standardised):
        by_signal.setdefault(part.features.signal, []).append(part_scores)
    return np.min([np.mean(views, axis=0) for views in by_signal.values()], axis=0)


def score_range(model, source, first: int, last: int, regions: list[Region | None] | None = None,
                default_fps: float = DEFAULT_FPS) -> np.ndarray:
    """Scores of windows ``first .. last - 1`` of ``source`` (reads frames ``first .. last + L - 1``), every part fused.

    A pure function of the model, the frames (with the seconds around them that gestures, and crops that
    follow the motion, are found over) and ``regions`` (:func:`crop_regions`, found once per video; None finds
    them here, a pass over the whole video), so the ranges of a long video can be scored apart, on several
    machines, and concatenated: :func:`detect` does exactly that, a chunk at a time
    (with landmark kinds only nearly so, see :func:`~keyframe.motion.features.landmark_views`), on
    ``SteppedFrames(video, rate_step(model, video.fps))`` for a video at several times the learned rate. ``model``
    and ``source`` may be paths; windows outside the video are refused. ``default_fps`` is the frame rate of
    frames that do not say (``DetectConfig.default_fps``), which sets those spans in frames.

    Examples
    --------
    >>> video = open_frames("clip.mp4")  # doctest: +SKIP
    >>> regions = crop_regions(model, video)  # doctest: +SKIP
    >>> scores = np.concatenate([score_range(model, video, a, a + 100, regions) for a in (0, 100)])  # doctest: +SKIP
    >>> scores.shape  # doctest: +SKIP
    (200,)
    """
    model = as_model(model)
    source, path = windowed_source(source, model.window.length)
    windows = window_count(len(source), model.window.length)
    if not 0 <= first < last <= windows:
        raise fail(path, f"has windows 0 .. {windows - 1}; cannot score windows {first} .. {last - 1}")
    parts = model.parts()
    if regions is None:
        regions = crop_regions(model, source)
    elif len(regions) != len(parts):
        raise ValueError(f"regions: {len(regions)} given for a model of {len(parts)} feature kinds; pass crop_regions(model, video)")
    regions = [region if region is None or isinstance(region, Region) else Region(*region) for region in regions]
    for part, region in zip(parts, regions):
        # A region found for a piece alone, or one crop given to crops that follow the motion, would score
        # the piece otherwise than the whole video.
        if _extractor(part).crops_to_motion and region is None:
            raise ValueError(f"regions: none given for the {part.features.kind} part, which crops every frame to one "
                             "region; pass crop_regions(model, video)")
        if _extractor(part).crops_locally and region is not None:
            raise ValueError(f"regions: one given for the {part.features.kind} part, whose crops follow the motion "
                             "(crop_seconds); pass crop_regions(model, video)")
    features = extract_views([_extractor(part) for part in parts], source, first, last + model.window.length, regions,
                             default_fps=default_fps)
    _warn_of_no_person(parts, features, path, first, last + model.window.length)
    return fuse(model, [window_scores(part, part_features) for part, part_features in zip(parts, features)])


def _warn_of_no_person(parts, features: list[np.ndarray], path: str, first: int, stop: int) -> None:
    """Say when MediaPipe found nobody in frames ``first .. stop - 1``: their landmark features are all zeros
    (:func:`~keyframe.motion.features.body_pose_features`), which no movement's model predicts, so those windows
    score low because nobody is there, not because the movement differs."""
    empty = [part.features.kind for part, view in zip(parts, features) if part.features.landmarks and not np.any(view)]
    if empty:
        log.warning("%s: MediaPipe found no person in frames %d-%d (%s %s a person at least %s); "
                    "they score as not the movement", path, first, stop - 1, " and ".join(empty),
                    "needs" if len(empty) == 1 else "need", PERSON_SIZE)


def frame_scores(scores: np.ndarray, frames: int, length: int) -> np.ndarray:
    """Per-frame score: the mean of the scores of the windows (each ``length + 1`` frames) containing it.

    Examples
    --------
    >>> frame_scores(np.array([1.0, 0.0]), frames=4, length=2).tolist()
    [1.0, 0.5, 0.5, 0.0]
    """
    total = np.zeros(frames + 1)
    count = np.zeros(frames + 1)
    starts = np.arange(len(scores))
    np.add.at(total, starts, scores)
    np.add.at(total, starts + length + 1, -scores)
    np.add.at(count, starts, 1)
    np.add.at(count, starts + length + 1, -1)
    total, count = np.cumsum(total)[:frames], np.cumsum(count)[:frames]
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def intervals(scores: np.ndarray, threshold: float, min_length: int, max_gap: int) -> list[list[int]]:
    """Runs of ``scores >= threshold`` as ``[first, last]`` pairs (gaps <= ``max_gap`` closed, runs < ``min_length`` dropped).

    Examples
    --------
    >>> intervals(np.array([0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1]), 0.5, min_length=3, max_gap=1)
    [[1, 6]]
    """
    check_count("intervals min_length", min_length)
    check_count("intervals max_gap", max_gap, minimum=0)
    above = np.nan_to_num(scores, nan=-np.inf) >= threshold
    runs, start = [], None
    for index, value in enumerate(above):
        if value and start is None:
            start = index
        elif not value and start is not None:
            runs.append([start, index - 1])
            start = None
    if start is not None:
        runs.append([start, len(above) - 1])
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] - 1 <= max_gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [run for run in merged if run[1] - run[0] + 1 >= min_length]


def clip_score(scores: np.ndarray, span: int) -> float:
    """The best mean of ``span`` consecutive window scores (the mean of all if there are fewer)."""
    if len(scores) <= span:
        return float(np.mean(scores))
    sums = np.convolve(scores, np.ones(span), mode="valid")
    return float(sums.max() / span)


def detect(model, video, config: DetectConfig = DetectConfig(), progress=None, journal=None) -> Detection:
    """Score ``video`` (a path, frame source or uint8 array) for the movement ``model`` (a model or its path).

    ``journal`` (a :class:`~keyframe.motion.journal.Journal` or the path of one) keeps the crop regions and
    every scored chunk as it goes, and supplies what an interrupted run with the same model, settings and
    video had already done; the result is the same as without it.

    Raises
    ------
    KeyframeError
        For a video without frames or shorter than one window, or a bad model file.
    """
    started = time.perf_counter()
    given = model
    model = as_model(model)
    check_runnable(model, given if isinstance(given, (str, os.PathLike)) else "the model")
    length = model.window.length
    source, path = windowed_source(video, length)
    # A rate the video does not state is not known well enough to step by.
    step = rate_step(model, source.fps) if config.match_rate and source.fps else 1
    scored = SteppedFrames(source, step) if step > 1 else source
    # Checked before the journal is opened: a video refused outright leaves no work behind.
    check_length(len(scored), length, f"{path} (one frame in {step})" if step > 1 else path)
    if journal is not None and not isinstance(journal, Journal):
        journal = Journal(journal, given, config)
    stamp = file_stamp(video) if journal is not None else None
    kept = _KeptWork(journal if stamp else None, path, stamp)
    report(progress, 0, None, "finding the moving region")
    regions = kept.regions(lambda: crop_regions(model, scored))
    total = window_count(len(scored), length)
    scores = []
    for first in range(0, total, config.chunk):
        last = min(total, first + config.chunk)
        scores.append(kept.chunk(first, last, lambda: score_range(model, scored, first, last, regions, config.default_fps)))
        report(progress, last, total, "scoring windows")
    fps = float(source.fps or config.default_fps)
    seconds = time.perf_counter() - started + kept.seconds
    found = verdict(model, np.concatenate(scores), len(source), fps, path, one_crop(model, regions), config, seconds, step,
                    source.seconds())
    if not source.fps and "note" in found.extra:  # the rate compared was only the default
        found.extra["note"] = unstated_rate_note(model, fps)
    found.resumed_windows = kept.windows
    return found


class _KeptWork:
    """What a journal holds of one video, else the work done now and recorded (without a journal, just done)."""

    def __init__(self, journal: Journal | None, video: str, stamp: list[int] | None):
        self.journal, self.video, self.stamp = journal, video, stamp
        self.seconds = 0.0  # what the kept work took when it was done
        self.windows = 0  # how many window scores were kept

    def regions(self, find) -> list[Region | None]:
        kept = self.journal.regions(self.video, self.stamp) if self.journal else None
        return self._reuse_or_do(kept, find, lambda regions, seconds: self.journal.add_regions(
            self.video, self.stamp, regions, seconds))

    def chunk(self, first: int, last: int, score) -> np.ndarray:
        kept = self.journal.chunk(self.video, self.stamp, first, last) if self.journal else None
        self.windows += 0 if kept is None else last - first
        return self._reuse_or_do(kept, score, lambda scores, seconds: self.journal.add_chunk(
            self.video, self.stamp, first, last, scores, seconds))

    def _reuse_or_do(self, kept, work, record):
        """``kept``'s result (counting the seconds it took then), else ``work()``, recorded when journalling."""
        if kept is not None:
            self.seconds += kept[1]
            return kept[0]
        started = time.perf_counter()
        result = work()
        if self.journal:
            record(result, time.perf_counter() - started)
        return result


def detect_features(model, features, fps: float | None = None, config: DetectConfig = DetectConfig(),
                    path: str = "<features>") -> Detection:
    """:func:`detect` on features already extracted with the model's feature settings.

    A clip's features depend only on its frames and the feature settings, so a
    clip can be extracted once (:meth:`FeatureExtractor.extract`, an
    :class:`~keyframe.motion.features.Extracted`) and scored against several
    models learned with the same settings, which saves the slow part when
    the features are ``pose`` or ``cnn``. A model of several feature kinds
    takes a list of extractions, one per part (:meth:`MovementModel.parts`).

    Examples
    --------
    >>> extracted = FeatureExtractor(model.features).extract(open_frames("clip.mp4"))  # doctest: +SKIP
    >>> [detect_features(m, extracted, fps=30).score for m in (bow, wave)]  # doctest: +SKIP
    [-0.4, -2.1]
    """
    started = time.perf_counter()
    if fps is not None:
        check_fps("fps", fps)
    model = as_model(model)
    parts = model.parts()
    extractions = list(features) if isinstance(features, list) else [features]
    if len(extractions) != len(parts):
        raise fail(path, f"{len(extractions)} feature extractions for a model of {len(parts)} feature kinds "
                         f"({'+'.join(part.features.kind for part in parts)})")
    for part, (array, _) in zip(parts, extractions):
        if array.ndim != 2 or array.shape[1] != part.dim:
            raise fail(path, f"features of shape {array.shape} do not fit a {part.features.kind} model of "
                             f"{part.dim} values per frame")
    frames = len(extractions[0][0])
    if any(len(array) != frames for array, _ in extractions):
        raise fail(path, "the feature extractions cover different numbers of frames")
    check_length(frames, model.window.length, path)
    scores = fuse(model, [window_scores(part, array) for part, (array, _) in zip(parts, extractions)])
    return verdict(model, scores, frames, float(fps or config.default_fps), path,
                   one_crop(model, [region for _, region in extractions]), config, time.perf_counter() - started)


def verdict(model: MovementModel, scores: np.ndarray, frames: int, fps: float, path: str, region: Region | None,
            config: DetectConfig, seconds: float, step: int = 1, times: np.ndarray | None = None) -> Detection:
    """The detection of a video of ``frames`` frames at ``fps`` from its window scores: frame scores, clip score,
    verdict and intervals (``seconds``: what scoring took), timed by ``times``, when each frame is shown
    (:meth:`~keyframe.io.FrameSource.seconds`; evenly spaced at ``fps`` without).

    With ``step``, the windows are those of one frame in ``step`` (:class:`~keyframe.io.frames.SteppedFrames`):
    the frames between two scored ones get scores drawn linearly between theirs, and the intervals are found
    on those, in the video's own frames.
    """
    length = model.window.length
    per_frame = frame_scores(scores, -(-frames // step), length)
    if step > 1:
        per_frame = np.interp(np.arange(frames) / step, np.arange(len(per_frame)), per_frame)
    score = clip_score(scores, config.span_windows(length, fps, step))
    threshold = config.threshold_for(model)
    found = intervals(per_frame, threshold, min_length=length * step, max_gap=length // 2 * step)
    log.info("%s: %d frames scored in %.2f s (%.0f frames/s)", path, frames, seconds, frames / max(seconds, 1e-9))
    note = rate_note(model, fps, step)
    extra = ({"note": note} if note else {}) | ({"step": step} if step > 1 else {})
    if config.threshold is not None:
        extra["calibrated_threshold"] = round(float(model.threshold), 6)
    if times is None or len(times) != frames:
        times = np.arange(frames) / fps
    return Detection(path, score, score >= threshold, threshold, per_frame, scores, found, fps, region, seconds,
                     extra=extra, interval_seconds=interval_seconds(found, times, fps), frame_seconds=times)


def interval_seconds(found: list[list[int]], times: np.ndarray, fps: float) -> list[list[float]]:
    """Each interval's ``[start, end]`` in seconds: from when its first frame is shown (``times``) to when the
    frame after its last is; after the video's last frame, one frame's spacing on (1 / ``fps`` for one frame).

    Examples
    --------
    >>> interval_seconds([[1, 2], [4, 4]], np.array([0.0, 0.1, 0.2, 0.5, 0.6]), fps=10.0)
    [[0.1, 0.5], [0.6, 0.7]]
    """
    ends = np.append(times, shown_until(times, fps))
    return [[round(float(ends[first]), 6), round(float(ends[last + 1]), 6)] for first, last in found]


def learned_rate(model: MovementModel) -> float | None:
    """The frame rate of the clips ``model`` learned from (their median), or None for models learned before
    rates were kept (``info["fps"]``) or with nothing usable there."""
    try:
        rates = np.asarray(model.info["fps"], np.float64).ravel()
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    learned = float(np.median(rates)) if rates.size else math.nan
    return learned if math.isfinite(learned) and learned > 0 else None


def within_tempos(ratio: float, speeds) -> bool:
    """Whether a video at ``ratio`` times the learned rate moves at a tempo the model was trained on
    (``speeds``, :attr:`NetConfig.speeds`, with 10 % to spare)."""
    return min(speeds) / 1.1 <= ratio <= max(speeds) * 1.1


def tempo_step(ratio: float, speeds) -> int:
    """How many frames to step by in a clip at ``ratio`` times a rate, to see its movement move about as far per
    frame as at that rate: the whole number nearest to ``ratio`` (on a log scale, so the tempo left over is
    the closest to 1); 1 when the tempo is one of ``speeds`` (with 10 % to spare) or slower.

    Examples
    --------
    >>> [tempo_step(ratio, (0.8, 1.0, 1.25)) for ratio in (0.3, 1.0, 1.2, 1.4, 1.5, 2.5, 3.0, 6.0)]
    [1, 1, 1, 1, 2, 3, 3, 6]
    """
    if ratio < 1 or within_tempos(ratio, speeds):
        return 1
    return min((math.floor(ratio), math.ceil(ratio)), key=lambda step: abs(math.log(ratio / step)))


def rate_step(model: MovementModel, fps: float) -> int:
    """How many frames of a video at ``fps`` to step by so that the movement moves about as far per frame as in
    the clips ``model`` learned from (:func:`tempo_step`); 1 when the learned rate is unknown.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(info={"fps": [10.0]}, net=SimpleNamespace(speeds=(0.8, 1.0, 1.25)))
    >>> [rate_step(model, fps) for fps in (10.0, 14.0, 30.0, 60.0)]
    [1, 1, 3, 6]
    """
    learned = learned_rate(model)
    return 1 if learned is None else tempo_step(fps / learned, model.net.speeds)


def rate_note(model: MovementModel, fps: float, step: int = 1) -> str | None:
    """What to tell a user who scores a video at ``fps`` (one frame in ``step`` of it, :func:`rate_step`) with a
    model learned from clips at another frame rate, or None when the rates are close enough for the tempos the
    model was trained on (``NetConfig.speeds``).

    A predictor of the next frame learns how far the movement goes in one frame: at three times the rate, the
    same movement goes a third as far and looks like another one. Models learned before the rate was recorded
    (``info["fps"]``) get no note.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(info={"fps": [30.0]}, net=SimpleNamespace(speeds=(0.8, 1.0, 1.25)))
    >>> rate_note(model, 25.0) is None
    True
    >>> rate_note(model, 10.0)
    'learned from clips at 30 frames/s, this video has 10: the movement takes a third as many frames here; learn from clips at this rate'
    >>> rate_note(model, 60.0)
    'learned from clips at 30 frames/s, this video has 60: the movement takes 2 times as many frames here; score one frame in 2, as detect does without --keep-rate (DetectConfig(match_rate=True))'
    >>> rate_note(model, 60.0, step=2)
    'learned from clips at 30 frames/s, this video has 60: one frame in 2 was scored'
    """
    learned = learned_rate(model)
    if learned is None:
        return None
    if step > 1:
        return f"learned from clips at {learned:g} frames/s, this video has {fps:g}: one frame in {step} was scored"
    ratio = fps / learned
    if within_tempos(ratio, model.net.speeds):
        return None
    if ratio > 1:
        step = round(ratio)
        fix = (f"score one frame in {step}, as detect does without --keep-rate (DetectConfig(match_rate=True))"
               if step >= 2 and abs(ratio - step) < 0.15 * step else "learn from clips at this rate")
        how = f"{ratio:.2g} times as many frames"
    else:
        how = f"{_fraction(ratio)} as many frames"
        fix = "learn from clips at this rate"
    return f"learned from clips at {learned:g} frames/s, this video has {fps:g}: the movement takes {how} here; {fix}"


def unstated_rate_note(model: MovementModel, fps: float) -> str:
    """What to tell a user who scores a video that states no frame rate (taken as ``fps``) with a model learned
    from clips at another one: its frames were scored as they come, which is right only at the learned rate.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> unstated_rate_note(SimpleNamespace(info={"fps": [10.0]}), 25.0)
    'states no frame rate, so it was scored frame by frame as if at the 10 frames/s the model learned from, and its times are given at 25 frames/s (DetectConfig.default_fps); if it is at another rate, give it one (a video.json with its fps, as frames extract writes)'
    """
    return (f"states no frame rate, so it was scored frame by frame as if at the {learned_rate(model):g} frames/s the "
            f"model learned from, and its times are given at {fps:g} frames/s (DetectConfig.default_fps); if it is "
            "at another rate, give it one (a video.json with its fps, as frames extract writes)")


def _fraction(ratio: float) -> str:
    """``ratio`` (below 1) in words: "half", "a third", ... or "0.3 times"."""
    names = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth"}
    whole = round(1 / ratio)
    return names[whole] if whole in names and abs(1 / ratio - whole) < 0.1 * whole else f"{ratio:.2g} times"
