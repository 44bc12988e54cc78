"""Optical-flow propagation: annotated masks carried to every frame with DIS optical flow.

Between two annotated frames the mask is propagated forwards from the earlier
one and backwards from the later one, each step warping the previous result
with the flow between neighbouring frames; the two are blended by temporal
distance. Frames before the first (after the last) annotated frame get the
backward (forward) propagation only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError
from keyframe.io.frames import BACKWARD_BLOCK, FrameSource, backward_frames
from keyframe.native import dis_motion
from keyframe.segment.base import Member, check_choice, check_real, check_whole, register_member, resize_prob, work_size
from keyframe.segment.members.morphology import sharpen

log = logging.getLogger(__name__)

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass
class FlowConfig:
    """Settings of :class:`FlowMember`.

    Attributes
    ----------
    max_side : frames are processed with their longer side scaled to this.
    preset : DIS preset, ``ultrafast``, ``fast`` or ``medium``.
    sharpen : gain of the logistic curve applied after every warp; it stops
        the soft mask from blurring out over many bilinear warps (0 = off).
    """

    max_side: int = 480
    preset: str = "medium"
    sharpen: float = 8.0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_whole(self, "max_side")
        check_choice(self, "preset", PRESETS)
        check_real(self, "sharpen")


def dis_flow(preset: str = "medium") -> cv2.DISOpticalFlow:
    """A DIS optical-flow object for a named preset."""
    if preset not in PRESETS:
        raise KeyframeError(f"unknown DIS preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return cv2.DISOpticalFlow_create(PRESETS[preset])


def to_gray(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 grey frame at ``size = (height, width)`` (area-averaged when shrinking)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if gray.shape != size:
        gray = cv2.resize(gray, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return gray


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(x) = image(x + flow(x))``, bilinear, borders replicated.

    ``flow`` is the flow from the target frame to the frame ``image`` belongs to.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((4, 6), np.float32); img[:, 3] = 1
    >>> shift = np.zeros((4, 6, 2), np.float32); shift[..., 0] = 1  # look one pixel to the right
    >>> warp(img, shift)[0].tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    """
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def carried(start_prob: np.ndarray, grays, flow: cv2.DISOpticalFlow, gain: float) -> Iterator[tuple[int, np.ndarray]]:
    """Carry ``start_prob`` (belonging to the first of ``grays``, ``(index, grey frame)`` pairs in the order the
    mask travels) through the rest, one frame at a time; yields ``(index, soft mask)`` for every frame, the first
    included.

    Examples
    --------
    >>> frame = np.zeros((16, 16), np.uint8); frame[4:8, 4:8] = 200
    >>> [index for index, _ in carried(frame > 0, [(5, frame), (4, frame)], dis_flow(), 4.0)]
    [5, 4]
    """
    prob, previous = start_prob.astype(np.float32), None
    for index, gray in grays:
        if previous is not None:
            prob = sharpen(warp(prob, dis_motion(flow, gray, previous)), gain)
        previous = gray
        yield index, prob


def propagate(grays: list[np.ndarray], start_prob: np.ndarray, flow: cv2.DISOpticalFlow, gain: float) -> list[np.ndarray]:
    """Carry ``start_prob`` (belonging to ``grays[0]``) through ``grays[1:]``; returns one soft mask per frame."""
    return [prob for _, prob in carried(start_prob, enumerate(grays), flow, gain)]


def propagate_flow_baseline(source: FrameSource, first_mask: np.ndarray, start: int = 0, preset: str = "medium") -> Iterator[tuple[int, np.ndarray]]:
    """What a user could do with OpenCV alone: a mask pushed frame to frame with DIS flow.

    The mask of frame ``start`` is warped to each next frame with the DIS flow
    between the two (full resolution, nearest-neighbour, so it stays binary);
    yields ``(index, bool mask)`` for frames ``start, start+1, ...`` including
    ``start`` itself.

    Examples
    --------
    >>> from keyframe.io import open_frames, read_mask  # doctest: +SKIP
    >>> source = open_frames("davis/bear/frames")  # doctest: +SKIP
    >>> masks = dict(propagate_flow_baseline(source, read_mask("davis/bear/masks/00000.png") > 0))  # doctest: +SKIP
    """
    flow = dis_flow(preset)
    mask = np.asarray(first_mask, bool)
    previous = None
    for frame in source.iter_frames(start):
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        if previous is not None:
            motion = dis_motion(flow, gray, previous)
            mask = warp(mask.astype(np.float32), motion) >= 0.5
        previous = gray
        yield frame.index, mask


def keyframe_spans(keyframes: dict[int, np.ndarray], length: int) -> list[tuple[int | None, int | None, int, int]]:
    """Cut ``0..length-1`` into spans ``(before, after, first, stop)`` around the annotated frames.

    ``before``/``after`` are the annotated frames bounding the span (None at the
    ends of the video); the span covers frames ``first..stop-1``, annotated
    frames included as the first frame of the span they start.

    Examples
    --------
    >>> keyframe_spans({0: None, 10: None}, 15)
    [(0, 10, 0, 10), (10, None, 10, 15)]
    >>> keyframe_spans({5: None}, 8)
    [(None, 5, 0, 5), (5, None, 5, 8)]
    """
    marks = sorted(keyframes)
    spans = []
    if marks[0] > 0:
        spans.append((None, marks[0], 0, marks[0]))
    for i, mark in enumerate(marks):
        after = marks[i + 1] if i + 1 < len(marks) else None
        stop = after if after is not None else length
        if stop > mark:
            spans.append((mark, after, mark, stop))
    return spans


@register_member
class FlowMember(Member):
    """Annotated masks propagated with DIS optical flow, forwards and backwards, blended by distance.

    Examples
    --------
    >>> member = FlowMember().fit(source, {0: mask0, 40: mask40})  # doctest: +SKIP
    >>> for index, prob in member.predict(source):  # doctest: +SKIP
    ...     binary = prob > 0.5
    """

    name = "flow"
    config_type = FlowConfig

    def __init__(self, config: FlowConfig | None = None):
        self.config = config or FlowConfig()
        self.keyframes: dict[int, np.ndarray] = {}

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "FlowMember":
        if not keyframes:
            raise KeyframeError("flow propagation needs at least one annotated frame")
        self.size = work_size(*source.size, self.config.max_side)
        self.keyframes = {i: resize_prob(np.asarray(m, np.float32), *self.size) for i, m in keyframes.items()}
        self.flow = dis_flow(self.config.preset)
        return self

    def predict(self, source: FrameSource, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        stop = len(source) if stop is None else min(stop, len(source))
        height, width = source.size
        for before, after, first, end in keyframe_spans(self.keyframes, len(source)):
            lo, hi = max(first, start), min(end, stop)
            if lo >= hi:
                continue
            for index, prob in self._span(source, before, after, lo, hi):
                yield index, resize_prob(prob, height, width)

    def _span(self, source: FrameSource, before: int | None, after: int | None, lo: int, hi: int) -> Iterator[tuple[int, np.ndarray]]:
        """Soft masks of frames ``lo..hi-1`` of a span, blending the propagations from ``before`` and ``after``.

        Only the frames asked for are propagated to (a held-out frame near a mask costs a few frames, not the rest
        of the video); the forward pass streams, and the backward one (:meth:`_backward`) holds a block of masks.
        """
        gain = self.config.sharpen
        backward = self._backward(source, after, lo, gain) if after is not None else None
        log.debug("flow: frames %d..%d propagated (from %s, from %s)", lo, hi - 1, before, after)
        if before is None:
            for index in range(lo, hi):
                yield index, next(backward)
            return
        for index, prob in self._forward(source, before, hi, gain):
            if index < lo:
                continue
            if backward is None:
                yield index, prob
            else:
                weight = (after - index) / (after - before)
                yield index, weight * prob + (1 - weight) * next(backward)

    def _forward(self, source: FrameSource, before: int, hi: int, gain: float) -> Iterator[tuple[int, np.ndarray]]:
        """The mask of ``before`` carried forward through frames ``before..hi-1``, one frame at a time."""
        grays = ((frame.index, to_gray(frame.rgb, self.size)) for frame in source.iter_frames(before, hi))
        return carried(self.keyframes[before], grays, self.flow, gain)

    def _backward(self, source: FrameSource, after: int, lo: int, gain: float) -> Iterator[np.ndarray]:
        """The mask of ``after`` carried backward to frame ``lo``: the masks of frames ``lo..after-1``, lo first.

        They come out in the opposite order to the one they are made in. Rather than hold a whole stretch's masks
        (a mask in the middle of a long video held half of it), a first pass down from ``after`` keeps the mask
        at the top of every block of ``BACKWARD_BLOCK`` frames, and each block is then carried down again from
        its top: a stretch of one block is propagated once, a longer one about twice, holding one block.
        """
        bottoms = range(lo, after, BACKWARD_BLOCK)
        tops = [min(bottom + BACKWARD_BLOCK, after) for bottom in bottoms]
        kept, wanted = {after: self.keyframes[after].astype(np.float32)}, set(tops)
        if len(tops) > 1:
            grays = backward_frames(source, tops[0], after + 1, lambda frame: to_gray(frame.rgb, self.size))
            for index, prob in carried(kept[after], grays, self.flow, gain):
                if index in wanted:
                    kept[index] = prob
        for bottom, top in zip(bottoms, tops):
            grays = [to_gray(frame.rgb, self.size) for frame in source.iter_frames(bottom, top + 1)]
            yield from propagate(grays[::-1], kept.pop(top), self.flow, gain)[:0:-1]
