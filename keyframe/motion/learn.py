"""Learn one movement from one or a few clips: features, windows, predictor, threshold.

A fifth of each clip's windows, in a few blocks spread over it, is held out (half a
window of frames around each block is not trained on); training stops early on those
windows' loss, and their scores calibrate the decision threshold, together
with the held-out windows of negative clips (other movements) when some are
given. Each negative clip also gets a predictor of its own, the cohort that
the movement's scores are then measured against (:mod:`keyframe.motion.cohort`).
``trials > 1`` searches the hyper-parameters with Optuna (TPE, seeded; the
defaults are the first trial).

Examples
--------
>>> from keyframe.sample import make_sample
>>> clip = make_sample("wave", frames=60, size=(96, 96), seed=0).frames
>>> model = learn([clip], LearnConfig(net=NetConfig(epochs=5)))
>>> model.features.kind, model.window.length
('pixels', 9)
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keyframe.errors import MAX_SEED, KeyframeError, check_seed, fail
from keyframe.io import FolderSource, FrameSource, SteppedFrames, partial_dir
from keyframe.io.atomic import check_file_apart, keep_aside, locks_output, same_file_key
from keyframe.motion.cohort import MIN_SPREAD, ScoredPredictor, impostor_stats
from keyframe.motion.detect import DetectConfig, clip_score, fuse, scores_of_windows, tempo_step, within_tempos
from keyframe.motion.features import (CROPPED_KINDS, DEFAULT_CROP_SECONDS, DEFAULT_FPS, FeatureConfig, FeatureExtractor,
                                      PERSON_SIZE, Stretch, as_source, extract_views, source_name, windowed_source)
from keyframe.motion.model import FUSIONS, MovementModel, is_model_file
from keyframe.motion.predictor import (MOTION_WEIGHT, NetConfig, TrainResult, predictor_scores, state_copy, time_warp,
                                       search_space, train_predictor, window_errors, with_params)
from keyframe.motion.windows import WindowConfig, make_windows, window_count
from keyframe.progress import report

log = logging.getLogger(__name__)

# How far below the held-out windows' lower quartile the threshold sits without negatives (a factor e in error).
OUTSIDE_MARGIN = 1.0
# Below this range of grey levels over a clip (each pixel feature's 5th to 95th percentile, averaged) a clip is taken
# for a still one: camera noise of 3 and 6 levels comes to 0.45 and 1.0 after downscaling, the slowest benchmark take
# (a feminine raising of both hands, which changes by under 0.5 levels from one frame to the next) to 4.1.
STILL_RANGE = 2.0


@dataclass(frozen=True)
class LearnConfig:
    """Settings of :func:`learn`.

    Attributes
    ----------
    features : feature settings (``FeatureConfig("cnn")`` for the backbone's embeddings).
    partners : more feature kinds, each learned as a model of its own; the window scores of all kinds,
        each in units of its spread (:func:`fusion_weights`), are combined by ``fusion``
        (``(FeatureConfig("pose"), FeatureConfig("gesture"))`` with pixels: they fail on different movements).
    fusion : how the kinds' window scores combine: ``"min"`` (a window is as good as its worst kind says,
        so a clip must look like the movement to every kind; ``pose`` and ``gesture``, two views of the same
        landmarks, are averaged first) or ``"mean"``.
    window : window length and stride.
    net : predictor and training hyper-parameters (the search's starting point).
    trials : Optuna trials; 1 trains the defaults only.
    holdout : fraction of each clip's windows held out for early stopping and calibration.
    search_epochs : epochs per trial during the search (the final model trains ``net.epochs``).
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    partners: tuple[FeatureConfig, ...] = ()
    fusion: str = "min"
    window: WindowConfig = field(default_factory=WindowConfig)
    net: NetConfig = field(default_factory=NetConfig)
    trials: int = 1
    holdout: float = 0.2
    search_epochs: int = 60

    def __post_init__(self):
        if self.trials < 1:
            raise KeyframeError(f"--trials must be at least 1, got {self.trials}")
        kinds = [self.features.kind, *(partner.kind for partner in self.partners)]
        if len(set(kinds)) < len(kinds):
            raise KeyframeError(f"--features lists a kind twice: {'+'.join(kinds)}")
        if self.fusion not in FUSIONS:
            raise KeyframeError(f"--fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if not 0.05 <= self.holdout <= 0.5:
            raise KeyframeError(f"holdout must be between 0.05 and 0.5, got {self.holdout}")


def feature_kinds(spec: str, pose_frame: str = "body", crop_seconds: float | None = DEFAULT_CROP_SECONDS
                  ) -> tuple[FeatureConfig, tuple[FeatureConfig, ...]]:
    """Feature kinds joined by ``+`` (``--features``) as the leading kind's settings and its partners'.

    ``pose_frame`` is :attr:`FeatureConfig.pose_frame` (``--pose-frame``), ``crop_seconds``
    :attr:`FeatureConfig.crop_seconds` (``--crop-seconds``; None: one crop per clip).

    Examples
    --------
    >>> lead, partners = feature_kinds("pixels+pose")
    >>> lead.kind, [partner.kind for partner in partners]
    ('pixels', ['pose'])
    """
    lead, *partners = (FeatureConfig(kind, pose_frame=pose_frame, crop_seconds=crop_seconds if kind in CROPPED_KINDS else None)
                       for kind in spec.split("+"))
    return lead, tuple(partners)


Windows = tuple[np.ndarray, np.ndarray]  # inputs and next frames, (M, L, D) each


def _stack(parts: list[Windows]) -> Windows:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@dataclass
class _Clip:
    """One clip's windows: training (at every speed), held out, and all of them."""

    path: str
    train: Windows
    val: Windows
    every: Windows
    normalise_on: np.ndarray
    frames: int


@dataclass
class _Data:
    """Windows prepared for training and calibration: the movement's clips and the negative ones."""

    positives: list[_Clip]
    negatives: list[_Clip]

    def __post_init__(self):
        self.train = _stack([c.train for c in self.positives])
        self.val = _stack([c.val for c in self.positives])
        self.every = _stack([c.every for c in self.positives])
        self.normalise_on = np.concatenate([c.normalise_on for c in self.positives])
        self.frames = sum(c.frames for c in self.positives)
        self.negative_windows = _stack([c.every for c in self.negatives]) if self.negatives else None


def _split_plan(frames: int, length: int, holdout: float) -> tuple[np.ndarray, list[tuple[int, int]]] | None:
    """Which windows of a clip of ``frames`` frames are held out, and the ``[first, stop)`` frame runs left to
    train on (each long enough for a window); None when the clip is too short for both."""
    total = window_count(frames, length)
    n_val = max(1, int(round(total * holdout)))
    blocks = max(1, min(3, n_val // length))
    gap = length // 2
    if total - n_val - 2 * gap * blocks < 2:
        return None
    size = n_val // blocks
    # Block b is centred at (b + 0.5) / blocks of the clip.
    starts = [min(total - size, max(0, int(round((b + 0.5) * total / blocks - size / 2)))) for b in range(blocks)]
    held = np.zeros(total, bool)
    excluded = np.zeros(frames, bool)
    for start in starts:
        held[start : start + size] = True
        excluded[max(0, start + gap) : start + size + length - gap] = True
    # Training segments: the runs of frames outside the excluded stretches.
    edges = np.flatnonzero(np.diff(np.concatenate([[True], excluded, [True]]).astype(np.int8)))
    runs = [(int(first), int(stop)) for first, stop in zip(edges[::2], edges[1::2]) if window_count(stop - first, length) > 0]
    return (np.flatnonzero(held), runs) if runs else None


def fewest_frames(length: int, holdout: float = 0.2) -> int:
    """The shortest clip :func:`learn` can train on and hold some of out, with windows of ``length``.

    Examples
    --------
    >>> fewest_frames(9)
    23
    """
    return next(frames for frames in range(length + 2, 100 * length) if _split_plan(frames, length, holdout) is not None)


def _too_short(path, frames: int, length: int, holdout: float) -> Exception:
    return fail(path, f"has {frames} frame{'s' if frames != 1 else ''}: too few to train on and hold some out with "
                      f"windows of {length}; give at least {fewest_frames(length, holdout)} frames")


def _split(features: np.ndarray, length: int, holdout: float, speeds, path) -> tuple[list, list, list, np.ndarray]:
    """Training windows (at every speed), held-out windows and plain training windows of one clip.

    The held-out windows are a few blocks spread over the clip rather than its
    end: a movement done once (a bow) ends differently from how it goes on, so
    a held-out tail would be a phase the model never saw. Half a window of
    frames around every block is left out of training, so the training windows
    share at most half their frames with a held-out one.
    """
    plan = _split_plan(len(features), length, holdout)
    if plan is None:
        raise _too_short(path, len(features), length, holdout)
    val_index, runs = plan
    inputs, targets = make_windows(features, length)
    val = inputs[val_index], targets[val_index]
    segments = [features[first:stop] for first, stop in runs]
    plain = tuple(np.concatenate(parts) for parts in zip(*(make_windows(seg, length) for seg in segments)))
    warped = [make_windows(w, length) for seg in segments for w in (time_warp(seg, s) for s in speeds)
              if window_count(len(w), length) > 0]
    return warped, val, [plain], np.concatenate(segments)


class _Opened(NamedTuple):
    """A clip opened for learning: its frames, the name messages give it and the stretch to learn from."""

    source: FrameSource
    path: str
    start: int
    stop: int


def _open_clips(clips, name: str, length: int, holdout: float) -> list[_Opened]:
    """Each clip (or :class:`Stretch` of one) opened, named as messages call it (``clip 2`` for an array); a whole
    clip too short to learn from is refused naming the :func:`fewest_frames` learning needs."""
    opened = []
    for number, clip in enumerate(clips, 1):
        stretch = clip if isinstance(clip, Stretch) else Stretch(clip)
        source = as_source(stretch.clip)
        # Saying only what one window needs (length + 1) would send the user back with a clip still too short.
        if stretch.whole and 0 < len(source) < fewest_frames(length, holdout):
            raise _too_short(source_name(source, f"{name} {number}"), len(source), length, holdout)
        source, path = windowed_source(source, length, f"{name} {number}")
        start, stop = stretch.bounds(len(source), path)
        opened.append(_Opened(source, path if stretch.whole else f"{path} frames {start}-{stop - 1}", start, stop))
    return opened


def _file_key(clip):
    """What tells clips apart: a path's file (under any spelling or link), else the object itself."""
    return same_file_key(clip) if isinstance(clip, (str, os.PathLike)) else id(clip)


def _distinct(clips: list, what: str) -> list:
    """``clips`` with each clip (or stretch of one) given more than once kept once, with a warning: given twice,
    a clip would count twice in training and in the threshold."""
    kept = {}
    for clip in clips:
        stretch = clip if isinstance(clip, Stretch) else Stretch(clip)
        kept.setdefault((_file_key(stretch.clip), stretch.start, stretch.stop), clip)
    if len(kept) < len(clips):
        log.warning("each %s given more than once is learned once", what)
    return list(kept.values())


def _check_negatives_apart(clips, clip_sources: list[_Opened], negatives, negative_sources: list[_Opened]) -> None:
    """Refuse a negative that shows frames of a clip of the movement: the movement would then be its own
    counter-example, and a model of it calls everything the movement (score and threshold both 0)."""
    def given(clip):
        return _file_key(clip.clip if isinstance(clip, Stretch) else clip)

    def footage(opened: _Opened) -> dict:
        """The video a clip or stretch shows (its file, or the video its frame folder records as its origin) and the
        seconds of it that it covers, by that video's key."""
        source = opened.source
        base = float(getattr(source, "start_seconds", 0.0) or 0.0)
        start = base + opened.start / source.fps if source.fps else base
        end = base + opened.stop / source.fps if source.fps else math.inf
        return {same_file_key(path): (start, end) for path in (getattr(source, "path", None), getattr(source, "origin", None))
                if isinstance(path, (str, os.PathLike)) and Path(path).is_file()}

    def shared(first: dict, second: dict) -> bool:
        return any(key in second and first[key][0] < second[key][1] and second[key][0] < first[key][1] for key in first)

    clip_footage = [footage(learned) for learned in clip_sources]
    for negative, opened in zip(negatives, negative_sources):
        negative_footage = footage(opened)
        for clip, learned, shown in zip(clips, clip_sources, clip_footage):
            overlapping = given(negative) == given(clip) and opened.start < learned.stop and learned.start < opened.stop
            if overlapping or shared(negative_footage, shown):
                raise fail(opened.path, f"is also a clip of the movement ({learned.path}); negatives must show "
                                        "other movements")


def _lowest_rate(clips: list[_Opened]) -> float | None:
    """The lowest frame rate the clips state (None when none states one): the rate clips at several times it
    are stepped to (:func:`_at_rate`), since frames cannot be made up for slower ones."""
    return min((float(clip.source.fps) for clip in clips if clip.source.fps), default=None)


def _at_rate(clip: _Opened, rate: float | None, speeds) -> _Opened:
    """``clip`` as it is, or one frame in N of it when it states about N times ``rate`` (:func:`tempo_step`):
    a predictor learns how far the movement goes per frame, and every clip must show it at one rate."""
    fps = clip.source.fps
    if rate is None or not fps:
        return clip
    ratio = fps / rate
    step = tempo_step(ratio, speeds)
    if step > 1:
        log.warning("%s: %g frames/s, %.2g times the rate of the movement's clips (%g): one frame in %d is learned "
                    "from", clip.path, fps, ratio, rate, step)
        return _Opened(SteppedFrames(clip.source, step), f"{clip.path} (one frame in {step})",
                       -(-clip.start // step), -(-clip.stop // step))
    if not within_tempos(ratio, speeds):
        log.warning("%s: %g frames/s, against %g for the movement's clips: its movement takes fewer frames than "
                    "theirs; give clips at their rate", clip.path, fps, rate)
    return clip


def _read_clips(clips: list[_Opened], what: str, rate: float | None, config: LearnConfig,
                extractors: list[FeatureExtractor], progress) -> list[tuple[str, list[np.ndarray], float]]:
    """Each clip's path, its features of every kind (landmark kinds from one MediaPipe pass) and its frame rate,
    clips at several times ``rate`` stepped through to it (:func:`_at_rate`)."""
    read = []
    length = config.window.length
    for number, clip in enumerate(clips, 1):
        source, path, start, stop = _at_rate(clip, rate, config.net.speeds)
        if _split_plan(stop - start, length, config.holdout) is None:  # as _split would find, before reading features
            raise _too_short(path, stop - start, length, config.holdout)
        note = f"{what} {number}/{len(clips)}"
        views = extract_views(extractors, source, start, stop,
                              progress=lambda done, total, _="", note=note: report(progress, done, total, note))
        for extractor, view in zip(extractors, views):
            # Frames without a body are filled with zeros when no frame has one: nothing to learn from.
            if extractor.config.landmarks and not np.any(view):
                raise fail(path, f"MediaPipe found no person in any frame (pose and gesture need a person at least "
                                 f"{PERSON_SIZE})")
            if what != "negatives" and extractor.config.kind == "pixels" and is_still(view):
                log.warning("%s: hardly anything moves in it (its pixels vary by under %g grey levels over the clip): "
                            "the model learns stillness and will find it in any still video; check the clip, or the "
                            "stretch given", path, STILL_RANGE)
        if not source.fps and isinstance(source, FolderSource):
            log.warning("%s: states no frame rate (no video.json); taken as %g frames/s, the rate videos at other "
                        "rates are stepped to when they are scored", path, DEFAULT_FPS)
        read.append((path, views, float(source.fps or DEFAULT_FPS)))
    return read


def is_still(pixels: np.ndarray) -> bool:
    """Whether frames of ``pixels`` features (grey levels / 255, one row a frame) hardly change over the clip: each
    feature's 5th to 95th percentile lie under :data:`STILL_RANGE` grey levels apart, on average.

    The whole clip's range, not the change from one frame to the next: a slow movement changes little from frame to
    frame but far over its course, and camera noise changes every frame but never far.

    >>> is_still(np.zeros((30, 64), np.float32)), is_still(np.linspace(0, 0.05, 30)[:, None] * np.ones(64))
    (True, False)
    """
    if not len(pixels):
        return False
    spread = np.percentile(pixels, 95, axis=0) - np.percentile(pixels, 5, axis=0)
    return float(spread.mean()) * 255 < STILL_RANGE


def _prepare_clip(path: str, features: np.ndarray, config: LearnConfig) -> _Clip:
    """One clip's windows, split into training and held-out ones."""
    length = config.window.length
    warped, val, _, train_frames = _split(features, length, config.holdout, config.net.speeds, path)
    return _Clip(path, _stack(warped), val, make_windows(features, length), train_frames, len(features))


def _prepare(positives: list[tuple[str, np.ndarray]], negatives: list[tuple[str, np.ndarray]], config: LearnConfig) -> _Data:
    return _Data([_prepare_clip(path, features, config) for path, features in positives],
                 [_prepare_clip(path, features, config) for path, features in negatives])


def _reference(net, held_out: Windows, image_shape) -> tuple[float, float, float]:
    """Median errors on the held-out windows: the model's MSE and SSIM ones (a score of 0) and persistence's."""
    errors = window_errors(net, *held_out, image_shape=image_shape)
    ref_mse = float(np.median(errors.model_mse))
    ref_dssim = float(np.median(errors.model_dssim)) if errors.model_dssim is not None else 0.0
    ref_still = float(np.median(errors.still_mse))
    return max(ref_mse, 1e-8), max(ref_dssim, 1e-8), max(ref_still, 1e-8)


def separation(positive: np.ndarray, negative: np.ndarray) -> float:
    """How far apart two score samples are: difference of means over the pooled spread (d')."""
    spread = math.sqrt((positive.var() + negative.var()) / 2) + 1e-6
    return float((positive.mean() - negative.mean()) / spread)


def calibrate(positive: np.ndarray, negative: np.ndarray | None = None) -> tuple[float, dict]:
    """The decision threshold from held-out positive window scores (and negative ones, if any).

    Without negatives the threshold sits one unit (a factor e in prediction
    error) below the lower quartile of the held-out scores: a clip in another
    style or seen from another angle is predicted worse than held-out frames of
    the very clip that was learned. With negatives it is the midpoint of the
    range of thresholds that best separates the two (balanced accuracy).

    Examples
    --------
    >>> calibrate(np.array([0.6, 0.7, 0.8]), np.array([0.0, 0.1]))[0]
    0.35
    >>> round(calibrate(np.array([-0.5, 0.0, 0.5]))[0], 2)
    -1.25
    >>> calibrate(np.array([]))
    Traceback (most recent call last):
    ...
    ValueError: calibrate needs the movement's held-out window scores, a 1-D array of at least one, got shape (0,)
    """
    positive = np.asarray(positive, np.float64)
    if positive.ndim != 1 or not len(positive):
        raise ValueError(f"calibrate needs the movement's held-out window scores, a 1-D array of at least one, got "
                         f"shape {positive.shape}")
    negative = None if negative is None else np.asarray(negative, np.float64)
    stats = {"positive_median": float(np.median(positive)), "positive_q25": float(np.quantile(positive, 0.25)),
             "positive_windows": int(len(positive))}
    if negative is None or len(negative) == 0:
        threshold = float(np.quantile(positive, 0.25)) - OUTSIDE_MARGIN
        return threshold, {"method": "held-out lower quartile - 1", **stats}
    candidates = np.unique(np.concatenate([positive, negative]))
    cuts = np.concatenate([[candidates[0] - 1e-6], (candidates[:-1] + candidates[1:]) / 2, [candidates[-1] + 1e-6]])
    accuracy = np.array([((positive >= c).mean() + (negative < c).mean()) / 2 for c in cuts])
    best = np.flatnonzero(accuracy >= accuracy.max() - 1e-12)
    threshold = float((cuts[best[0]] + cuts[best[-1]]) / 2)
    stats.update({"negative_median": float(np.median(negative)), "negative_windows": int(len(negative)),
                  "balanced_accuracy": float(accuracy.max()), "separation": separation(positive, negative)})
    return threshold, {"method": "best balanced accuracy, held-out vs negatives", **stats}


def fusion_weights(calibration_scores: list[np.ndarray]) -> list[float]:
    """Weights of the feature kinds' window scores: each kind's in units of the spread of its calibration scores.

    The kinds' scores come on different scales (with a cohort, ``pixels`` ones
    spread about twice as wide as ``pose`` ones), so a plain mean would let the
    widest decide. Dividing each by its standard deviation on the windows the
    threshold is calibrated on (held-out ones of the movement and of the
    negatives) gives every kind the same say; the weights are normalised to sum to 1.

    Examples
    --------
    >>> [round(w, 3) for w in fusion_weights([np.array([0.0, 4.0]), np.array([0.0, 2.0])])]
    [0.333, 0.667]
    """
    inverse = np.array([1.0 / max(float(np.std(scores)), MIN_SPREAD) for scores in calibration_scores])
    return [float(w) for w in inverse / inverse.sum()]


def _train(data: _Data, net_config: NetConfig, image_shape, progress, note) -> TrainResult:
    return train_predictor(data.train, data.val, data.normalise_on, net_config, image_shape, progress=progress, note=note)


def _search(data: _Data, config: LearnConfig, image_shape, progress, journal=None) -> tuple[NetConfig, dict]:
    """Optuna TPE over the predictor's hyper-parameters; returns the best configuration and a summary.

    With a ``journal`` file every finished trial is kept there, under a study named after the training
    windows and the settings, and a rerun of an interrupted search runs only the trials it had not finished.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # an interrupted trial is not worth a warning
    has_negatives = data.negative_windows is not None
    base = config.net
    space = search_space(image_features=image_shape is not None)

    begun = []  # this run's trials (a resumed search numbers them on from the finished ones)

    def objective(trial: "optuna.Trial") -> float:
        params = {name: dimension.suggest(trial, name) for name, dimension in space.items()}
        net_config = with_params(base, {**params, "epochs": config.search_epochs})
        begun.append(trial.number)
        result = _train(data, net_config, image_shape, progress, f"trial {finished + len(begun)}/{config.trials}")
        if not has_negatives:
            return result.val_loss
        ref = _reference(result.net, data.val, image_shape)
        return separation(predictor_scores(result.net, *data.val, ref, image_shape),
                          predictor_scores(result.net, *data.negative_windows, ref, image_shape))

    direction = "maximize" if has_negatives else "minimize"
    # The sampler is set for each trial, below.
    study = (optuna.create_study(direction=direction) if journal is None
             else _journaled_study(Path(journal), direction, _study_name(data, config)))

    def completed() -> int:
        return sum(trial.state == optuna.trial.TrialState.COMPLETE for trial in study.trials)

    finished = completed()
    if finished:
        log.info("search: %d of %d trials kept in %s", finished, config.trials, journal)
    else:  # the defaults come first (again, if an interruption cut their trial short)
        study.enqueue_trial({name: getattr(base, name) for name in space})
    failed = 0
    for _ in range(config.trials - finished):
        # Each trial draws from a sampler seeded by the trials finished before it, so a search resumed after an
        # interruption draws what an uninterrupted one would have, not the kept trials' parameters again; a
        # trial that failed here (a NaN objective) moves the seed on, so that its parameters are not drawn again.
        before = completed()
        study.sampler = optuna.samplers.TPESampler(seed=(base.seed + before + failed) % (MAX_SEED + 1))
        study.optimize(objective, n_trials=1)
        failed += completed() == before
    # A search interrupted on its way to more trials than are asked now has kept more than these: the first
    # config.trials of them are the search asked for, as a fresh run would have made it.
    counted = sorted((trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE),
                     key=lambda trial: trial.number)[: config.trials]
    if finished > config.trials:
        log.warning("search: %s kept %d finished trials; with --trials %d the first %d count", journal, finished,
                    config.trials, config.trials)
    best = (max if has_negatives else min)(counted, key=lambda trial: trial.value)
    # Trials an interrupted run finished count towards the time the search took, as they would have without it.
    kept_seconds = sum(trial.duration.total_seconds() for trial in counted
                       if trial.number not in begun and trial.duration is not None)
    summary = {"trials": config.trials, "objective": "separation (d')" if has_negatives else "held-out loss",
               "best_value": float(best.value), "best_params": best.params, "kept_seconds": round(kept_seconds, 2),
               "kept_trials": min(finished, config.trials)}
    log.info("search: best %s %.4g with %s", summary["objective"], best.value, best.params)
    return with_params(base, best.params), summary


def _journaled_study(journal: Path, direction: str, name: str):
    """The search kept in the Optuna journal file ``journal`` (created if missing; started afresh if damaged,
    the damaged file kept beside it as ``<journal>.damaged``)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if journal.is_dir():
        raise fail(journal, "is a folder; the trials of an interrupted search are kept in this file (remove the folder)")
    if journal.is_file() and not _optuna_journal(journal):  # before Optuna appends to a file that is not its own
        log.warning("%s: not the trials of an interrupted search; kept as %s, the search starts afresh", journal,
                    keep_aside(journal).name)
    elif journal.is_file():
        _drop_cut_line(journal)
    try:
        return optuna.create_study(direction=direction, load_if_exists=True, study_name=name,
                                   storage=JournalStorage(JournalFileBackend(str(journal))))
    except (AssertionError, ValueError, KeyError, TypeError) as error:  # what Optuna raises on a damaged journal
        log.warning("%s: damaged (%s); kept as %s, the search starts afresh", journal, error, keep_aside(journal).name)
        return optuna.create_study(direction=direction, study_name=name,
                                   storage=JournalStorage(JournalFileBackend(str(journal))))


def _drop_cut_line(journal: Path) -> None:
    """Remove a last line that a kill or power loss cut short: Optuna skips it when reading but would append
    the next operation onto it, joining the two into a line that no longer reads."""
    with open(journal, "rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)
            log.info("%s: its last line was cut short and is left out", journal)


def _optuna_journal(path: Path) -> bool:
    """Whether ``path`` starts as an Optuna journal does (a JSON operation per line; an empty file too)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        return not first.strip() or "op_code" in json.loads(first)
    except (OSError, ValueError, TypeError):
        return False


def _study_name(data: _Data, config: LearnConfig) -> str:
    """A search's name in its journal: a digest of the training and held-out windows and of the settings."""
    digest = hashlib.sha1(repr(replace(config, trials=1)).encode())  # more trials extend the same search
    for windows in (data.train, data.val, *(clip.every for clip in data.negatives)):
        for array in windows:
            digest.update(np.ascontiguousarray(array).tobytes())
    return f"{config.features.kind}-{digest.hexdigest()[:16]}"


def _learn_cohort(data: _Data, net, refs, net_config: NetConfig, image_shape,
                  progress) -> tuple[list[ScoredPredictor], tuple[float, float]]:
    """One predictor per negative clip, and every model's impostor statistics (see :mod:`keyframe.motion.cohort`).

    A model's impostors are the clips it was not trained on: for the movement's
    model every negative clip, for a negative's model the movement's clips and
    the other negatives.
    """
    if not data.negatives:
        return [], (0.0, 1.0)
    own_stats = impostor_stats(np.concatenate([predictor_scores(net, *clip.every, refs, image_shape) for clip in data.negatives]))
    cohort = []
    for number, clip in enumerate(data.negatives):
        trained = train_predictor(clip.train, clip.val, clip.normalise_on, net_config, image_shape, progress=progress,
                                  note=f"negative {number + 1}/{len(data.negatives)}")
        member_refs = _reference(trained.net, clip.val, image_shape)
        impostors = [data.every] + [other.every for other in data.negatives if other is not clip]
        mean, spread = impostor_stats(np.concatenate([predictor_scores(trained.net, *w, member_refs, image_shape) for w in impostors]))
        cohort.append(ScoredPredictor(state_copy(trained.net), member_refs, mean, spread, source=clip.path, _predictor=trained.net))
        log.info("cohort model of %s: %d epochs, impostor scores %.3g +- %.3g", clip.path, trained.epochs, mean, spread)
    return cohort, own_stats


@locks_output("out")  # two searches into one .partial would mix their trials
def learn(clips, config: LearnConfig = LearnConfig(), negatives=(), out=None, progress=None) -> MovementModel:
    """Learn a movement from ``clips`` (paths to videos or frame folders, frame sources, or uint8 arrays; a
    :class:`~keyframe.motion.features.Stretch` of one learns some of its frames, seen inside the whole clip).

    Parameters
    ----------
    clips : one or more clips of the movement.
    config : features, window, network and search settings; ``config.partners`` adds feature kinds whose
        models are learned alongside and whose window scores are combined with the first one's
        (each in units of its spread, :func:`fusion_weights`, then by ``config.fusion``).
    negatives : optional clips of *other* movements (each at least :func:`fewest_frames` long): each gets a
        predictor of its own, scores become relative to them, and they calibrate the threshold (and are the
        search objective). Learning takes about one extra model's time per negative clip.
    out : if given, the model is also saved there (atomically). A search (``config.trials > 1``) then keeps
        its finished trials in ``<out>.partial`` until the model is saved: learning again after an interruption
        (with the same clips and settings, or only more trials) runs only the trials that are left.
    progress : ``progress(done, total, note)`` callable.

    Raises
    ------
    KeyframeError
        For a clip without frames or shorter than needed, a feature kind that cannot run here, or an ``out``
        that another run is writing now (:func:`~keyframe.io.atomic.exclusive`).
    """
    started = time.perf_counter()
    clips = list(clips) if isinstance(clips, (list, tuple)) else [clips]
    negatives = list(negatives) if isinstance(negatives, (list, tuple)) else [negatives]
    if not clips:
        raise KeyframeError("learn needs at least one clip of the movement")
    clips, negatives = _distinct(clips, "clip"), _distinct(negatives, "negative")
    check_seed(config.net.seed)
    if out is not None:
        check_file_apart(out, [clip.clip if isinstance(clip, Stretch) else clip for clip in [*clips, *negatives]])
        if Path(out).is_file() and not is_model_file(out):
            raise fail(out, "exists and is not a movement model, which the model would replace (remove it or give another name)")
    # Built before any work, so a kind that cannot run here (pose without mediapipe) fails first.
    extractors = [FeatureExtractor(kind) for kind in (config.features, *config.partners)]
    clip_sources = _open_clips(clips, "clip", config.window.length, config.holdout)
    negative_sources = _open_clips(negatives, "negative", config.window.length, config.holdout)
    _check_negatives_apart(clips, clip_sources, negatives, negative_sources)
    rate = _lowest_rate(clip_sources)
    positives = _read_clips(clip_sources, "features", rate, config, extractors, progress)
    others = _read_clips(negative_sources, "negatives", rate, config, extractors, progress)
    journal = partial_dir(out) if out is not None and config.trials > 1 else None
    names = [clip.path for clip in clip_sources]
    learned = [_learn_kind(names, [(path, views[k]) for path, views, _ in positives], [(path, views[k]) for path, views, _ in others],
                           replace(config, features=extractor.config, partners=()), extractor, progress, journal)
               for k, extractor in enumerate(extractors)]
    model, data = learned[0]
    # Every window is scored as detect will score it: relative to the cohort when there is one, fused over the
    # feature kinds when there are several. The negatives' windows come from the stretches their own cohort
    # model held out, so none of them was trained on. All kinds split a clip's windows alike.
    positive_parts = [scores_of_windows(part, *part_data.val) for part, part_data in learned]
    negative_parts = [[scores_of_windows(part, *part_data.negatives[n].val) for part, part_data in learned]
                      for n in range(len(negatives))]
    if config.partners:
        model.partners = [part for part, _ in learned[1:]]
        model.fusion = config.fusion
        model.weights = fusion_weights([np.concatenate([positive, *(parts[k] for parts in negative_parts)])
                                        for k, positive in enumerate(positive_parts)])
        model.info["features"] = "+".join(part.features.kind for part in model.parts())
    positive = fuse(model, positive_parts)
    negative = np.concatenate([fuse(model, parts) for parts in negative_parts]) if negatives else None
    model.threshold, model.calibration = calibrate(positive, negative)
    _check_clips_reach_threshold(model, learned, [(path, fps) for path, _, fps in positives], len(positive))
    model.info["fps"] = [fps for _, _, fps in positives]  # as learned from; detect steps or notes videos at others
    kept = sum(part.info["search"].get("kept_seconds", 0.0) for part, _ in learned)  # by an interrupted run
    model.info["seconds"] = round(time.perf_counter() - started + kept, 2)
    if out is not None:
        model.save(out)
        # The trials kept are spent once the model is written, also those of an interrupted search when this
        # run trained the defaults alone (--trials 1).
        kept = partial_dir(out)
        if journal is not None or (kept.is_file() and _optuna_journal(kept)):
            kept.unlink(missing_ok=True)
    return model


def _check_clips_reach_threshold(model: MovementModel, learned: list, clips: list[tuple[str, float]], held_out: int) -> None:
    """Warn of a clip of the movement whose clip score, as ``detect`` takes it over the clip, lies under the threshold
    learned from it: a short take calibrates on a few windows from its middle, while its still start and end
    pull its own score down, and detecting the very clip learned then says "not detected"."""
    config = DetectConfig()
    for number, (path, fps) in enumerate(clips):
        windows = [scores_of_windows(part, *part_data.positives[number].every) for part, part_data in learned]
        own = clip_score(fuse(model, windows), config.span_windows(model.window.length, fps))
        if own < model.threshold:
            log.warning("%s: scores %.3f, under the threshold %.3f learned from it (from %d held-out windows), so "
                        "detecting it would say not detected; give a longer clip or several, or a --threshold at "
                        "detection", path, own, model.threshold, held_out)


def _learn_kind(names: list[str], positives, negatives, config: LearnConfig, extractor: FeatureExtractor,
                progress, journal=None) -> tuple[MovementModel, _Data]:
    """The model of ``extractor``'s feature kind (threshold not yet set) from the clips' and negatives' features."""
    started = time.perf_counter()
    image_shape = extractor.image_shape
    data = _prepare(positives, negatives, config)
    log.info("%s: training windows: %d (with time warps), held out: %d", config.features.kind, len(data.train[0]),
             len(data.val[0]))
    search = {}
    net_config = config.net
    if config.trials > 1:
        net_config, search = _search(data, config, image_shape, progress, journal)
    result = _train(data, net_config, image_shape, progress, f"training ({config.features.kind})")
    refs = _reference(result.net, data.val, image_shape)
    cohort, (impostor_mean, impostor_spread) = _learn_cohort(data, result.net, refs, net_config, image_shape, progress)
    model = MovementModel(
        features=config.features,
        window=config.window,
        net=net_config,
        dim=data.train[0].shape[-1],
        image_shape=image_shape,
        own=ScoredPredictor(state_copy(result.net), refs, impostor_mean, impostor_spread, _predictor=result.net),
        motion_weight=MOTION_WEIGHT,
        threshold=math.nan,
        cohort=cohort,
        info={
            "clips": names,
            "negatives": len(negatives),
            "frames": data.frames,
            "train_windows": int(len(data.train[0])),
            "held_out_windows": int(len(data.val[0])),
            "epochs": result.epochs,
            "held_out_loss": result.val_loss,
            "search": search,
            "seconds": round(time.perf_counter() - started + search.get("kept_seconds", 0.0), 2),
        },
    )
    return model, data
