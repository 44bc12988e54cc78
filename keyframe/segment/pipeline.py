"""The segmentation pipeline: validate the input, train the members and the stacker, write a mask per frame.

For every segment of the given masks (one-vs-rest when they hold ids 1..K):

1. **held-out stage** — the annotated frames are split into a part the members
   are fitted on and a held-out part (:func:`~keyframe.segment.ensemble.fit_split`);
   with a single mask a synthetic clip made from it is the held-out part. The
   members' soft masks on the held-out frames train the stacker and pick its
   threshold; with ``trials > 0`` Optuna also tunes the CNN, the UNet and the
   stacker there.
2. **final stage** — the members are fitted on every annotated frame and run
   over the whole video in one streaming pass; the stacker combines them, a
   flow-aligned temporal smoother averages neighbouring frames.

Soft results are staged under ``OUT.partial/.work/`` per segment (a finished
segment is not redone when an interrupted run is resumed); the final pass
turns them into label masks, and ``OUT.partial`` becomes ``OUT`` only at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError, check_count, check_seed, fail, is_whole
from keyframe.io import (ArrayFrames, atomic_path, list_images, mask_folder, open_frames, partial_dir, read_mask, staged_dir,
                         write_mask)
from keyframe.io.atomic import written_run
from keyframe.io.frames import FrameSource, source_identity, write_manifest
from keyframe.io.images import binarized, smoothed_values, value_ranges
from keyframe.nets.threads import torch_threads
from keyframe.progress import ProgressFn, report
from keyframe.segment import members as _members  # noqa: F401  (registers the members)
from keyframe.segment.base import MEMBERS, Member, resize_prob, work_size
from keyframe.segment.guided import guided_upsample
from keyframe.segment.tuning import columns_for
from keyframe.segment.ensemble import (
    EnsembleConfig,
    Stacker,
    TemporalSmoother,
    best_threshold,
    feature_names,
    fit_split,
    sample_pixels,
    stack_features,
    synthetic_clip,
    vote,
)

log = logging.getLogger(__name__)

DEFAULT_METHODS = ("flow", "backsub", "gmm", "grabcut", "cnn", "unet")
WORK = ".work"
SUMMARY = "segment.json"  # beside the masks: the summary segment() returns
ENSEMBLE = "ensemble"


@dataclass
class SegmentConfig:
    """What :func:`segment` does.

    Attributes
    ----------
    methods : member names (see ``keyframe.segment.MEMBERS``), in any order.
    trials : Optuna trials for each of the CNN, the UNet and the stacker
        (0 = the fast defaults; the seed used 50).
    soft : also write probabilities under ``OUT/soft/``.
    keep_members : also write each member's masks under ``OUT/members/<name>/``.
    ensemble : settings of the stacker and the temporal smoother.
    threads : torch threads while segmenting (None = torch's choice). One is the
        default because on a busy 2-core machine two threads are many times
        slower than one.
    member_options : per-member config objects, e.g. ``{"unet": UNetConfig(max_side=256)}``: each
        key a member name, each value that member's ``config_type`` (checked by
        :func:`check_member_options` when :func:`segment` starts).
    seed : seeds every random choice.
    binary : read each mask as one segment, values of 128 and more against background (a matte with
        soft, anti-aliased edges, whose grey levels would otherwise each be a segment of its own).
    """

    methods: tuple[str, ...] = DEFAULT_METHODS
    trials: int = 0
    soft: bool = False
    keep_members: bool = False
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    threads: int | None = 1
    member_options: dict = field(default_factory=dict)
    seed: int = 0
    binary: bool = False

    def __post_init__(self) -> None:
        """Checked when made (and by :func:`dataclasses.replace`), so a bad value is named where it was given."""
        self.methods = check_methods(self.methods)
        self.member_options = check_member_options(self.member_options)
        if not is_whole(self.trials) or self.trials < 0:
            raise KeyframeError(f"--trials must be 0 or more, got {self.trials!r}")
        if not isinstance(self.ensemble, EnsembleConfig):
            raise KeyframeError(f"SegmentConfig.ensemble must be an EnsembleConfig (from keyframe.segment.ensemble), "
                                f"got {type(self.ensemble).__name__}")
        check_seed(self.seed)
        if self.threads is not None:  # None: torch's own setting
            check_count("threads", self.threads)
        for name in ("soft", "keep_members", "binary"):
            if not isinstance(getattr(self, name), bool):
                raise KeyframeError(f"SegmentConfig.{name} must be True or False, got {getattr(self, name)!r}")


@dataclass
class Annotations:
    """The validated masks: raw values by frame index, their files, and the segment ids."""

    masks: dict[int, np.ndarray]
    paths: dict[int, Path]
    labels: list[int]

    def binary(self, label: int) -> dict[int, np.ndarray]:
        """Boolean masks of one segment by frame index."""
        return {i: m == label for i, m in self.masks.items()}


# --- input ---------------------------------------------------------------------------


def check_methods(methods) -> tuple[str, ...]:
    """Member names as a tuple, from a tuple or a comma-separated string; unknown names are an error."""
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    methods = tuple(dict.fromkeys(methods))
    if not methods:
        raise KeyframeError("--methods: name at least one method")
    unknown = [m for m in methods if m not in MEMBERS]
    if unknown:
        raise KeyframeError(f"--methods: unknown method {unknown[0]!r}; choose from {', '.join(sorted(MEMBERS))}")
    return methods


def check_member_options(options) -> dict:
    """``options`` as a dict if it maps member names to their valid config objects; a :class:`KeyframeError` otherwise.

    A misspelt name or a plain dict would otherwise be ignored or fail deep inside
    a run, and a size of 0 would quietly give an empty mask.

    Examples
    --------
    >>> check_member_options({"UNet": None})
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: member_options: unknown member 'UNet'; choose from backsub, cnn, flow, gmm, grabcut, selfie, unet
    >>> check_member_options({"unet": {"max_side": 64}})
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: member_options['unet'] must be a UNetConfig (from keyframe.segment.members.unet), got dict
    """
    if not isinstance(options, dict):
        raise KeyframeError(f"member_options must be a dict of member name -> config object, got {type(options).__name__}")
    for name, settings in options.items():
        if name not in MEMBERS:
            raise KeyframeError(f"member_options: unknown member {name!r}; choose from {', '.join(sorted(MEMBERS))}")
        expected = MEMBERS[name].config_type
        if settings is None or expected is None:  # None = the member's defaults; a plugin may not declare its type
            continue
        if not isinstance(settings, expected):
            raise KeyframeError(f"member_options[{name!r}] must be a {expected.__name__} (from {expected.__module__}), "
                                f"got {type(settings).__name__}")
        check = getattr(settings, "check", None)
        if callable(check):
            check()  # again: a field may have been changed since the object was made
    return dict(options)


def load_annotations(source: FrameSource, masks_dir: str | Path, binary: bool = False) -> Annotations:
    """Read and check every mask of ``masks_dir`` against the frames of ``source``.

    Each mask must be named as a frame, have its size, and mark something;
    the segment ids are the non-zero values found (a 0/255 mask is one segment). With ``binary`` every mask is
    one segment, 255 where it is 128 or more (soft-edged mattes).
    """
    masks_dir = mask_folder(masks_dir)
    files = list_images(masks_dir)
    if not files:
        raise fail(masks_dir, "contains no mask images (PNG named as the frames they annotate)")
    stems = set(source.stems)
    height, width = source.size
    masks, paths = {}, {}
    for path in files:
        if path.stem not in stems:
            raise fail(path, f"has no frame of that name in {source.path} ({source.naming})")
        mask = read_mask(path)
        if mask.shape != (height, width):
            raise fail(path, f"is {mask.shape[1]}x{mask.shape[0]} but its frame is {width}x{height}")
        if binary:
            mask = binarized(mask)
        if not mask.any():
            raise fail(path, "is all background (0); a mask must mark the segment to learn")
        index = source.index_of(path.stem)
        masks[index], paths[index] = mask, path
    if all(mask.all() for mask in masks.values()):
        raise fail(masks_dir, "marks no background (0) in any mask; show some background too, to learn it from")
    labels = sorted(int(v) for v in np.unique(np.concatenate([np.unique(m) for m in masks.values()])) if v != 0)
    if len(labels) > 64:
        hint = " (a smoothed 0/255 mask has grey edges: save it without smoothing, or pass --binary)" if 255 in labels else ""
        raise fail(masks_dir, f"masks hold {len(labels)} different values; use 0 for background and 1..K (or 255) for segments{hint}")
    edges = smoothed_values(list(masks.values()), labels)
    if edges:
        log.warning("%s: values %s lie mostly along the edge of the 255 regions, as a smoothed (anti-aliased) 0/255 "
                    "mask gives: each is learned as a segment of its own; if they mean one segment, pass --binary "
                    "(SegmentConfig(binary=True)) or save the masks without smoothing", masks_dir, value_ranges(edges))
    return Annotations(masks, paths, labels)


# --- members on held-out frames ------------------------------------------------------------------


def is_sequential(member: Member) -> bool:
    """True for members whose output depends on other frames (they override ``predict``)."""
    return type(member).predict is not Member.predict


def member_outputs(member: Member, source: FrameSource, indices) -> dict[int, np.ndarray]:
    """Soft masks of ``member`` on the frames ``indices`` only."""
    if is_sequential(member):
        out = {}
        for i in indices:
            out.update(member.predict(source, i, i + 1))
        return out
    return {i: member.predict_frame(i, source.read(i)) for i in indices}


def make_member(name: str, config: SegmentConfig, override=None) -> Member:
    """A fresh member, with its config from ``override`` or ``config.member_options``."""
    options = override if override is not None else config.member_options.get(name)
    return MEMBERS[name](options) if options is not None else MEMBERS[name]()


def for_annotated(config: SegmentConfig, annotated: int) -> SegmentConfig:
    """``config`` with the member settings that depend on the number of given masks fixed for ``annotated``.

    The held-out fits see fewer masks than the final ones; resolving such
    settings once (e.g. the UNet's work size) keeps both at the same size.
    """
    options = dict(config.member_options)
    for name in config.methods:
        settings = getattr(make_member(name, config), "config", None)
        if hasattr(settings, "for_annotated"):
            options[name] = settings.for_annotated(annotated)
    return replace(config, member_options=options)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


@dataclass
class HeldOut:
    """Where the members are scored before the final fit: a source, its fit masks and its held-out masks."""

    source: FrameSource
    fit: dict[int, np.ndarray]
    truth: dict[int, np.ndarray]
    synthetic: bool


def held_out(source: FrameSource, keyframes: dict[int, np.ndarray], config: SegmentConfig) -> HeldOut:
    """The seed's split of the annotated frames (:func:`~keyframe.segment.ensemble.fit_split`), or a synthetic
    clip when there is only one."""
    fit_idx, held_idx = fit_split(keyframes)
    if held_idx:
        return HeldOut(source, {i: keyframes[i] for i in fit_idx}, {i: keyframes[i] for i in held_idx}, False)
    first = fit_idx[0]
    frames, masks = synthetic_clip(source.read(first), keyframes[first], config.ensemble.synthetic, config.seed)
    truth = {j: masks[j] for j in range(1, len(masks))}
    return HeldOut(ArrayFrames(np.stack(frames), path="<synthetic>"), {0: masks[0]}, truth, True)


def kept_masks(out_dir) -> int:
    """How many masks an interrupted :func:`segment` into ``out_dir`` kept for the rerun to resume from."""
    work = partial_dir(out_dir) / WORK
    return sum(1 for _ in work.rglob("*.png")) if work.is_dir() else 0


# --- one segment --------------------------------------------------------------------------

# Below this held-out IoU for every member a segment was not found again at all (on DAVIS the best member scores
# 0.8-0.95 there with one mask), and its masks are written as a guess.
LOST_IOU = 0.25


def _warn_if_lost(model: "SegmentModel", masks, label: int) -> None:
    """Say when no member found segment ``label`` again on the held-out frames (or, with one mask, on the
    synthetic clip made from it): its masks over the video are then not to be trusted."""
    name, best = max(model.held_out_iou.items(), key=lambda item: item[1])
    if best < LOST_IOU:
        log.warning("%s: segment %d was not found again on the held-out frames (the best member, %s, overlaps them "
                    "by IoU %.2f): its masks are likely wrong; give more masks of it, or check that they mark it",
                    masks, label, name, best)



class SegmentModel:
    """Members plus stacker for one segment: :meth:`train`, then :meth:`run` over the video."""

    def __init__(self, source: FrameSource, keyframes: dict[int, np.ndarray], config: SegmentConfig):
        self.source, self.keyframes, self.config = source, keyframes, for_annotated(config, len(keyframes))
        self.base = [m for m in config.methods if not MEMBERS[m].needs_consensus]
        # A consensus member refines the others' mean; alone, it runs on its own seed member.
        self.refiners = [m for m in config.methods if MEMBERS[m].needs_consensus] if self.base else []
        if not self.base:
            self.base = list(config.methods)
        self.size = work_size(*source.size, config.ensemble.max_side)
        self.members: dict[str, Member] = {}
        self.tuned: dict[str, dict] = {}

    def _outputs(self, members: dict[str, Member], source: FrameSource, indices) -> dict[str, dict[int, np.ndarray]]:
        outputs = {name: member_outputs(members[name], source, indices) for name in self.base}
        for name in self.refiners:
            outputs[name] = {}
            for i in indices:
                consensus = np.mean([outputs[b][i] for b in self.base], axis=0)
                outputs[name][i] = members[name].refine(i, source.read(i), consensus)
        return outputs

    def _small(self, prob: np.ndarray) -> np.ndarray:
        return resize_prob(prob, *self.size)

    def _features(self, probs: list[np.ndarray], rgb: np.ndarray, ensemble: EnsembleConfig) -> np.ndarray:
        small_rgb = cv2.resize(rgb, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
        return stack_features(np.stack([self._small(p) for p in probs]), small_rgb, ensemble.image_features)

    def train(self, progress: Callable[[str], None] = lambda note: None) -> "SegmentModel":
        """Fit the members on the held-out split, train the stacker, then fit the members on every mask."""
        config = self.config
        split = held_out(self.source, self.keyframes, config)
        chosen: dict[str, object] = {}
        first: dict[str, Member] = {}
        for name in self.base + self.refiners:
            progress(f"held-out fit: {name}")
            first[name] = make_member(name, config).fit(split.source, split.fit)
        outputs = self._outputs(first, split.source, list(split.truth))
        if config.trials > 0:
            from keyframe.segment.tuning import tune_member

            for name in (n for n in ("cnn", "unet") if n in self.base):
                progress(f"tuning {name} ({config.trials} trials)")
                default_score = float(np.mean([iou(outputs[name][i] > 0.5, t) for i, t in split.truth.items()]))
                best = tune_member(name, split, config.trials, default_score, config.seed)
                if best is not None:
                    chosen[name], self.tuned[name] = best
                    if hasattr(chosen[name], "for_annotated"):
                        chosen[name] = chosen[name].for_annotated(len(self.keyframes))
                    first[name] = make_member(name, config, chosen[name]).fit(split.source, split.fit)
                    outputs = self._outputs(first, split.source, list(split.truth))
        # The stacker combines the frame-wise members. The few held-out frames
        # cannot show how far propagation drifts over a real video (a synthetic
        # clip is tracked almost perfectly; a single real frame can favour any
        # member by chance: measured on DAVIS), so the sequential members act
        # through GrabCut's consensus and the temporal smoother instead, unless
        # every frame-wise member clearly fails where they succeed.
        self.held_out_iou = {n: float(np.mean([iou(outputs[n][i] > 0.5, t) for i, t in split.truth.items()])) for n in self.names}
        framewise = [n for n in self.names if not is_sequential(first[n])]
        sequential = [n for n in self.names if n not in framewise]
        best_of = lambda names: max((self.held_out_iou[n] for n in names), default=0.0)  # noqa: E731
        failing = best_of(framewise) < best_of(sequential) - config.ensemble.fallback_margin
        stackable = framewise if framewise and not failing else self.names
        # Members far behind the best one on the held-out frames only add noise
        # that a stacker fitted on so few frames cannot learn to ignore.
        best = max(self.held_out_iou[n] for n in stackable)
        self.stacked = [
            n for n in stackable if self.held_out_iou[n] >= best - config.ensemble.keep_within or n in config.ensemble.always_stack
        ]
        anchored = [n for n in self.stacked if n in config.ensemble.always_stack]
        if split.synthetic and anchored:
            # A synthetic clip is the given frame warped: a member trained from
            # scratch on that frame scores there as on its training frame, so
            # the clip cannot rank it beside the pretrained UNet (on DAVIS it
            # stacked the CNN on hike: J&F 0.878, against 0.913 without it).
            self.stacked = anchored
        progress("training the stacker")
        rng = np.random.default_rng(config.seed)
        features, labels, groups, frames = [], [], [], []
        for i, truth in split.truth.items():
            x = self._features([outputs[n][i] for n in self.stacked], split.source.read(i), config.ensemble)
            small_truth = resize_prob(truth.astype(np.float32), *self.size) >= 0.5
            pick = sample_pixels(small_truth, config.ensemble.samples, rng)
            features.append(x[pick]), labels.append(small_truth.reshape(-1)[pick]), groups.append(np.full(len(pick), i))
            frames.append((x, small_truth.reshape(-1)))
        features, labels, groups = np.concatenate(features), np.concatenate(labels), np.concatenate(groups)
        ensemble = config.ensemble
        if config.trials > 0:
            from keyframe.segment.tuning import tune_ensemble

            progress(f"tuning the stacker ({config.trials} trials)")
            found = tune_ensemble(features, labels, groups, ensemble, config.trials, config.seed)
            if found is not None:
                ensemble, self.tuned[ENSEMBLE] = found
                features = columns_for(features, config.ensemble, ensemble)
        self.ensemble = ensemble = replace(ensemble, votes=ensemble.votes_for(len(self.keyframes)))
        self.stacker = Stacker(ensemble).fit(features, labels)
        # The pixel sample over-represents boundaries; the threshold is chosen on whole frames.
        whole = [(columns_for(x, config.ensemble, ensemble), t) for x, t in frames]
        self.stacker.threshold = best_threshold(
            np.concatenate([self.stacker.predict_proba(x) for x, _ in whole]), np.concatenate([t for _, t in whole])
        )
        if split.synthetic:
            # A synthetic clip has no motion blur and no new views, so the members
            # are surer there than on the video; the threshold it picks was too
            # high on 6 of 8 DAVIS sequences (J&F -0.01). Keep the neutral 0.5.
            self.stacker.threshold = 0.5
        log.info("stacker over %s: weights %s, threshold %.2f", self.stacked,
                 labelled_weights(self.stacker.weights(), self.stacked), self.stacker.threshold)
        # Final members on every annotated frame. Frame-wise members fitted on the
        # single mask (synthetic split) already are exactly that model.
        for name in self.base + self.refiners:
            member = first[name]
            if split.synthetic and not is_sequential(member) and not MEMBERS[name].needs_consensus:
                self.members[name] = member
            else:
                progress(f"fitting {name}")
                self.members[name] = make_member(name, config, chosen.get(name)).fit_from(member, self.source, self.keyframes)
        return self

    def _vote_weight(self, name: str, index: int) -> float:
        """The fixed vote of member ``name`` on frame ``index`` (propagating members fade with the distance to a given mask)."""
        weight = float(self.ensemble.votes.get(name, 0.0))
        if weight and is_sequential(self.members[name]) and not MEMBERS[name].needs_consensus and self.ensemble.vote_decay > 0:
            distance = min(abs(index - k) for k in self.keyframes)
            weight *= float(np.exp(-distance / self.ensemble.vote_decay))
        return weight

    @property
    def names(self) -> list[str]:
        return self.base + self.refiners

    def used(self) -> list[str]:
        """The members whose masks make the ensemble's: the stacked ones, those with a vote, and every base member
        when a refiner is used (it refines their mean). The others were trained to be weighed on the held-out
        frames, and lost; running them on every frame would change no mask.

        Examples
        --------
        >>> model = SegmentModel.__new__(SegmentModel)
        >>> model.base, model.refiners, model.stacked = ["flow", "gmm", "unet"], ["grabcut"], ["unet"]
        >>> model.ensemble = EnsembleConfig(votes={"flow": 0.5, "grabcut": 0.0})
        >>> model.used()
        ['flow', 'unet']
        """
        chosen = set(self.stacked) | {n for n, weight in self.ensemble.votes.items() if weight > 0 and n in self.names}
        if chosen & set(self.refiners):
            chosen |= set(self.base)
        return [n for n in self.names if n in chosen]

    def run(self, member_sink: Callable[[int, str, np.ndarray], None] | None = None, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, prob)`` for every frame from ``start`` on: the stacked, smoothed probability at the work
        size, rescaled so that the stacker's threshold sits at 0.5. Annotated frames give their mask.

        ``member_sink(index, name, prob)`` receives each member's soft mask (work size) as it is made. A ``start``
        past 0 gives the same masks as a run from 0 does from there: the frames the temporal smoothing looks back
        to are made too (and given to the sink), not yielded.
        """
        source, height, width = self.source, *self.size
        first = max(0, start - self.ensemble.smooth)
        running = set(self.names if member_sink is not None else self.used())
        base = [n for n in self.base if n in running]
        refiners = [n for n in self.refiners if n in running]
        sequential = {n: self.members[n].predict(source, first) for n in base if is_sequential(self.members[n])}
        smoother = TemporalSmoother(self.ensemble.smooth, self.ensemble.smooth_weight, anchors=frozenset(self.keyframes))
        for frame in source.iter_frames(first):
            index = frame.index
            probs = {}
            for name, generator in sequential.items():
                at, prob = next(generator)
                if at != index:
                    raise RuntimeError(f"member {name} yielded frame {at} for frame {index}")
                probs[name] = prob
            if index in self.keyframes:
                prob = self._small(self.keyframes[index].astype(np.float32))
            else:
                for name in base:
                    if name not in probs:
                        probs[name] = self.members[name].predict_frame(index, frame.rgb)
                small = {name: self._small(p) for name, p in probs.items()}  # each member resized once per frame
                for name in refiners:
                    consensus = np.mean([small[b] for b in base], axis=0)
                    small[name] = self._small(self.members[name].refine(index, frame.rgb, consensus))
                x = self._features([small[n] for n in self.stacked], frame.rgb, self.ensemble)
                prob = calibrate(self.stacker.predict_proba(x).reshape(height, width), self.stacker.threshold)
                voters = [(self._vote_weight(n, index), small[n]) for n in self.ensemble.votes if n in small and n not in self.stacked]
                voters = [(w, p) for w, p in voters if w > 0]
                if voters:
                    prob = vote(prob, voters)
                if member_sink is not None:
                    for name in self.names:
                        member_sink(index, name, small[name])
            grey = cv2.resize(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY), (width, height), interpolation=cv2.INTER_AREA)
            yield from ((at, smoothed) for at, smoothed in smoother.push(index, grey, prob) if at >= start)
        yield from ((at, smoothed) for at, smoothed in smoother.flush() if at >= start)


def calibrate(prob: np.ndarray, threshold: float) -> np.ndarray:
    """Piecewise-linear rescaling of ``prob`` that maps ``threshold`` to 0.5 (and keeps 0 and 1).

    Examples
    --------
    >>> import numpy as np
    >>> calibrate(np.array([0.0, 0.3, 0.65, 1.0]), 0.3).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    prob = np.asarray(prob, np.float32)
    t = float(np.clip(threshold, 1e-3, 1 - 1e-3))
    return np.where(prob < t, prob * (0.5 / t), 0.5 + (prob - t) * (0.5 / (1 - t))).astype(np.float32)


# --- the whole run --------------------------------------------------------------------------


def to_u8(prob: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(prob * 255.0), 0, 255).astype(np.uint8)


def segment(frames, masks, out, config: SegmentConfig | None = None, progress: ProgressFn | None = None, **options) -> dict:
    """Write a mask for every frame of ``frames`` from the hand-made ``masks``.

    Parameters
    ----------
    frames : a frame folder or a video file (or an opened ``FrameSource``).
    masks : a folder of PNG masks named as the frames they annotate: 0 is
        background, other values are segment ids (0/255 = one segment).
    out : output folder: ``<stem>.png`` per frame, same size and values as the
        given masks; given masks come back unchanged; ``soft/`` and
        ``members/<name>/`` on request. Built as ``<out>.partial`` and resumable.
    config : a :class:`SegmentConfig`; ``options`` override its fields
        (``methods``, ``trials``, ``soft``, ``keep_members``, ...).
    progress : ``progress(done, total, note)`` callable.

    Returns
    -------
    dict: ``frames``, ``labels``, ``methods``, ``seconds``, ``seconds_per_frame``,
    and under ``segments``, per segment id: ``inputs`` (the stacked members),
    ``weights`` (the stacker's weight per input column by name: each member in
    ``inputs``, then ``members_mean``, ``members_spread`` and, with image
    features, ``edge_strength`` and ``edge_x_mean``; dropped columns weigh 0;
    None for the MLP), ``votes`` (the fixed votes after the stack, by member), ``threshold``, ``held_out_iou``,
    any ``tuned`` settings and ``resumed_at``, the frame a
    segment stopped part way carried on from; ``resumed_segments``, the ids of the segments an interrupted run had
    finished and this one kept, when there are any.

    Examples
    --------
    >>> summary = segment("davis/bear/frames", "my_masks", "out/bear", methods="flow,gmm,unet")  # doctest: +SKIP
    >>> summary["seconds_per_frame"]  # doctest: +SKIP
    0.41
    """
    started = time.perf_counter()
    config = config or SegmentConfig()
    unknown = set(options) - {f.name for f in fields(SegmentConfig)}
    if unknown:
        raise TypeError(f"segment() got unknown option(s) {sorted(unknown)}")
    config = replace(config, **options)  # checked again (SegmentConfig.__post_init__): a field may have been changed
    config.ensemble.check()  # again, for the same reason
    for name in config.methods:  # a member whose optional package is missing says so before anything is written
        make_member(name, config)
    source = open_frames(frames)
    notes = load_annotations(source, masks, config.binary)
    out = Path(out)
    total = len(source)
    summary: dict = {"frames": total, "annotated": len(notes.masks), "labels": notes.labels, "methods": list(config.methods), "segments": {}}
    identity = run_identity(source, notes, config)
    with torch_threads(config.threads), staged_dir(out, identity, inputs=[source.path, masks], kind="segment", private=(WORK,)) as stage:
        work = stage / WORK
        unannotated = [stem for index, stem in enumerate(source.stems) if index not in notes.masks]
        for number, label in enumerate(notes.labels, 1):
            where = work / str(label)
            done_file = where / "done.json"
            finished = finished_segment(where, unannotated, config)
            if finished is not None:  # by an interrupted run from the same inputs (the stage's key)
                summary["segments"][str(label)] = finished
                summary.setdefault("resumed_segments", []).append(label)
                continue
            prefix = f"segment {label} ({number}/{len(notes.labels)})"
            report(progress, 0, total, f"{prefix}: training")
            model = SegmentModel(source, notes.binary(label), config).train(lambda note: report(progress, 0, total, f"{prefix}: {note}"))
            _warn_if_lost(model, masks, label)
            start = resume_point(model, where / ENSEMBLE)
            if start == 0:
                shutil.rmtree(where, ignore_errors=True)

            def sink(index: int, name: str, prob: np.ndarray) -> None:
                write_mask(where / name / f"{source.stems[index]}.png", to_u8(prob))

            for done, (index, prob) in enumerate(model.run(sink if config.keep_members else None, start), start + 1):
                write_mask(where / ENSEMBLE / f"{source.stems[index]}.png", to_u8(prob))
                report(progress, done, total, prefix)
            info = {
                "threshold": model.stacker.threshold,
                "weights": labelled_weights(model.stacker.weights(), model.stacked),
                "inputs": model.stacked,
                "votes": {name: weight for name, weight in model.ensemble.votes.items() if name in model.names},
                "held_out_iou": {k: round(v, 4) for k, v in model.held_out_iou.items()},
                "tuned": model.tuned,
                **({"resumed_at": start} if start else {}),
            }
            # Atomic: a run killed while writing it must not leave a done.json that reads as finished, or not at all.
            with atomic_path(done_file) as tmp:
                tmp.write_text(json.dumps(info, default=str))
            summary["segments"][str(label)] = info
        report(progress, total, total, "writing masks")
        shutil.rmtree(stage / "soft", ignore_errors=True)  # an interrupted run's, perhaps made when --soft was on
        for channel in staged_channels(config):
            target = stage if channel == ENSEMBLE else stage / "members" / channel
            ensemble = channel == ENSEMBLE
            write_channel(source, notes, work, channel, target, soft_dir=stage / "soft" if ensemble and config.soft else None,
                          guide=config.ensemble if ensemble else None)
        write_manifest(stage, source)  # so that a video of the masks plays at the frames' rate
        _time(summary, started, total)
        (stage / SUMMARY).write_text(json.dumps(summary, indent=1, default=str))  # how the masks were made, kept with them
        # The work stays (private, not published) until every mask has moved: a run stopped while they move
        # writes them again from it instead of learning every segment afresh.
    _time(summary, started, total)
    log.info("segment: %d frames in %.1f s", total, summary["seconds"])
    return summary


def _time(summary: dict, started: float, frames: int) -> None:
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["seconds_per_frame"] = round(summary["seconds"] / max(frames, 1), 3)


def resume_point(model: SegmentModel, staged: Path) -> int:
    """The frame to carry on from with ``model``, given the soft masks an interrupted run staged in ``staged``:
    the first without one, if the masks kept were made by the same model; else 0 (every frame made again).

    Training is seeded, so the model trained again is the interrupted run's; what checks it is the last kept
    mask of a frame without a given mask, made again: a model trained otherwise (another number of threads can
    round differently) is kept to within 1 of 255 or not at all, so that no seam shows where the run resumed.
    """
    stems = model.source.stems
    start = min(written_run(staged, stems), len(stems) - 1)  # every mask kept, but not the mark that the segment is done: write the last
    made = [index for index in range(start) if index not in model.keyframes]
    if not made:
        return 0
    check = made[-1]
    try:
        kept = read_mask(staged / f"{stems[check]}.png").astype(np.int16)
    except KeyframeError:
        return 0
    again = next(prob for index, prob in model.run(start=check) if index == check)
    same = kept.shape == again.shape and int(np.abs(to_u8(again).astype(np.int16) - kept).max()) <= 1
    log.info("segment: %s the %d masks kept (checked on frame %s)", "resuming after" if same else "redoing", start, stems[check])
    return start if same else 0


def finished_segment(where: Path, stems: list[str], config: SegmentConfig) -> dict | None:
    """The summary of the segment staged in ``where`` if an earlier run finished it, else None (it is redone).

    Finished means a readable ``done.json`` and the staged soft masks the final pass reads for ``stems`` (the
    frames without a given mask): the ensemble's, and each member's with ``keep_members``. An interrupted
    clean-up of ``.work`` removes files in no set order, and may leave the marker without them.
    """
    try:
        info = json.loads((where / "done.json").read_text())
    except (OSError, ValueError):
        return None
    staged = all((where / channel / f"{stem}.png").is_file() for channel in staged_channels(config) for stem in stems)
    return info if isinstance(info, dict) and staged else None


def staged_channels(config: SegmentConfig) -> list[str]:
    """The soft masks staged for each segment: the ensemble's, and each member's with ``keep_members``."""
    return [ENSEMBLE] + (list(model_names(config)) if config.keep_members else [])


def labelled_weights(weights: list[float] | None, stacked: list[str]) -> dict[str, float] | None:
    """The stacker's weights by input column name (the members ``stacked``, then the extra columns of
    :func:`~keyframe.segment.ensemble.feature_names`); None for a model without weights.

    Examples
    --------
    >>> labelled_weights([4.1, 0.0, 0.0, 0.0, 0.0], ["unet"])
    {'unet': 4.1, 'members_mean': 0.0, 'members_spread': 0.0, 'edge_strength': 0.0, 'edge_x_mean': 0.0}
    """
    if weights is None:
        return None
    # The image columns come last, so the names of a stack without them are a prefix.
    names = feature_names(stacked, image_features=True)[: len(weights)]
    return dict(zip(names, weights, strict=True))


def run_identity(source: FrameSource, notes: Annotations, config: SegmentConfig) -> dict:
    """What a run's kept work was made from: the frames (path, size and time), the masks' content and the
    settings that change the masks (an interrupted run's work is reused only if all match)."""
    masks = hashlib.sha1()
    for index in sorted(notes.masks):
        masks.update(f"{index}:".encode())
        masks.update(np.ascontiguousarray(notes.masks[index]).tobytes())
    settings = {name: value for name, value in asdict(config).items() if name not in ("soft", "threads")}
    return {"frames": source_identity(source), "masks": masks.hexdigest(), "settings": settings}


def model_names(config: SegmentConfig) -> list[str]:
    """Names of the members whose outputs a run produces."""
    base = [m for m in config.methods if not MEMBERS[m].needs_consensus]
    return list(config.methods) if not base else base + [m for m in config.methods if MEMBERS[m].needs_consensus]


def write_channel(source: FrameSource, notes: Annotations, work: Path, channel: str, target: Path, soft_dir: Path | None,
                  guide: EnsembleConfig | None = None) -> None:
    """Turn the staged soft masks of one channel (ensemble or a member) into label masks.

    The soft masks are brought to the frame's size with the guided filter of
    ``guide`` (its ``guide_radius`` and ``guide_eps``; the frames are read
    again for it), or bilinearly. A pixel gets the segment whose probability
    is highest, if that is at least 0.5, else 0. Annotated frames get their
    given mask unchanged.
    """
    height, width = source.size
    labels = notes.labels
    guided = guide is not None and guide.guide_radius > 0
    frames = source.iter_frames() if guided else None
    for index, stem in enumerate(source.stems):
        path = target / f"{stem}.png"
        rgb = next(frames).rgb if guided else None  # read in order: a video is decoded once
        if index in notes.masks:
            write_mask(path, notes.masks[index])
            if soft_dir is not None:
                for label in labels:
                    write_mask(soft_path(soft_dir, labels, label, stem), (notes.masks[index] == label).astype(np.uint8) * 255)
            continue
        staged = [read_mask(work / str(label) / channel / f"{stem}.png") for label in labels]
        probs = np.stack([to_u8(guided_upsample(prob.astype(np.float32) / 255, rgb, guide.guide_radius, guide.guide_eps))
                          if guided else upsample(prob, height, width) for prob in staged])
        best = probs.argmax(axis=0)
        mask = np.where(probs.max(axis=0) >= 128, np.asarray(labels, np.uint8)[best], 0).astype(np.uint8)
        write_mask(path, mask)
        if soft_dir is not None:
            for label, prob in zip(labels, probs):
                write_mask(soft_path(soft_dir, labels, label, stem), prob)


def soft_path(soft_dir: Path, labels: list[int], label: int, stem: str) -> Path:
    """``soft/<stem>.png`` for one segment, ``soft/<label>/<stem>.png`` for several."""
    return soft_dir / f"{stem}.png" if len(labels) == 1 else soft_dir / str(label) / f"{stem}.png"


def upsample(prob_u8: np.ndarray, height: int, width: int) -> np.ndarray:
    """A staged uint8 soft mask at the frame size (bilinear)."""
    if prob_u8.shape == (height, width):
        return prob_u8
    return cv2.resize(prob_u8, (width, height), interpolation=cv2.INTER_LINEAR)
