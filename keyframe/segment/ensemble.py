"""Learned stacking of the members' soft masks, temporal smoothing and a held-out threshold.

The stacker is a per-pixel classifier (logistic regression without intercept
by default: a weighted vote of the members' logits; or a small MLP). Its
inputs are the members' soft masks as logits, optionally (``extra_features``)
with their mean and spread and simple image features (edge strength, and the
members' mean gated by it). It is trained on annotated pixels that the members
did *not* train on:

* with two or more masks, the annotated frames are split into a part the
  members are fitted on and a held-out part (every other annotated frame, so
  with first/middle/last the middle one is held out) — the seed's
  ``nn``/``ensemble`` split, with the halves swapped when the first does
  not show both the segment and its background (:func:`fit_split`);
* with a single mask there is no such frame, so a short synthetic clip is
  made from the annotated frame: the cut-out object moved and bent over its
  inpainted background (:func:`synthetic_clip`), on which members fitted on
  the original frame are scored.

The held-out frames cannot show how far propagation drifts over a whole
video, so the flow member and (with one annotated frame) GrabCut are not
stacked but get fixed votes after the stacker (:func:`vote`), flow's fading
with the distance to the nearest annotated frame.

The threshold is the one that maximises IoU on the held-out frames. At
inference the stacked probability of each frame is averaged with its
neighbours' (``+-k`` frames), each warped onto it with DIS optical flow and
weighted down where the warp does not match the image."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError, check_number
from keyframe.native import dis_motion
from keyframe.segment.base import check_choice, check_real, check_type, check_whole

log = logging.getLogger(__name__)

MODELS = ("logistic", "mlp")
EPS = 1e-3
# Fixed votes of flow and GrabCut on top of the stack, measured on DAVIS. With one given mask GrabCut's vote
# sharpens the edges of a UNet that has seen one view (car-turn, dance-jump, hike: +0.008 to +0.015 J&F); with
# several the UNet's own edges are better: without it 14 of 16 sequence runs (2 and 3 masks) scored as well or
# higher (mean J&F 0.870 -> 0.874 and 0.900 -> 0.903), and the members that only fed GrabCut need not run (bear,
# 3 masks: 0.105 s a frame after training, against 0.22 s).
ONE_MASK_VOTES = {"flow": 0.57, "grabcut": 0.15}
SEVERAL_MASKS_VOTES = {"flow": 0.57}


@dataclass
class EnsembleConfig:
    """Settings of the stacking ensemble.

    Attributes
    ----------
    model : ``"logistic"`` (default) or ``"mlp"`` (one hidden layer of ``hidden`` units).
    C : inverse regularisation strength of the logistic regression.
    hidden : hidden units of the MLP.
    image_features : add edge strength (and its product with the members' mean) to the inputs.
    keep_within : members whose held-out IoU is more than this below the best
        member's are left out of the stack.
    always_stack : members stacked whatever their held-out IoU. The pretrained
        UNet carries ImageNet features to views the annotated frames do not
        show; a held-out frame or a synthetic clip (one mask) is too close to
        the training frames to show that, and can rank a member trained from
        scratch above it. With one given mask only these are stacked, when
        any of them runs: the synthetic clip cannot rank the others.
    fallback_margin : the sequential members (flow, background subtraction)
        join the stack when the best frame-wise member's held-out IoU is more
        than this below theirs.
    extra_features : let the stacker use the columns after the member logits
        (the members' mean and spread, and the image features). Off by default:
        with the few held-out frames a video has, the extra columns overfit
        (measured on DAVIS); on, they help when many frames are annotated.
    max_side : resolution (longer side) at which stacking and smoothing run.
    samples : held-out pixels sampled per held-out frame (a third of them from the boundary band).
    synthetic : frames of the synthetic held-out clip made when only one frame is annotated.
    smooth : temporal window half-width ``k`` (0 = off).
    smooth_weight : total weight of the neighbours (the frame itself keeps ``1 - smooth_weight``).
    votes : fixed votes added after the stacker: ``{member: weight}``; the
        frame's probability becomes ``sigmoid(logit(stack) + sum(weight *
        logit(member)))``. These are the members the held-out frames cannot
        weigh: a propagating member (flow) tracks a held-out frame or a
        synthetic clip far better than a whole video, and GrabCut refines a
        consensus that includes it. A fixed vote lets such a member win only
        where it is confident and the stack is not. None (the default):
        :data:`ONE_MASK_VOTES` with one given mask, :data:`SEVERAL_MASKS_VOTES`
        with more (:meth:`votes_for`).
    vote_decay : the votes of propagating members fade with the distance to
        the nearest annotated frame, ``exp(-frames / vote_decay)``: close to
        a given mask propagation is nearly exact, far from it it drifts.
    guide_radius : the ensemble's masks are brought from the work size to the
        frame's with a colour guided filter (:mod:`keyframe.segment.guided`),
        so their edges follow the frame's; its window radius in pixels of the
        work size (0: bilinear upsampling instead).
    guide_eps : the guided filter's regularisation: smaller binds the mask's
        edges more tightly to the frame's colour edges.
    seed : seeds pixel sampling and the synthetic clip.
    """

    model: str = "logistic"
    C: float = 1.0
    hidden: int = 16
    image_features: bool = True
    extra_features: bool = False
    keep_within: float = 0.05
    always_stack: tuple[str, ...] = ("unet",)
    fallback_margin: float = 0.2
    max_side: int = 384
    samples: int = 8000
    synthetic: int = 4
    smooth: int = 1
    smooth_weight: float = 0.4
    votes: dict[str, float] | None = None
    vote_decay: float = 20.0
    guide_radius: int = 4
    guide_eps: float = 1e-4
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range.

        Examples
        --------
        >>> EnsembleConfig(smooth=-1)
        Traceback (most recent call last):
        ...
        keyframe.errors.KeyframeError: EnsembleConfig.smooth must be a whole number >= 0, got -1
        """
        check_choice(self, "model", MODELS)
        check_real(self, "C", inclusive=False)
        check_whole(self, "hidden", "max_side", "samples", "synthetic")
        check_whole(self, "smooth", "seed", "guide_radius", minimum=0)
        check_type(self, "image_features", bool)
        check_type(self, "extra_features", bool)
        check_real(self, "keep_within", "fallback_margin", "vote_decay")
        check_real(self, "guide_eps", inclusive=False)
        check_real(self, "smooth_weight", maximum=1.0)
        names = self.always_stack
        # ``name in always_stack`` on a lone string would match parts of names.
        if isinstance(names, (str, bytes)) or not isinstance(names, (tuple, list, set, frozenset)) \
                or not all(isinstance(n, str) for n in names):
            raise KeyframeError(f"EnsembleConfig.always_stack must be a tuple of member names, got {names!r}")
        if self.votes is not None:  # None: the default for the number of given masks (votes_for)
            check_type(self, "votes", dict)
            for name, weight in self.votes.items():
                if not isinstance(name, str):
                    raise KeyframeError(f"EnsembleConfig.votes: keys are member names, got {name!r}")
                check_number(f"EnsembleConfig.votes[{name!r}]", weight, inclusive=True)

    def votes_for(self, annotated: int) -> dict[str, float]:
        """The votes to use with ``annotated`` given masks: :attr:`votes`, or when that is None the default for
        that many.

        Examples
        --------
        >>> EnsembleConfig().votes_for(1), EnsembleConfig().votes_for(3)
        ({'flow': 0.57, 'grabcut': 0.15}, {'flow': 0.57})
        >>> EnsembleConfig(votes={}).votes_for(1)
        {}
        """
        if self.votes is not None:
            return dict(self.votes)
        return dict(ONE_MASK_VOTES if annotated <= 1 else SEVERAL_MASKS_VOTES)

    @classmethod
    def suggest(cls, trial) -> "EnsembleConfig":
        """A configuration drawn by an Optuna ``trial`` (the stacker's own settings only)."""
        model = trial.suggest_categorical("ens_model", list(MODELS))
        return cls(
            model=model,
            C=trial.suggest_float("ens_C", 0.01, 100.0, log=True) if model == "logistic" else 1.0,
            hidden=trial.suggest_categorical("ens_hidden", [8, 16, 32]) if model == "mlp" else 16,
            image_features=trial.suggest_categorical("ens_image_features", [True, False]),
            extra_features=trial.suggest_categorical("ens_extra_features", [True, False]),
        )


# --- features ----------------------------------------------------------------


def edge_strength(rgb: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the grey image, float32 scaled to about [0, 1]."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return np.clip(np.sqrt(gx * gx + gy * gy), 0, 1)


def stack_features(probs: np.ndarray, rgb: np.ndarray, image_features: bool = True) -> np.ndarray:
    """Per-pixel stacking inputs ``(H * W, F)`` from member probabilities ``(M, H, W)`` and the RGB frame.

    Columns: each member's logit, the members' mean probability and standard
    deviation, then (with ``image_features``) edge strength and edge strength
    times the centred mean.

    Examples
    --------
    >>> import numpy as np
    >>> stack_features(np.full((2, 4, 5), 0.5, np.float32), np.zeros((4, 5, 3), np.uint8)).shape
    (20, 6)
    """
    probs = np.clip(np.asarray(probs, np.float32), EPS, 1 - EPS)
    logits = logit(probs) / 4.0
    mean, spread = probs.mean(axis=0), probs.std(axis=0)
    columns = [*logits, mean, spread]
    if image_features:
        edges = edge_strength(rgb)
        columns += [edges, edges * (mean - 0.5)]
    return np.stack([c.reshape(-1) for c in columns], axis=1)


def feature_names(members: list[str], image_features: bool = True) -> list[str]:
    """Names of the columns :func:`stack_features` makes from the soft masks of ``members``, in order.

    Examples
    --------
    >>> feature_names(["flow", "unet"])
    ['flow', 'unet', 'members_mean', 'members_spread', 'edge_strength', 'edge_x_mean']
    """
    return [*members, "members_mean", "members_spread"] + (["edge_strength", "edge_x_mean"] if image_features else [])


def logit(prob: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` with ``p`` clipped to ``[EPS, 1 - EPS]`` (so at most about +-6.9)."""
    prob = np.clip(np.asarray(prob, np.float32), EPS, 1 - EPS)
    return np.log(prob / (1 - prob))


def vote(prob: np.ndarray, others: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """``prob`` moved by weighted votes of other soft masks, in logit space.

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(v), 2) for v in vote(np.array([0.6, 0.6]), [(0.57, np.array([0.0, 1.0]))])]
    [0.03, 0.99]
    """
    total = logit(prob)
    for weight, other in others:
        total = total + weight * logit(other)
    return (1.0 / (1.0 + np.exp(-total))).astype(np.float32)


def sample_pixels(truth: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of up to ``count`` pixels: a third from the band around the true boundary, the rest anywhere."""
    truth = np.asarray(truth, bool)
    flat = truth.size
    band = cv2.dilate(truth.astype(np.uint8), np.ones((7, 7), np.uint8)) != cv2.erode(truth.astype(np.uint8), np.ones((7, 7), np.uint8))
    band_idx = np.flatnonzero(band)
    n_band = min(len(band_idx), count // 3)
    picked = [rng.choice(band_idx, n_band, replace=False)] if n_band else []
    picked.append(rng.choice(flat, min(flat, count - n_band), replace=False))
    return np.concatenate(picked)


# --- the stacker ---------------------------------------------------------------


class Stacker:
    """Per-pixel classifier over :func:`stack_features`, with the IoU-optimal threshold.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(500) > 0.5
    >>> probs = np.stack([np.where(truth, 0.8, 0.2), rng.random(500)])[:, None, :]
    >>> x = stack_features(probs, np.zeros((1, 500, 3), np.uint8), image_features=False)
    >>> s = Stacker(EnsembleConfig(image_features=False)).fit(x, truth)
    >>> float(((s.predict_proba(x) > s.threshold) == truth).mean())
    1.0
    """

    def __init__(self, config: EnsembleConfig):
        self.config = config
        self.model = None
        self.threshold = 0.5

    def fit(self, features: np.ndarray, labels: np.ndarray, members: int | None = None) -> "Stacker":
        """Fit on held-out pixels; ``members`` = how many leading columns are member logits.

        A logistic model over correlated members often gives one of them a
        negative weight that the held-out frames happen to reward; such a
        member (and a negative weight on the members' mean) is dropped and the
        model refitted, so every member can only pull towards its own answer.
        """
        labels = np.asarray(labels, bool)
        self.columns = np.ones(features.shape[1], bool)
        if labels.all() or not labels.any():
            # One class only (e.g. a held-out frame where the object is absent):
            # fall back to the members' mean.
            self.model = None
            return self
        members = features.shape[1] - (4 if self.config.image_features else 2) if members is None else members
        self.columns[members:] = self.config.extra_features
        guarded = list(range(members + 1)) if self.config.extra_features else list(range(members))
        while True:
            self.model = self._new_model().fit(features[:, self.columns], labels)
            coef = getattr(self.model, "coef_", None)
            if coef is None:
                break
            weights = np.zeros(features.shape[1])
            weights[self.columns] = coef[0]
            negative = [c for c in guarded if self.columns[c] and weights[c] < 0]
            if not negative or self.columns[:members].sum() <= 1:
                break
            self.columns[min(negative, key=lambda c: weights[c])] = False
        self.threshold = best_threshold(self.predict_proba(features), labels)
        return self

    def _new_model(self):
        if self.config.model == "mlp":
            from sklearn.neural_network import MLPClassifier

            return MLPClassifier((self.config.hidden,), max_iter=300, early_stopping=False, random_state=self.config.seed)
        from sklearn.linear_model import LogisticRegression

        # No intercept: a weighted vote of the members' logits, so a stack of one
        # member decides exactly where that member does, and the held-out models'
        # bias (they saw fewer masks than the final ones) is not carried over.
        return LogisticRegression(C=self.config.C, max_iter=500, fit_intercept=False)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        if self.model is None:
            column = -4 if self.config.image_features else -2
            return features[:, column].astype(np.float32)
        return self.model.predict_proba(features[:, self.columns])[:, 1].astype(np.float32)

    def weights(self) -> list[float] | None:
        """Logistic coefficients per input column (0 for dropped ones), or None for other models."""
        coef = getattr(self.model, "coef_", None)
        if coef is None:
            return None
        weights = np.zeros(len(self.columns))
        weights[self.columns] = coef[0]
        return [round(float(v), 3) for v in weights]


def best_threshold(prob: np.ndarray, truth: np.ndarray, candidates: np.ndarray | None = None) -> float:
    """The threshold in ``candidates`` (default 0.4..0.6) with the highest IoU of ``prob > t`` against ``truth``.

    Examples
    --------
    >>> import numpy as np
    >>> best_threshold(np.array([0.1, 0.45, 0.6, 0.9]), np.array([False, True, True, True]))
    0.4
    """
    candidates = np.round(np.arange(0.4, 0.61, 0.05), 2) if candidates is None else candidates
    truth = np.asarray(truth, bool)
    scores = []
    for t in candidates:
        pred = prob > t
        union = np.count_nonzero(pred | truth)
        scores.append(1.0 if union == 0 else np.count_nonzero(pred & truth) / union)
    # Among equally good thresholds take the middle one: the safest margin both ways.
    best = np.flatnonzero(np.isclose(scores, max(scores)))
    return float(candidates[best[len(best) // 2]])


# --- held-out data ----------------------------------------------------------------


def holdout_split(indices: list[int]) -> tuple[list[int], list[int]]:
    """Split annotated frames into ``(fit, held_out)``: every other one is held out, the first never.

    With one annotated frame nothing can be held out (``held_out`` is empty).

    Examples
    --------
    >>> holdout_split([0, 40, 79])
    ([0, 79], [40])
    >>> holdout_split([0, 10, 20, 30])
    ([0, 20], [10, 30])
    >>> holdout_split([5])
    ([5], [])
    """
    ordered = sorted(indices)
    if len(ordered) == 3:
        return [ordered[0], ordered[2]], [ordered[1]]
    return ordered[0::2], ordered[1::2]


def shows_both(keyframes: dict[int, np.ndarray], indices: list[int]) -> bool:
    """Whether the boolean masks ``indices`` of ``keyframes`` hold both the segment and its background."""
    return any(keyframes[i].any() for i in indices) and not all(keyframes[i].all() for i in indices)


def fit_split(keyframes: dict[int, np.ndarray]) -> tuple[list[int], list[int]]:
    """:func:`holdout_split` of the annotated frames of one segment, such that the frames to fit on show both
    the segment and its background (what every member learns to tell apart).

    A segment that first shows in a later mask, or a close-up that the segment fills, can leave one half
    without either: then the other half is fitted on, and when neither half shows both (every mask is all
    segment or has none of it), the members are fitted on every mask and scored on them too.

    Examples
    --------
    >>> import numpy as np
    >>> some, none = np.array([True, False]), np.array([False, False])
    >>> fit_split({0: some, 5: none, 9: some})
    ([0, 9], [5])
    >>> fit_split({0: none, 11: some})
    ([11], [0])
    >>> fit_split({0: np.array([True, True]), 11: none})
    ([0, 11], [0, 11])
    """
    fit, held = holdout_split(list(keyframes))
    if not held or shows_both(keyframes, fit):
        return fit, held
    if shows_both(keyframes, held):
        return held, fit
    log.warning("no half of the given masks shows both the segment and its background: the held-out frames are "
                "the training frames, so the stacker may trust the members too much")
    return sorted(keyframes), sorted(keyframes)


def synthetic_clip(rgb: np.ndarray, mask: np.ndarray, count: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The annotated frame followed by ``count`` made-up later frames, with their masks.

    The object is cut out, the hole in the background filled by inpainting,
    and each step moves the object and the background *independently*: the
    object by a growing rotation, zoom, shift and a smooth elastic deformation,
    the background by a smaller pan; colours drift a little. A frame ``j``
    steps on thus differs from the original roughly as a real frame some way
    on might, with the errors that propagation makes at moving boundaries.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((40, 60, 3), np.uint8); m = np.zeros((40, 60), bool); m[10:30, 20:40] = True
    >>> frames, masks = synthetic_clip(img, m, 3)
    >>> len(frames), masks[3].shape, masks[3].dtype
    (4, (40, 60), dtype('bool'))
    """
    rng = np.random.default_rng(seed)
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    side = max(height, width)
    ys, xs = np.nonzero(mask)
    center = (float(xs.mean()), float(ys.mean())) if len(xs) else (width / 2, height / 2)
    background = fill_background(rgb, mask)
    object_step = rng.normal(0, 0.02 * side, 2)
    camera_step = rng.normal(0, 0.008 * side, 2)
    spin, grow = rng.normal(0, 3.0), rng.normal(0, 0.03)
    gain_step = rng.normal(0, 0.03, 3)
    # One smooth random displacement field, scaled up step by step (a bending, stretching object).
    smooth = max(3.0, side / 12)
    field = np.stack([cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), smooth) for _ in range(2)], -1)
    field /= max(float(np.abs(field).max()), 1e-6)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    alpha0 = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.7)
    frames, masks = [rgb], [mask]
    for j in range(1, count + 1):
        camera = np.float32([[1, 0, camera_step[0] * j], [0, 1, camera_step[1] * j]])
        scene = cv2.warpAffine(background, camera, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        motion = cv2.getRotationMatrix2D(center, spin * j, 1 + grow * j)
        motion[:, 2] += object_step * j
        bend = field * (0.012 * side * j)
        moved_rgb = cv2.warpAffine(rgb, motion, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        moved_alpha = cv2.warpAffine(alpha0, motion, (width, height), flags=cv2.INTER_LINEAR)
        map_x, map_y = grid_x + bend[..., 0], grid_y + bend[..., 1]
        moved_rgb = cv2.remap(moved_rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.remap(moved_alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        composed = scene.astype(np.float32) * (1 - alpha) + moved_rgb.astype(np.float32) * alpha
        drifted = composed * (1 + gain_step * j) + rng.normal(0, 2.0, composed.shape)
        frames.append(np.clip(drifted, 0, 255).astype(np.uint8))
        masks.append(alpha[..., 0] > 0.5)
    return frames, masks


def fill_background(rgb: np.ndarray, mask: np.ndarray, max_side: int = 320) -> np.ndarray:
    """``rgb`` with the (slightly grown) masked object inpainted; inpainting runs at a reduced size for speed."""
    height, width = mask.shape
    grow = max(3, round(max(height, width) / 100)) | 1
    hole = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, size, interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    filled = cv2.resize(cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.where(hole[..., None] > 0, filled, rgb)


# --- temporal smoothing -------------------------------------------------------------


def flow_align(prob: np.ndarray, grey_target: np.ndarray, grey_source: np.ndarray, flow: cv2.DISOpticalFlow) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``prob`` (of the source frame) onto the target frame; also return a per-pixel confidence in [0, 1].

    The confidence falls off with the photometric error of the warp, so
    occluded or badly tracked pixels count less. Frames too small for DIS are
    padded for it (:func:`~keyframe.native.dis_motion`).
    """
    motion = dis_motion(flow, grey_target, grey_source)
    height, width = motion.shape[:2]
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = gx + motion[..., 0], gy + motion[..., 1]
    warped = cv2.remap(prob, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped_grey = cv2.remap(grey_source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    error = np.abs(warped_grey.astype(np.float32) - grey_target.astype(np.float32))
    confidence = np.exp(-cv2.blur(error, (5, 5)) / 12.0)
    return warped, confidence


class TemporalSmoother:
    """Streaming flow-aligned average over ``+-k`` frames.

    Feed frames in order with :meth:`push`; it yields ``(index, smoothed)`` as
    soon as a frame's later neighbours have arrived; :meth:`flush` yields the
    rest at the end. Frames in ``anchors`` (annotated frames) are passed
    through unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> s = TemporalSmoother(k=1, weight=0.5)
    >>> g = np.zeros((8, 8), np.uint8); p = np.full((8, 8), 0.8, np.float32)
    >>> out = [i for i, _ in s.push(0, g, p)] + [i for i, _ in s.push(1, g, p)] + [i for i, _ in s.flush()]
    >>> out
    [0, 1]
    """

    def __init__(self, k: int = 1, weight: float = 0.4, anchors: frozenset[int] = frozenset()):
        self.k, self.weight, self.anchors = k, weight, anchors
        self.window: deque[tuple[int, np.ndarray, np.ndarray]] = deque()
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.next_out = 0  # position in the window of the next frame to emit

    def push(self, index: int, grey: np.ndarray, prob: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        self.window.append((index, grey, prob))
        # A frame is ready once its k later neighbours are in the window.
        yield from self._emit_ready(self.k)

    def flush(self) -> Iterator[tuple[int, np.ndarray]]:
        yield from self._emit_ready(0)

    def _emit_ready(self, lag: int) -> Iterator[tuple[int, np.ndarray]]:
        """Emit frames that have at least ``lag`` frames after them in the window."""
        while self.next_out < len(self.window) - lag:
            yield self._smoothed(self.next_out)
            self.next_out += 1
            # Keep only the k frames before the next one to emit.
            while self.next_out > self.k:
                self.window.popleft()
                self.next_out -= 1

    def _smoothed(self, position: int) -> tuple[int, np.ndarray]:
        index, grey, prob = self.window[position]
        if self.k == 0 or index in self.anchors:
            return index, prob
        total = np.full(prob.shape, 1.0 - self.weight, np.float32)
        acc = prob * total
        neighbours = [p for p in range(position - self.k, position + self.k + 1) if p != position and 0 <= p < len(self.window)]
        for p in neighbours:
            other_index, other_grey, other_prob = self.window[p]
            warped, confidence = flow_align(other_prob, grey, other_grey, self.flow)
            w = confidence * (self.weight / (2 * self.k)) / abs(other_index - index)
            acc += w * warped
            total += w
        return index, acc / total
