"""Background subtraction bootstrapped with the annotated masks (the seed's method).

The video is cut into runs that start at annotated frames; each run has its
own OpenCV MOG2 (or KNN) model, warmed up on the annotated frame with its
foreground replaced by noise. For every next frame the model first classifies
the frame (without learning), the result is cleaned, and only then the model
learns the frame with the foreground pixels replaced by noise: this feedback
loop keeps a foreground that stands still from fading into the background.

A moving camera is compensated by a homography between consecutive frames:
each frame is warped onto a padded canvas in the coordinates of the run's
annotated frame, and the model sees a mosaic that keeps the last appearance of
every canvas pixel, so parts of the scene that scroll out and back stay known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError
from keyframe.io.frames import BACKWARD_BLOCK, FrameSource, backward_frames
from keyframe.segment.base import Member, check_choice, check_real, check_type, check_whole, register_member, resize_prob, work_size
from keyframe.segment.members.flow import keyframe_spans
from keyframe.segment.members.morphology import CleanConfig, clean_mask, soft_from_binary

log = logging.getLogger(__name__)

STILL_CAMERA_PX = 0.25  # median corner motion below which a frame is taken as not moving
ALGORITHMS = ("mog2", "knn")
WARMUP_FILLS = ("noise", "inpaint")
HIDE_FILLS = ("background", "noise")


@dataclass
class BackSubConfig:
    """Settings of :class:`BackSubMember`.

    Attributes
    ----------
    algorithm : ``mog2`` or ``knn`` (OpenCV's subtractors).
    max_side : frames are processed with their longer side scaled to this.
    history : frames the model remembers (its learning rate is ``1 / history``).
    threshold : MOG2 ``varThreshold`` (squared Mahalanobis distance) or KNN
        ``dist2Threshold`` (squared colour distance); None = OpenCV's default.
    warmup : times the annotated frame is fed in before the run starts.
    warmup_fill : what replaces its foreground during the warm-up: ``noise``
        (the seed's way: the model learns nothing there, so background that
        the figure uncovers later reads as foreground until learned) or
        ``inpaint`` (a guess of the background from its surroundings).
    hide_fill : what replaces the foreground before the model learns a frame:
        ``background`` (the model's own background image, so hidden pixels keep
        what was learned there) or ``noise`` (the seed's way; on CDnet highway
        the model then learns noise where cars pass, and the foreground never
        clears: F 0.17 against 0.6-0.8).
    hide_grow : the foreground is grown by this many pixels before being
        replaced by noise, so its blurred edges are not learned either.
    stabilize : compensate camera motion with frame-to-frame homographies.
    pad : canvas margin on each side, as a fraction of the frame size.
    min_seen : canvas pixels seen in fewer frames are reported as background
        (the model has not learned them yet).
    bidirectional : between two annotated frames, the later half is covered by
        a run going backwards from the later annotated frame.
    softness : edge width in pixels of the soft output.
    seed : seed of the noise.
    """

    algorithm: str = "knn"
    max_side: int = 320
    history: int = 200
    threshold: float | None = None
    warmup: int = 20
    warmup_fill: str = "inpaint"
    hide_fill: str = "background"
    hide_grow: int = 3
    stabilize: bool = True
    pad: float = 0.25
    min_seen: int = 5
    bidirectional: bool = True
    softness: float = 2.0
    clean: CleanConfig = field(default_factory=CleanConfig)
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_choice(self, "algorithm", ALGORITHMS)
        check_whole(self, "max_side", "history")
        check_whole(self, "warmup", "hide_grow", "min_seen", "seed", minimum=0)
        if self.threshold is not None:
            check_real(self, "threshold", inclusive=False)
        check_choice(self, "warmup_fill", WARMUP_FILLS)
        check_choice(self, "hide_fill", HIDE_FILLS)
        check_real(self, "pad", "softness")
        check_type(self, "clean", CleanConfig)
        self.clean.check()


def make_subtractor(config: BackSubConfig) -> cv2.BackgroundSubtractor:
    """A fresh MOG2 or KNN model; shadows are detected so they can be counted as background."""
    if config.algorithm == "mog2":
        model = cv2.createBackgroundSubtractorMOG2(history=config.history, detectShadows=True)
        if config.threshold is not None:
            model.setVarThreshold(config.threshold)
    elif config.algorithm == "knn":
        model = cv2.createBackgroundSubtractorKNN(history=config.history, detectShadows=True)
        if config.threshold is not None:
            model.setDist2Threshold(config.threshold)
    else:
        raise KeyframeError(f"unknown background subtractor {config.algorithm!r}; choose mog2 or knn")
    return model


def hide(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` with the pixels under ``mask`` replaced by uniform colour noise."""
    out = image.copy()
    out[mask] = rng.integers(0, 256, (int(np.count_nonzero(mask)), image.shape[2]), dtype=np.uint8)
    return out


class Stabilizer:
    """Maps frames of one run onto a padded canvas in the coordinates of its first frame.

    Examples
    --------
    >>> stab = Stabilizer((180, 320), pad=0.25)  # doctest: +SKIP
    >>> stab.canvas_size  # doctest: +SKIP
    (270, 480)
    """

    def __init__(self, size: tuple[int, int], pad: float):
        height, width = size
        self.size = size
        self.offset = (round(pad * width), round(pad * height))
        self.canvas_size = (height + 2 * self.offset[1], width + 2 * self.offset[0])
        # Frame-to-canvas transform; starts as the padding shift.
        self.to_canvas = np.array([[1, 0, self.offset[0]], [0, 1, self.offset[1]], [0, 0, 1]], np.float64)
        self.previous: np.ndarray | None = None

    def update(self, gray: np.ndarray, foreground: np.ndarray | None) -> np.ndarray:
        """Chain this frame's homography to the previous frame; returns frame-to-canvas."""
        if self.previous is not None:
            step = frame_homography(gray, self.previous, foreground)
            self.to_canvas = self.to_canvas @ step
        self.previous = gray
        return self.to_canvas

    def to_canvas_image(self, image: np.ndarray, nearest: bool = False) -> np.ndarray:
        height, width = self.canvas_size
        flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.warpPerspective(image, self.to_canvas, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)

    def to_frame_image(self, image: np.ndarray) -> np.ndarray:
        height, width = self.size
        flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
        return cv2.warpPerspective(image, self.to_canvas, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)


def frame_homography(gray: np.ndarray, previous: np.ndarray, foreground: np.ndarray | None) -> np.ndarray:
    """Homography from ``gray`` to ``previous``, from corners tracked outside the foreground.

    Identity when too few corners can be tracked (a blank or cut frame).
    """
    exclude = None
    if foreground is not None:
        exclude = (cv2.dilate(foreground.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0).astype(np.uint8)
    corners = cv2.goodFeaturesToTrack(previous, maxCorners=400, qualityLevel=0.01, minDistance=6, mask=exclude)
    if corners is None or len(corners) < 12:
        return np.eye(3)
    tracked, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, corners, None, winSize=(21, 21), maxLevel=3)
    good = status.ravel() == 1
    if good.sum() < 12:
        return np.eye(3)
    # A fixed camera still yields tiny, noisy homographies; chained over a run
    # they drift the canvas and the model never settles (CDnet highway: F 0.52
    # against 0.91 without compensation), so sub-pixel steps count as no motion.
    if np.median(np.linalg.norm((tracked - corners)[good].reshape(-1, 2), axis=1)) < STILL_CAMERA_PX:
        return np.eye(3)
    homography, inliers = cv2.findHomography(tracked[good], corners[good], cv2.RANSAC, 2.0)
    if homography is None or inliers.sum() < 10:
        return np.eye(3)
    return homography




class Run:
    """One background model following frames away from an annotated frame (forwards or backwards)."""

    def __init__(self, config: BackSubConfig, rgb: np.ndarray, mask: np.ndarray):
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.model = make_subtractor(config)
        self.stab = Stabilizer(mask.shape, config.pad) if config.stabilize else None
        self.mask = mask
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        canvas = self._enter(rgb, gray)
        hidden = self._to_canvas(self._grown(mask))
        if config.warmup_fill == "inpaint":
            canvas = cv2.inpaint(canvas, hidden.astype(np.uint8), 5, cv2.INPAINT_TELEA)
            hidden = np.zeros_like(hidden)
        for _ in range(config.warmup):
            self.model.apply(hide(canvas, hidden, self.rng), learningRate=-1)

    def step(self, rgb: np.ndarray) -> np.ndarray:
        """Binary foreground of the next frame of the run; the model then learns the frame."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        canvas = self._enter(rgb, gray)
        # Classify first, without learning, so the decision uses the model as it was.
        raw = self.model.apply(canvas, learningRate=0) == 255
        if self.stab is not None:
            raw = self.stab.to_frame_image(raw.astype(np.uint8)) > 0
            raw &= self.stab.to_frame_image(self.seen) >= self.config.min_seen
        mask = clean_mask(raw, self.config.clean)
        # Hide both the previous and the new foreground: either may be a standing figure.
        hidden = self._to_canvas(self._grown(mask | self.mask))
        if self.config.hide_fill == "background":
            learned = canvas.copy()
            learned[hidden] = self.model.getBackgroundImage()[hidden]
        else:
            learned = hide(canvas, hidden, self.rng)
        self.model.apply(learned, learningRate=-1)
        self.mask = mask
        return mask

    def _enter(self, rgb: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """The image the model sees for this frame: the frame itself, or the stabilised mosaic."""
        if self.stab is None:
            return rgb
        self.stab.update(gray, self.mask)
        warped = self.stab.to_canvas_image(rgb)
        valid = self.stab.to_canvas_image(np.ones(gray.shape, np.uint8), nearest=True) > 0
        if not hasattr(self, "mosaic"):
            self.mosaic = self.rng.integers(0, 256, warped.shape, dtype=np.uint8)
            self.seen = np.zeros(valid.shape, np.uint8)
        self.mosaic[valid] = warped[valid]
        self.seen[valid] = np.minimum(self.seen[valid], 254) + 1
        return self.mosaic

    def _to_canvas(self, mask: np.ndarray) -> np.ndarray:
        if self.stab is None:
            return mask
        return self.stab.to_canvas_image(mask.astype(np.uint8), nearest=True) > 0

    def _grown(self, mask: np.ndarray) -> np.ndarray:
        grow = self.config.hide_grow
        if grow <= 0:
            return mask
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        return cv2.dilate(mask.astype(np.uint8), kernel) > 0


@register_member
class BackSubMember(Member):
    """Background subtraction with the feedback loop, bootstrapped by the annotated masks.

    Examples
    --------
    >>> member = BackSubMember(BackSubConfig(algorithm="knn")).fit(source, {0: mask0})  # doctest: +SKIP
    >>> probs = dict(member.predict(source, 0, 50))  # doctest: +SKIP
    """

    name = "backsub"
    config_type = BackSubConfig

    def __init__(self, config: BackSubConfig | None = None):
        self.config = config or BackSubConfig()
        self.keyframes: dict[int, np.ndarray] = {}

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "BackSubMember":
        if not keyframes:
            raise KeyframeError("background subtraction needs at least one annotated frame")
        make_subtractor(self.config)  # reject an unknown algorithm before any work
        if self.config.warmup_fill not in WARMUP_FILLS:
            raise KeyframeError(f"unknown warm-up fill {self.config.warmup_fill!r}; choose one of {', '.join(WARMUP_FILLS)}")
        self.size = work_size(*source.size, self.config.max_side)
        self.keyframes = {i: resize_prob(np.asarray(m, np.float32), *self.size) >= 0.5 for i, m in keyframes.items()}
        return self

    def predict(self, source: FrameSource, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        stop = len(source) if stop is None else min(stop, len(source))
        height, width = source.size
        for run_start, first, end in self._runs(len(source)):
            lo, hi = max(first, start), min(end, stop)
            if lo >= hi:
                continue
            for index, mask in self._run(source, run_start, end, lo, hi):
                yield index, resize_prob(soft_from_binary(mask, self.config.softness), height, width)

    def _runs(self, length: int) -> list[tuple[int, int, int]]:
        """``(annotated frame, first, end)`` per run, covering frames ``first..end-1`` in order."""
        runs = []
        for before, after, first, end in keyframe_spans(self.keyframes, length):
            if before is None:
                runs.append((after, first, end))
            elif after is None or not self.config.bidirectional:
                runs.append((before, first, end))
            else:
                middle = (before + after) // 2 + 1
                runs.append((before, first, middle))
                runs.append((after, middle, end))
        return runs

    def _run(self, source: FrameSource, key: int, end: int, lo: int, hi: int) -> Iterator[tuple[int, np.ndarray]]:
        """Masks of frames ``lo..hi-1``, in order, from the run that starts at annotated frame ``key``: a run forwards
        streams its frames (after the last mask nothing is kept per frame); one backwards (``key`` at or past
        ``end``) reads the small frames from ``key`` down to ``lo`` a block at a time and keeps their masks."""
        size = (self.size[1], self.size[0])

        def small(frame) -> np.ndarray:
            return cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA)

        log.debug("backsub: run from %d covers %d..%d", key, lo, hi - 1)
        if key < end:
            frames = source.iter_frames(key, hi)
            run = Run(self.config, small(next(frames)), self.keyframes[key])
            if lo == key:
                yield key, self.keyframes[key]
            for frame in frames:
                mask = run.step(small(frame))
                if frame.index >= lo:
                    yield frame.index, mask
            return
        images = backward_frames(source, lo, key + 1, small, block=BACKWARD_BLOCK)
        run = Run(self.config, next(images)[1], self.keyframes[key])
        # Made last first, given first last: kept packed 8 pixels a byte, a long stretch's masks take little room.
        packed = [np.packbits(run.step(image)) for _, image in images][::-1]  # frames lo..key-1
        shape = self.keyframes[key].shape
        for offset, bits in enumerate(packed[: hi - lo]):
            yield lo + offset, np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape).astype(bool)
