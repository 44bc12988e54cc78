"""Per-frame features the movement predictor works on: ``pixels``, ``cnn``, ``pose`` or ``gesture``.

* ``pixels``: the frame in grey, cropped to the square around the moving
  region and shrunk to ``size x size`` (values in ``[0, 1]``).
* ``cnn``: the pooled EfficientNet-Lite0 embedding (1280 values) of the same
  square crop in colour, the seed's transfer learning.
* ``pose``: MediaPipe's 33 body landmarks in 3D, centred on the hips, scaled
  by the torso and turned to face the same way in every frame, so the camera's
  azimuth drops out (an optional extra: :data:`keyframe.native.MEDIAPIPE_INSTALL`).
* ``gesture``: the same landmarks less their mean over the seconds around
  each frame and divided by their spread there (:func:`local_standardise`):
  the shape of the movement, without the posture it is made in or its width.

By default (``crop_seconds=5``) each frame is cut to the square around the
motion within 5 seconds of it (:func:`moving_regions`): the crop follows the
performer, the features of a range depend only on the frames within that span
of it, and a stretch scores about the same alone as inside a longer video.
With ``crop_seconds=None`` every frame of a clip is cut to one square, found
over the whole clip from frame differences (:func:`moving_region`) and passed
along explicitly, so the features of any frame range are a pure function of
(frames, region).

Examples
--------
>>> import numpy as np
>>> frames = np.zeros((4, 60, 80, 3), np.uint8); frames[:, 20:40, 30:50] = 200
>>> extractor = FeatureExtractor(FeatureConfig("pixels", size=16))
>>> extractor.extract(ArrayFrames(frames)).features.shape
(4, 256)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from typing import Iterator, NamedTuple

import cv2
import numpy as np
import torch

from keyframe.errors import KeyframeError, fail
from keyframe.io.frames import ARRAY_NAME, ArrayFrames
from keyframe.motion.windows import check_length
from keyframe.native import MEDIAPIPE_INSTALL, QuietSolution, import_mediapipe
from keyframe.progress import report

log = logging.getLogger(__name__)

KINDS = ("pixels", "cnn", "pose", "gesture")
LANDMARK_KINDS = ("pose", "gesture")  # read MediaPipe's landmarks
CROPPED_KINDS = ("pixels", "cnn")  # cut to what moves (see FeatureConfig.crop)
POSE_INSTALL = f"install mediapipe for --features pose or gesture: {MEDIAPIPE_INSTALL}"
# What MediaPipe's pose model needs to find a body (seen on rendered and filmed clips), for the messages.
PERSON_SIZE = "~100 pixels tall"
ANALYSIS_SIDE = 128  # longer side of the grey frames the moving region is found on
POSE_POINTS = 33  # MediaPipe's body landmarks
POSE_FRAMES = ("body", "image")
DEFAULT_FPS = 25.0  # for frames that come without a frame rate, as everywhere in keyframe
# Smallest landmark spread (torso lengths) a gesture is divided by: about MediaPipe's jitter on a person standing
# still, which should stay small rather than be blown up into a movement (gestures spread 0.015-0.6).
GESTURE_FLOOR = 0.01
# A crop that follows the motion within 5 s keeps the ranking of one crop per clip on the benchmark's takes and most of
# a stretch's score inside a longer video; 2 s ranks worse (docs/benchmarks.md, "The crop").
DEFAULT_CROP_SECONDS = 5.0
LANDMARK_WARM_UP = 30  # frames read before a range of landmarks (see landmark_views)
LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER = 23, 24, 11, 12


@dataclass(frozen=True)
class FeatureConfig:
    """Which features, and how they are made.

    Attributes
    ----------
    kind : ``"pixels"``, ``"cnn"``, ``"pose"`` or ``"gesture"``.
    size : side of the grey square for ``pixels``.
    crop : crop to the moving region (else the whole frame, padded to a square).
    crop_seconds : each frame is cut to the square around what moves within this many seconds of it (see
        :func:`moving_regions`); None: every frame of a clip to one square, found over the whole clip (models of
        format 8 and before).
    cnn_size : side of the colour square the backbone sees for ``cnn``.
    backbone : backbone name for ``cnn`` (see :func:`keyframe.nets.available_backbones`).
    batch : frames per backbone batch.
    pose_frame : for ``pose`` and ``gesture``, ``"body"`` (MediaPipe's 3D world landmarks, turned so the hips face the
        same way: see :func:`body_pose_features`) or ``"image"`` (landmarks in the image plane, as models of
        format 5 and before: see :func:`pose_features`).
    gesture_seconds : for ``gesture``, how far on each side of a frame the landmarks' mean and spread are taken.
    """

    kind: str = "pixels"
    size: int = 16
    crop: bool = True
    crop_seconds: float | None = DEFAULT_CROP_SECONDS
    cnn_size: int = 128
    backbone: str = "efficientnet_lite0"
    batch: int = 32
    pose_frame: str = "body"
    gesture_seconds: float = 2.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise KeyframeError(f"--features must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.pose_frame not in POSE_FRAMES:
            raise KeyframeError(f"--pose-frame must be one of {', '.join(POSE_FRAMES)}, got {self.pose_frame!r}")
        if not 8 <= self.size <= 256:
            raise KeyframeError(f"the pixel feature size must be between 8 and 256, got {self.size}")
        if self.crop_seconds is not None and not 0.2 <= self.crop_seconds <= 30:
            raise KeyframeError("--crop-seconds must be between 0.2 and 30 seconds, or 0 for one crop per clip (None in "
                                f"FeatureConfig), got {self.crop_seconds}")
        if not 0.2 <= self.gesture_seconds <= 30:
            raise KeyframeError(f"the gesture's span must be between 0.2 and 30 seconds, got {self.gesture_seconds}")
        if not 32 <= self.cnn_size <= 512:
            raise KeyframeError(f"the cnn input size must be between 32 and 512, got {self.cnn_size}")

    @property
    def landmarks(self) -> bool:
        """Whether these features are made from MediaPipe's pose landmarks."""
        return self.kind in LANDMARK_KINDS

    @property
    def signal(self) -> str:
        """What the features are a view of: ``"landmarks"`` for ``pose`` and ``gesture``, else the kind itself."""
        return "landmarks" if self.landmarks else self.kind

    def to_dict(self) -> dict:
        return asdict(self)


class Region(NamedTuple):
    """A square ``side`` pixels wide with its top-left corner at ``(x, y)`` in frame pixels (may overhang)."""

    x: float
    y: float
    side: float


def as_source(frames, fps: float | None = None):
    """A frame source from a path (folder or video), an existing source, or an ``(N, H, W, 3)`` array (at ``fps``)."""
    if isinstance(frames, np.ndarray):
        return ArrayFrames(frames, fps)
    from keyframe.io import open_frames

    return open_frames(frames)


@dataclass(frozen=True)
class Stretch:
    """Frames ``start:stop`` of ``clip`` (a path, frame source or array) to learn from, read inside the whole clip:
    the crops that follow the motion and the gestures near the stretch's ends are found with the frames around
    it, as detection over the whole clip finds them (frames cut out first would lose those).

    Examples
    --------
    >>> Stretch("gym.mp4", 100, 200).bounds(393, "gym.mp4")
    (100, 200)
    >>> Stretch("gym.mp4", 300).bounds(250, "gym.mp4")
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: gym.mp4: has 250 frames; no stretch from frame 300 to 250
    """

    clip: object
    start: int = 0
    stop: int | None = None

    def bounds(self, frames: int, path: str) -> tuple[int, int]:
        """``(start, stop)`` in a clip of ``frames`` frames (``stop`` None: its end), refused when not inside it."""
        stop = frames if self.stop is None else self.stop
        if not 0 <= self.start < stop <= frames:
            raise fail(path, f"has {frames} frames; no stretch from frame {self.start} to {stop}")
        return self.start, stop

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop is None


def source_name(source, name: str = ARRAY_NAME) -> str:
    """What messages call ``source``: its path, or ``name`` for frames in memory, which have none of their own."""
    path = str(getattr(source, "path", name))
    return name if path == ARRAY_NAME else path


def windowed_source(clip, length: int, name: str = ARRAY_NAME):
    """``clip`` as a frame source (:func:`as_source`) and the name errors give it (its path; ``name`` for frames
    in memory, which have none of their own), refused when it has no frames or too few for one window of ``length``."""
    source = as_source(clip)
    path = source_name(source, name)
    if len(source) == 0:
        raise fail(path, "has no frames")
    check_length(len(source), length, path)
    return source, path


def _grey_small(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    factor = min(1.0, ANALYSIS_SIDE / max(height, width))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if factor < 1.0:
        grey = cv2.resize(grey, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
    return grey, factor


def motion_profiles(source, start: int = 0, stop: int | None = None, threshold: int = 12) -> tuple[np.ndarray, np.ndarray, float]:
    """Where the picture changes in each frame of ``start:stop``: per frame, the column and the row counts of
    the pixels whose grey level moved by more than ``threshold`` since the frame before.

    Frames are looked at with their longer side at most ``ANALYSIS_SIDE`` (returned: the factor from frame
    pixels to those); the frame before ``start`` is read as well, so a frame's profiles do not depend on
    where the range begins (the video's first frame has none).

    Examples
    --------
    >>> frames = np.zeros((3, 20, 40, 3), np.uint8); frames[2, 5:10, 0:4] = 255
    >>> columns, rows, factor = motion_profiles(ArrayFrames(frames))
    >>> columns.shape, rows.shape, columns[2, :5].tolist(), factor
    ((3, 40), (3, 20), [5.0, 5.0, 5.0, 5.0, 0.0], 1.0)
    """
    stop = len(source) if stop is None else min(stop, len(source))
    first = max(0, start - 1)
    columns, rows = [], []
    previous = None
    factor = 1.0
    for frame in source.iter_frames(first, stop):
        grey, factor = _grey_small(frame.rgb)
        moving = np.zeros(grey.shape, np.float32) if previous is None else (cv2.absdiff(grey, previous) > threshold).astype(np.float32)
        columns.append(moving.sum(axis=0))
        rows.append(moving.sum(axis=1))
        previous = grey
    skip = start - first
    return np.array(columns[skip:], np.float32), np.array(rows[skip:], np.float32), factor


def moving_region(source, start: int = 0, stop: int | None = None) -> Region:
    """The square around what moves in frames ``start:stop``, from consecutive-frame differences.

    Pixels whose grey level changes by more than 12 levels between frames
    count as moving (:func:`motion_profiles`); the box keeps all but 2% of that
    motion on each side, grows by 15% and is squared. A clip without motion
    gives the whole frame (squared around its centre).

    Examples
    --------
    >>> frames = np.zeros((3, 100, 200, 3), np.uint8)
    >>> frames[1, 40:60, 20:40] = 255; frames[2, 40:60, 30:50] = 255
    >>> [round(v) for v in moving_region(ArrayFrames(frames))]
    [16, 32, 36]
    """
    source = as_source(source)  # a path or an array as well, as the other motion functions take them
    columns, rows, factor = motion_profiles(source, start, stop)
    return _square_around(columns.sum(axis=0), rows.sum(axis=0), factor, source.size)


def moving_regions(source, start: int = 0, stop: int | None = None, half: int = 50) -> np.ndarray:
    """Each frame's crop in ``start:stop``: :func:`moving_region` of the frames within ``half`` of it, ``(N, 3)``
    rows of ``x, y, side``.

    The crop follows the performer, and a frame's crop depends only on the frames around it (cut short at the
    video's ends, not at the range's): a range read alone gets the crops of a read of the whole video, and a
    stretch cut out of a longer video those it has inside it, away from its ends.

    Examples
    --------
    >>> frames = np.zeros((40, 100, 200, 3), np.uint8)
    >>> for t in range(40):                               # a square shaking on the left, then on the right
    ...     x = 5 * (t % 2) + (0 if t < 20 else 150)
    ...     frames[t, 40:60, x : x + 20] = 255
    >>> crops = moving_regions(ArrayFrames(frames), half=5)
    >>> bool(crops[3, 0] < 50 < 120 < crops[36, 0])       # the crop follows it
    True
    >>> np.allclose(moving_regions(ArrayFrames(frames), 30, 40, half=5), crops[30:40])   # a range alone: the same
    True
    """
    source = as_source(source)
    stop = len(source) if stop is None else min(stop, len(source))
    if half < 0 or not 0 <= start <= stop:
        raise ValueError(f"moving_regions: no range {start}:{stop} of {len(source)} frames with half {half}")
    first, last = max(0, start - half), min(len(source), stop + half)
    columns, rows, factor = motion_profiles(source, first, last)
    column_sums = np.concatenate([np.zeros((1, columns.shape[1]), np.float64), np.cumsum(columns, axis=0, dtype=np.float64)])
    row_sums = np.concatenate([np.zeros((1, rows.shape[1]), np.float64), np.cumsum(rows, axis=0, dtype=np.float64)])
    crops = np.empty((stop - start, 3), np.float64)
    for index, frame in enumerate(range(start, stop)):
        low, high = max(first, frame - half) - first, min(last, frame + half + 1) - first
        crops[index] = _square_around(column_sums[high] - column_sums[low], row_sums[high] - row_sums[low], factor, source.size)
    return crops


def _square_around(columns: np.ndarray, rows: np.ndarray, factor: float, size: tuple[int, int], mass: float = 0.02) -> Region:
    """The square around the motion whose column and row counts (at ``factor`` of the frame's pixels) are given:
    all but ``mass`` of it on each side, grown by 15%; the whole frame, squared, where almost nothing moves."""
    height, width = size
    if columns.sum() < 4:
        side = max(height, width)
        return Region((width - side) / 2, (height - side) / 2, float(side))

    def bounds(profile: np.ndarray) -> tuple[float, float]:
        cumulative = np.cumsum(profile) / profile.sum()
        low = int(np.searchsorted(cumulative, mass))
        high = int(np.searchsorted(cumulative, 1 - mass))
        return low / factor, (high + 1) / factor

    x0, x1 = bounds(columns)
    y0, y1 = bounds(rows)
    side = max(x1 - x0, y1 - y0) * 1.15
    side = max(side, 0.1 * max(height, width))
    return Region((x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2, float(side))


def crop_square(image: np.ndarray, region: Region, out_side: int) -> np.ndarray:
    """``image`` cut to ``region`` (edges replicated where it overhangs) and resized to ``out_side`` square."""
    height, width = image.shape[:2]
    x0, y0 = int(round(region.x)), int(round(region.y))
    side = max(1, int(round(region.side)))
    pad_left, pad_top = max(0, -x0), max(0, -y0)
    pad_right, pad_bottom = max(0, x0 + side - width), max(0, y0 + side - height)
    crop = image[max(0, y0) : min(height, y0 + side), max(0, x0) : min(width, x0 + side)]
    if pad_left or pad_top or pad_right or pad_bottom:
        crop = cv2.copyMakeBorder(crop, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    interpolation = cv2.INTER_AREA if side > out_side else cv2.INTER_LINEAR
    return cv2.resize(crop, (out_side, out_side), interpolation=interpolation)


class Extracted(NamedTuple):
    """Features ``(N, D)`` float32 of a frame range, and the one region they were cut from (None where each
    frame was cut to the motion around it)."""

    features: np.ndarray
    region: Region | None


class FeatureExtractor:
    """Turns frames into feature vectors according to a :class:`FeatureConfig`.

    Examples
    --------
    >>> extractor = FeatureExtractor(FeatureConfig("pixels", size=32))
    >>> extractor.dim, extractor.image_shape
    (1024, (1, 32, 32))
    """

    def __init__(self, config: FeatureConfig = FeatureConfig()):
        self.config = config
        self._backbone = None
        self._pose = QuietSolution(_pose_tracker)
        if config.landmarks:
            import_mediapipe(POSE_INSTALL)

    @property
    def dim(self) -> int:
        """Length of one frame's feature vector."""
        if self.config.kind == "pixels":
            return self.config.size**2
        if self.config.kind == "cnn":
            return int(self._get_backbone().embedding_dim)
        return POSE_POINTS * 3

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(1, size, size)`` when a feature vector is a grey image (SSIM applies), else None."""
        return (1, self.config.size, self.config.size) if self.config.kind == "pixels" else None

    def _get_backbone(self):
        if self._backbone is None:
            from keyframe.nets import get_backbone

            self._backbone = get_backbone(self.config.backbone)
        return self._backbone

    @property
    def crops_to_motion(self) -> bool:
        """Whether :meth:`region_for` is the moving region of the whole range (a pass over its frames), the one
        crop of every frame (see :attr:`crops_locally` for the other way)."""
        return self.config.crop and self.config.kind in CROPPED_KINDS and self.config.crop_seconds is None

    @property
    def crops_locally(self) -> bool:
        """Whether each frame is cut to the motion around it (:func:`moving_regions`), found as it is read."""
        return self.config.crop and self.config.kind in CROPPED_KINDS and self.config.crop_seconds is not None

    def crop_half(self, fps: float | None) -> int:
        """Frames on each side of a frame that its crop is found from, at ``fps`` (see :attr:`crops_locally`)."""
        return _frames_within(self.config.crop_seconds or 0.0, fps)

    def region_for(self, source, start: int = 0, stop: int | None = None) -> Region | None:
        """The one crop region of frames ``start:stop`` of ``source`` (the whole frame, squared, without crop);
        None where every frame gets its own (:attr:`crops_locally`)."""
        if self.crops_locally:
            return None
        if self.crops_to_motion:
            return moving_region(source, start, stop)
        height, width = source.size
        side = max(height, width)
        return Region((width - side) / 2, (height - side) / 2, float(side))

    def extract(self, source, start: int = 0, stop: int | None = None, region: Region | None = None, progress=None) -> Extracted:
        """Features of frames ``start:stop`` of ``source`` (a path, frame source or uint8 array, as
        :func:`as_source` takes them).

        ``region`` defaults to :meth:`region_for` the same range; where that is None, each frame is cut to
        the motion around it (:func:`moving_regions`). Landmark kinds and those crops read frames beyond the
        range as well (see :func:`landmark_views`).
        """
        # A path given as is would be taken for a sequence of its characters (its len()), as detect takes it.
        source = as_source(source)
        stop = _range_stop(source, start, stop)
        if region is None and self.crops_locally:  # crops found as extract_views finds them for several kinds
            return Extracted(extract_views([self], source, start, stop, progress=progress)[0], None)
        region = self.region_for(source, start, stop) if region is None else region
        if self.config.landmarks:
            return Extracted(landmark_views([self.config], source, start, stop, progress)[0], region)
        return Extracted(self._read(source, start, stop, np.tile(np.asarray(region, np.float64), (stop - start, 1)), progress), region)

    def _read(self, source, start: int, stop: int, crops: np.ndarray | None, progress=None) -> np.ndarray:
        """Features of frames ``start:stop``, each frame cut to its row of ``crops`` (``x, y, side``; None for landmarks)."""
        total = stop - start
        out = []
        done = 0
        if self.config.landmarks:
            # The landmark tracker follows the body from frame to frame: start it afresh for every range, so the
            # features of a range do not depend on what was read before.
            self._pose.close()
        for batch in _batches(source.iter_frames(start, stop), self.config.batch):
            regions = None if crops is None else [Region(*crop) for crop in crops[done : done + len(batch)]]
            out.append(self._features(batch, regions))
            done += len(batch)
            report(progress, done, total, "features")
        features = np.concatenate(out).astype(np.float32)
        if self.config.landmarks:
            # Landmarks per frame so far; missing bodies are filled over the whole range at once.
            features = body_pose_features(features) if self.config.pose_frame == "body" else pose_features(features)
            self._pose.close()
        if len(features) != total:
            raise fail(getattr(source, "path", "clip"), f"gave {len(features)} frames where {total} were expected")
        return features

    def _features(self, frames: list[np.ndarray], regions: list[Region] | None) -> np.ndarray:
        kind = self.config.kind
        if kind == "pixels":
            size = self.config.size
            greys = [crop_square(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), region, size) for rgb, region in zip(frames, regions)]
            return np.stack(greys).reshape(len(frames), -1).astype(np.float32) / 255.0
        if kind == "cnn":
            from keyframe.nets import images_to_tensor

            crops = np.stack([crop_square(rgb, region, self.config.cnn_size) for rgb, region in zip(frames, regions)])
            with torch.inference_mode():
                return self._get_backbone().embed(images_to_tensor(crops)).numpy()
        return self._pose_points(frames)

    def _pose_points(self, frames: list[np.ndarray]) -> np.ndarray:
        """MediaPipe's 33 landmarks per frame ``(N, 33, 3)``; NaN where no body was found.

        In the ``body`` frame, its world landmarks (metres, origin between the hips); in the ``image`` frame,
        its image landmarks in pixels.
        """
        out = np.full((len(frames), POSE_POINTS, 3), np.nan, np.float32)
        world = self.config.pose_frame == "body"
        for index, rgb in enumerate(frames):
            height, width = rgb.shape[:2]
            result = self._pose.process(np.ascontiguousarray(rgb))
            if world and result.pose_world_landmarks is not None:
                out[index] = [[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark]
            elif not world and result.pose_landmarks is not None:
                points = np.array([[p.x, p.y, p.z] for p in result.pose_landmarks.landmark], np.float32)
                # x, y are fractions of the width and height, z is on the scale of x: all to pixels.
                out[index] = points * np.array([width, height, width], np.float32)
        return out


def local_standardise(features: np.ndarray, half: int, scale: float = 0.1, floor: float = GESTURE_FLOOR) -> np.ndarray:
    """Each frame's features less their mean over the frames within ``half`` of it, divided by their spread there.

    The spread is one number per frame (the root of the coordinates' mean variance, at least
    ``floor``), so the features keep their proportions; the result is multiplied by ``scale``. What is left is
    the shape of the movement: the posture it is made in and how wide it is drop out
    (near the ends of the range the neighbourhood is cut short).

    Examples
    --------
    >>> low = np.sin(np.arange(200) / 5.0)[:, None] * [1.0, 0.5]          # a small wave at one height...
    >>> high = 10.0 + 3.0 * low                                          # ...and a wide one higher up
    >>> np.allclose(local_standardise(low, 30), local_standardise(high, 30))
    True
    """
    features = np.asarray(features, np.float64)
    count = len(features)
    sums = np.concatenate([np.zeros((1, features.shape[1])), np.cumsum(features, axis=0)])
    squares = np.concatenate([np.zeros((1, features.shape[1])), np.cumsum(features**2, axis=0)])
    first = np.clip(np.arange(count) - half, 0, count)
    last = np.clip(np.arange(count) + half + 1, 0, count)
    size = (last - first)[:, None]
    mean = (sums[last] - sums[first]) / size
    variance = np.maximum((squares[last] - squares[first]) / size - mean**2, 0.0)
    spread = np.sqrt(variance.mean(axis=1, keepdims=True))
    return ((features - mean) / np.maximum(spread, floor) * scale).astype(np.float32)


def gesture_half(config: FeatureConfig, fps: float | None) -> int:
    """Frames on each side of a frame that its ``gesture`` features are standardised over, at ``fps``.

    Examples
    --------
    >>> gesture_half(FeatureConfig("gesture"), 30.0), gesture_half(FeatureConfig("gesture"), None)
    (60, 50)
    """
    return _frames_within(config.gesture_seconds, fps)


def _frames_within(seconds: float, fps: float | None) -> int:
    """Frames in ``seconds`` at ``fps`` (``DEFAULT_FPS`` when the frames have no rate), at least one."""
    return max(1, round(seconds * float(fps or DEFAULT_FPS)))


def landmark_views(configs: list[FeatureConfig], source, start: int = 0, stop: int | None = None,
                   progress=None, default_fps: float | None = None) -> list[np.ndarray]:
    """Features of frames ``start:stop`` for several landmark kinds (``pose``, ``gesture``) from one landmark read.

    The configurations must share their ``pose_frame``; MediaPipe, the slow part, then runs once
    for all of them. A frame's gesture needs the landmarks around it, so the range is read as far
    beyond its ends as the longest ``gesture`` span, and at least ``LANDMARK_WARM_UP`` frames before
    it, for the landmark tracker, which starts afresh for every read, to settle on the body: the
    features of a range are those of the same frames in the whole clip, up to the tracker's start
    (its landmarks near the start of a range can differ somewhat from a read begun earlier).
    ``default_fps`` is the frame rate of frames that do not say (``DEFAULT_FPS`` when None).

    Examples
    --------
    >>> pose, gesture = landmark_views([FeatureConfig("pose"), FeatureConfig("gesture")], source)  # doctest: +SKIP
    """
    frames = {config.pose_frame for config in configs}
    if len(frames) != 1 or not all(config.landmarks for config in configs):
        raise ValueError(f"landmark_views needs landmark kinds of one pose frame, got {configs}")
    reader = FeatureExtractor(replace(configs[0], kind="pose"))
    stop = _range_stop(source, start, stop)
    fps = getattr(source, "fps", None) or default_fps
    halves = [gesture_half(config, fps) if config.kind == "gesture" else 0 for config in configs]
    # The tracker starts afresh for every read: give it frames before the range to settle on the body.
    first = max(0, start - max(*halves, LANDMARK_WARM_UP))
    last = min(len(source), stop + max(halves))
    landmarks = reader._read(source, first, last, None, progress)
    return [(local_standardise(landmarks, half) if config.kind == "gesture" else landmarks)[start - first : stop - first]
            for config, half in zip(configs, halves)]


def extract_views(extractors: list[FeatureExtractor], source, start: int = 0, stop: int | None = None,
                  regions: list[Region | None] | None = None, progress=None,
                  default_fps: float | None = None) -> list[np.ndarray]:
    """Each extractor's features of frames ``start:stop``; landmark kinds of one pose frame share one read.

    ``regions`` gives each extractor's crop region (None: :meth:`FeatureExtractor.region_for` the range);
    ``default_fps`` the frame rate of frames that do not say, for the spans of gestures and of crops that
    follow the motion (``DEFAULT_FPS`` when None).
    A model of ``pixels+pose+gesture`` thus runs MediaPipe once per clip, not twice, and ``pixels+cnn`` finds
    the crops of each frame once.

    Examples
    --------
    >>> kinds = [FeatureExtractor(FeatureConfig(kind)) for kind in ("pixels", "pose", "gesture")]  # doctest: +SKIP
    >>> pixels, pose, gesture = extract_views(kinds, open_frames("clip.mp4"))  # doctest: +SKIP
    """
    regions = regions or [None] * len(extractors)
    features: list[np.ndarray | None] = [None] * len(extractors)
    by_frame: dict[str, list[int]] = {}
    crops: dict[int, np.ndarray] = {}  # by crop half: kinds that crop alike find their crops once
    fps = getattr(source, "fps", None) or default_fps
    for index, (extractor, region) in enumerate(zip(extractors, regions)):
        if extractor.config.landmarks:
            by_frame.setdefault(extractor.config.pose_frame, []).append(index)
        elif region is None and extractor.crops_locally:
            half = extractor.crop_half(fps)
            stop = _range_stop(source, start, stop)
            if half not in crops:
                crops[half] = moving_regions(source, start, stop, half)
            features[index] = extractor._read(source, start, stop, crops[half], progress)
        else:
            features[index] = extractor.extract(source, start, stop, region=region, progress=progress).features
    for indices in by_frame.values():
        views = landmark_views([extractors[index].config for index in indices], source, start, stop, progress, fps)
        for index, view in zip(indices, views):
            features[index] = view
    return features


def _range_stop(source, start: int, stop: int | None) -> int:
    """``stop`` of a range read from ``source`` (its end when None or beyond); an empty range is refused."""
    stop = len(source) if stop is None else min(stop, len(source))
    if stop <= start:
        raise fail(getattr(source, "path", "clip"), "has no frames to read")
    return stop


def _pose_tracker():
    mp = import_mediapipe(POSE_INSTALL)
    # model_complexity=1 is the landmark model shipped inside the wheel (0 and 2 would be downloaded).
    return mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)


def pose_features(points: np.ndarray) -> np.ndarray:
    """Landmarks ``(N, 33, 3)`` in pixels (NaN rows: no body) to features ``(N, 99)``.

    Each frame is centred on the mid-hip and divided by its torso length
    (mid-shoulder to mid-hip, in the image plane), so where the performer
    stands and how large they appear drop out. Frames without a body are
    filled from the nearest frames with one (linear in between), zeros when
    none has one.

    Examples
    --------
    >>> points = np.zeros((3, 33, 3), np.float32)
    >>> points[:, 11:13, 1] = -2.0            # shoulders 2 px above the hips
    >>> points[1] = np.nan                    # no body in frame 1
    >>> f = pose_features(points).reshape(3, 33, 3)
    >>> f[:, 11, 1].tolist()
    [-1.0, -1.0, -1.0]
    """
    points = np.asarray(points, np.float32)
    hips = (points[:, LEFT_HIP] + points[:, RIGHT_HIP]) / 2
    shoulders = (points[:, LEFT_SHOULDER] + points[:, RIGHT_SHOULDER]) / 2
    torso = np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1)
    return _filled((points - hips[:, None]) / _usable(torso)[:, None, None])


def body_pose_features(points: np.ndarray) -> np.ndarray:
    """World landmarks ``(N, 33, 3)`` (NaN rows: no body) to features ``(N, 99)`` that ignore the camera's azimuth.

    Each frame is centred on the mid-hip, divided by its torso length (in 3D)
    and turned about the vertical axis until the line from the right hip to
    the left one points along +x. A camera circling the performer, or a
    performer facing another way, would then give the same features; what stays
    is the posture (the turn of the shoulders against the hips included). In
    practice MediaPipe's depth changes with the view: a take filmed 15 degrees
    aside moves these features about two thirds as far as another movement
    does (0.28 against 0.44, RMS), however the turn is estimated (per frame,
    per clip, smoothed, from the hips alone or with the shoulders).
    Frames without a body are filled as in :func:`pose_features`.

    Examples
    --------
    >>> points = np.zeros((2, 33, 3), np.float32)
    >>> points[:, 23] = [0.1, 0, 0]; points[:, 24] = [-0.1, 0, 0]   # hips along x...
    >>> points[1, 23] = [0, 0, 0.1]; points[1, 24] = [0, 0, -0.1]   # ...then along z: turned 90 degrees
    >>> points[:, 11:13, 1] = -0.5                                   # shoulders above the hips
    >>> f = body_pose_features(points).reshape(2, 33, 3)
    >>> np.allclose(f[0], f[1], atol=1e-6), [round(float(v), 2) for v in f[0, 23]]
    (True, [0.2, 0.0, 0.0])
    """
    points = np.asarray(points, np.float64)
    hips = (points[:, LEFT_HIP] + points[:, RIGHT_HIP]) / 2
    centred = points - hips[:, None]
    torso = np.linalg.norm((centred[:, LEFT_SHOULDER] + centred[:, RIGHT_SHOULDER]) / 2, axis=1)
    across = centred[:, LEFT_HIP] - centred[:, RIGHT_HIP]
    angle = np.arctan2(across[:, 2], across[:, 0])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    turned = centred.copy()
    turned[..., 0] = centred[..., 0] * cos + centred[..., 2] * sin
    turned[..., 2] = centred[..., 2] * cos - centred[..., 0] * sin
    return _filled(turned / _usable(torso)[:, None, None])


def _usable(torso: np.ndarray) -> np.ndarray:
    """``torso`` with lengths that are too short to divide by set to NaN (their frames are filled later)."""
    return np.where(torso > 1e-6, torso, np.nan)


def _filled(normalised: np.ndarray) -> np.ndarray:
    """``(N, 33, 3)`` normalised landmarks as ``(N, 99)`` features; frames with a NaN (no body, or no torso to
    scale by) are interpolated from the nearest whole ones (zeros when none is whole)."""
    found = np.isfinite(normalised).all(axis=(1, 2))
    out = np.zeros((len(normalised), POSE_POINTS * 3), np.float32)
    if not found.any():
        return out
    out[found] = normalised[found].reshape(int(found.sum()), -1)
    if not found.all():
        good = np.flatnonzero(found)
        steps = np.arange(len(normalised))
        out = np.stack([np.interp(steps, good, column[good]) for column in out.T], axis=1).astype(np.float32)
    return out


def _batches(frames: Iterator, size: int) -> Iterator[list[np.ndarray]]:
    batch = []
    for frame in frames:
        batch.append(frame.rgb)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
