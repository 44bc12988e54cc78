"""Temporal guides: a field of coloured Gaussian blobs that moves with the video (DIS optical flow).

Texler et al. feed such a guide to the generator next to the frame: where two
places look alike but were painted differently, the blob colours tell them
apart, and because the blobs ride the optical flow the distinction follows the
content from the keyframe to the other frames. Points are tracked once over the
whole sequence (a few numbers per frame); each frame's guide image is rendered
from its points on demand, so inference stays a pure function of the frame index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from keyframe.io.frames import backward_frames
from keyframe.native import dis_motion
from keyframe.progress import report

log = logging.getLogger(__name__)

GUIDE_CHANNELS = 3


@dataclass(frozen=True)
class GuideConfig:
    """How the blob guide is built.

    Parameters
    ----------
    spacing
        Distance between blob centres on the anchor frame, in pixels.
    sigma
        Blob radius (Gaussian sigma) in pixels.
    flow_scale
        Optical flow is computed at this fraction of the frame size (speed).
    seed
        Seed of the blob colours.
    """

    spacing: int = 24
    sigma: float = 10.0
    flow_scale: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class BlobTrack:
    """Blob centres for every frame of a sequence, and the colour of each blob.

    Attributes
    ----------
    points : np.ndarray
        float32 ``(frames, blobs, 2)`` x, y positions in pixels.
    colors : np.ndarray
        float32 ``(blobs, 3)`` in [0, 1].
    size : tuple of int
        Frame ``(height, width)``.
    sigma : float
        Blob radius in pixels.
    """

    points: np.ndarray
    colors: np.ndarray
    size: tuple[int, int]
    sigma: float

    def render(self, index: int, scale: float = 1.0) -> np.ndarray:
        """The guide image of frame ``index``: float32 ``(H, W, 3)`` in [0, 1], optionally resized by ``scale``."""
        height, width = (max(1, round(s * scale)) for s in self.size)
        return render_blobs(self.points[index] * scale, self.colors, (height, width), self.sigma * scale)


def render_blobs(points: np.ndarray, colors: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """Splat coloured points and blur them into smooth blobs (normalised, so overlaps blend).

    Examples
    --------
    >>> guide = render_blobs(np.array([[5.0, 5.0]]), np.array([[1.0, 0.0, 0.0]]), (12, 12), 2.0)
    >>> guide.shape, guide[5, 5].round(2).tolist()
    ((12, 12, 3), [1.0, 0.0, 0.0])
    """
    height, width = size
    cols = np.rint(points[:, 0]).astype(int)
    rows = np.rint(points[:, 1]).astype(int)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    color_sum = np.zeros((height, width, GUIDE_CHANNELS), np.float32)
    weight = np.zeros((height, width), np.float32)
    np.add.at(color_sum, (rows[inside], cols[inside]), colors[inside])
    np.add.at(weight, (rows[inside], cols[inside]), 1.0)
    kernel = 2 * int(np.ceil(3 * sigma)) + 1
    color_sum = cv2.GaussianBlur(color_sum, (kernel, kernel), sigma)
    weight = cv2.GaussianBlur(weight, (kernel, kernel), sigma)
    return np.clip(color_sum / (weight[..., None] + 1e-4), 0.0, 1.0)


def _sample(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinearly sample an ``(h, w, 2)`` field at float ``(P, 2)`` x, y points (clamped to the field)."""
    height, width = flow.shape[:2]
    x = np.clip(points[:, 0], 0, width - 1.001)
    y = np.clip(points[:, 1], 0, height - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = flow[y0, x0] * (1 - fx) + flow[y0, x0 + 1] * fx
    bottom = flow[y0 + 1, x0] * (1 - fx) + flow[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _grey(rgb: np.ndarray, scale: float) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return grey


def _greys_forward(source, anchor: int, scale: float):
    """``(index, grey)`` of the frames after ``anchor``, as they are read."""
    for frame in source.iter_frames(anchor + 1):
        yield frame.index, _grey(frame.rgb, scale)


def _greys_backward(source, anchor: int, scale: float):
    """``(index, grey)`` of the frames before ``anchor``, last first."""
    return backward_frames(source, 0, anchor, lambda frame: _grey(frame.rgb, scale))


def track_blobs(frames, anchor: int, config: GuideConfig = GuideConfig(), progress=None) -> BlobTrack:
    """Seed a grid of blobs on frame ``anchor`` and carry them to every frame with DIS optical flow.

    Parameters
    ----------
    frames
        A frame source (``keyframe.io.open_frames``) or a uint8 array ``(N, H, W, 3)``.
    anchor
        Index of the frame where the blobs sit on a regular grid (a keyframe).
    config
        Spacing, radius, flow resolution and colour seed.
    progress
        ``progress(done, total, note)`` callback.

    Examples
    --------
    >>> clip = np.zeros((3, 48, 64, 3), np.uint8)
    >>> track = track_blobs(clip, anchor=1, config=GuideConfig(spacing=16, sigma=4))
    >>> track.points.shape, track.render(2).shape
    ((3, 12, 2), (48, 64, 3))
    """
    from keyframe.io import open_frames

    source = open_frames(frames)
    count, (height, width) = len(source), source.size
    half = config.spacing / 2
    xs, ys = np.meshgrid(np.arange(half, width, config.spacing), np.arange(half, height, config.spacing))
    start = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    colors = np.random.default_rng(config.seed).random((len(start), GUIDE_CHANNELS)).astype(np.float32)
    points = np.zeros((count, len(start), 2), np.float32)
    points[anchor] = start
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    scale = config.flow_scale
    done = 0
    first = _grey(source.read(anchor), scale)
    for direction, greys in ((1, _greys_forward(source, anchor, scale)), (-1, _greys_backward(source, anchor, scale))):
        previous = first
        for index, current in greys:
            flow = dis_motion(dis, previous, current)
            points[index] = points[index - direction] + _sample(flow, points[index - direction] * scale) / scale
            previous = current
            done += 1
            report(progress, done, count - 1, "tracking guide blobs")
    log.info("tracked %d blobs over %d frames from frame %d", len(start), count, anchor)
    return BlobTrack(points, colors, (height, width), config.sigma)
