"""Render a BVH skeleton as a shaded humanoid from any camera angle.

Each bone is drawn as a capsule (outline, body shaded by a fixed light, a
highlight stripe on the lit side), the head as a sphere, all back to front by
depth, over a floor with the figure's soft shadow. The camera looks at the
performer from ``azimuth`` degrees around the vertical axis (0 = from the
front, measured from the direction the body faces on average;
positive = towards the performer's left) and ``elevation`` degrees above the
horizon, with a mild perspective. The view is framed on the whole motion's
extent, or with ``follow`` on the body around its root, so a walk stays in
the middle of the picture.

Examples
--------
>>> from keyframe.motion.bvh import parse_bvh
>>> motion = parse_bvh(open("walk.bvh").read())  # doctest: +SKIP
>>> frames = list(render_frames(motion, RenderOptions(size=(160, 120), azimuth=30)))  # doctest: +SKIP
>>> render_motion("walk.bvh", "walk.mp4", RenderOptions(azimuth=-20))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError, fail, is_whole
from keyframe.io.video import FPS_RANGE, check_fps, check_mp4, check_replaceable, stored_rate, writable_fps
from keyframe.motion.bvh import Motion, read_bvh
from keyframe.progress import report

log = logging.getLogger(__name__)

UP = np.array([0.0, 1.0, 0.0])
# Capsule radius as a fraction of the body height, by the bone's parent joint name (first match wins).
RADII = (
    (r"head", 0.0),
    (r"neck", 0.032),
    (r"toe", 0.022),
    (r"foot|ankle", 0.03),
    (r"hand|wrist|finger|thumb", 0.022),
    (r"forearm|lowerarm|elbow", 0.027),
    (r"arm", 0.033),
    (r"shoulder|clavicle|collar", 0.04),
    (r"lowerleg|shin|knee|calf|lowleg", 0.037),
    (r"upleg|upperleg|thigh", 0.05),
    (r"leg", 0.045),
    (r"hip|pelvis|spine|chest|torso|abdomen|root|waist|body", 0.07),
)
HEAD_RADIUS = 0.065
# The largest side rendered (8K): beyond it a take renders for hours, and H.264 players give up.
MAX_SIDE = 8192
# A guard against a frame rate that would resample a take into an endless video.
MAX_FRAMES = 1_000_000
# What of a glitched frame is drawn: joints nearer the camera than this fraction of its distance (the framed take
# lies at least half of it away), or further off the picture than this many pixels, are left out with their
# bones. cv2 draws in 32-bit fixed point, and a capsule at the camera would cover the picture.
NEAR = 0.1
FAR_PIXELS = 1e6
# RGB colours by body part.
COLOURS = {
    "torso": (70, 110, 170),
    "arm": (70, 110, 170),
    "skin": (225, 180, 150),
    "leg": (60, 60, 75),
    "shoe": (40, 35, 35),
}
PART_OF = (
    (r"head|neck|hand|wrist|finger|thumb|forearm|lowerarm", "skin"),
    (r"toe|foot|ankle", "shoe"),
    (r"leg|thigh|shin|knee|calf", "leg"),
    (r"arm|shoulder|clavicle|collar", "arm"),
)


@dataclass
class RenderOptions:
    """How to film a motion.

    Attributes
    ----------
    size : ``(width, height)`` of the frames in pixels.
    azimuth : camera angle around the vertical axis in degrees; 0 faces the performer (see :func:`facing_direction`).
    elevation : camera angle above the horizon in degrees.
    fps : output frame rate; ``None`` keeps the file's (other rates interpolate the joints).
    follow : keep the performer centred (framed on the body around its root) instead of framing the whole path.
    shadow : draw the soft shadow on the floor.
    margin : free border around the framed extent, as a fraction of the frame.
    background : RGB of the backdrop (the floor is drawn slightly darker).
    """

    size: tuple[int, int] = (320, 240)
    azimuth: float = 0.0
    elevation: float = 10.0
    fps: float | None = None
    follow: bool = False
    shadow: bool = True
    margin: float = 0.08
    background: tuple[int, int, int] = (205, 210, 218)

    def __post_init__(self) -> None:
        self.check()  # when made: a bad value is named where it was given, not at render time

    def check(self) -> None:
        if not (isinstance(self.size, (tuple, list)) and len(self.size) == 2 and all(map(is_whole, self.size))):
            raise KeyframeError(f"RenderOptions size must be (width, height) in whole pixels, got {self.size!r}")
        width, height = self.size
        if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
            raise KeyframeError(f"--size must be between 16x16 and {MAX_SIDE}x{MAX_SIDE}, got {width}x{height}")
        if self.fps is not None:
            check_fps("--fps", self.fps)
        if not math.isfinite(self.azimuth):
            raise KeyframeError(f"--azimuth must be a finite number of degrees, got {self.azimuth}")
        if not -89.0 <= self.elevation <= 89.0:
            raise KeyframeError(f"--elevation must be between -89 and 89 degrees, got {self.elevation}")
        if not 0 <= self.margin < 0.45:
            raise KeyframeError(f"margin must be in [0, 0.45), got {self.margin}")
        background = np.asarray(self.background)
        if background.shape != (3,) or not all(map(is_whole, background.tolist())) or not np.all((0 <= background) & (background <= 255)):
            raise KeyframeError(f"RenderOptions background must be an RGB of three whole values 0-255, got {self.background!r}")


@dataclass
class Figure:
    """What to draw for a skeleton: bones with radii and colours, the head, and the body's scale."""

    bones: list[tuple[int, int, float, tuple[int, int, int]]]
    head: tuple[int, int] | None  # (neck joint, head joint)
    height: float
    forward: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))


def _lookup(name: str, table, default):
    lower = name.lower()
    for pattern, value in table:
        if re.search(pattern, lower):
            return value
    return default


def _mirror(name: str) -> str | None:
    """The name of the joint on the other side (``Hand_L`` -> ``Hand_R``, ``LeftArm`` -> ``RightArm``,
    ``lShldr`` -> ``rShldr``), if any."""
    swaps = [(r"(?<![A-Za-z])L(?![a-z])", "R"), (r"Left", "Right"), (r"left", "right"),
             (r"^l(?=[A-Z])", "r")]  # DAZ and Poser: lShldr, lThigh
    for pattern, replacement in swaps:
        if re.search(pattern, name):
            return re.sub(pattern, replacement, name)
    return None


def facing_direction(motion: Motion, positions: np.ndarray) -> np.ndarray:
    """Unit horizontal vector the performer faces on average over the take (+Z when no left/right joints are named).

    It is the horizontal normal of the mean left-minus-right vector of every mirrored joint pair
    (``Hand_L``/``Hand_R``, ``LeftArm``/``RightArm``, ...), so a twist in one frame does not turn the view.
    """
    index = {name: i for i, name in enumerate(motion.names)}
    left_minus_right = np.zeros(3)
    for name, i in index.items():
        other = _mirror(name)
        if other and other in index:
            left_minus_right += (positions[:, i] - positions[:, index[other]]).mean(axis=0)
    left_minus_right[1] = 0.0
    if np.linalg.norm(left_minus_right) < 1e-9:
        return np.array([0.0, 0.0, 1.0])
    forward = np.cross(left_minus_right, UP)
    return forward / np.linalg.norm(forward)


def body_height(joints: np.ndarray) -> float:
    """The height of one frame's joints ``(J, 3)`` (their widest extent if they lie flat; 1 if they coincide)."""
    return float(np.ptp(joints[:, 1])) or float(np.ptp(joints, axis=0).max()) or 1.0


def build_figure(motion: Motion, positions: np.ndarray) -> Figure:
    """Choose the capsules of a skeleton: one per bone with a length, none for placeholder links.

    A link longer than 40% of the body (a root on the floor joined to the hips,
    say) is a bookkeeping joint, not a bone, and is left out.
    """
    first = positions[0]
    height = body_height(first)
    joints = motion.joints
    bones = []
    head = None
    for child, joint in enumerate(joints):
        parent = joint.parent
        if parent < 0:
            continue
        parent_name = joints[parent].name
        length = float(np.linalg.norm(first[child] - first[parent]))
        if re.search("head", parent_name.lower()):
            continue
        if re.search("head", joint.name.lower()) and not joint.end_site:
            head = (parent, child)
        if length < 1e-6 * height or length > 0.4 * height:
            continue
        radius = _lookup(parent_name, RADII, 0.035) * height
        colour = COLOURS[_lookup(parent_name, PART_OF, "torso")]
        if re.search(r"(?<![A-Za-z])R(?![a-z])|Right|right", parent_name):
            colour = tuple(int(c * 0.85) for c in colour)
        bones.append((parent, child, radius, colour))
    if head is None:
        # No joint called head: put it on the highest end site.
        ends = [i for i, j in enumerate(joints) if j.end_site]
        if ends:
            top = max(ends, key=lambda i: first[i, 1])
            head = (joints[top].parent, top)
    return Figure(bones, head, height * 1.08, facing_direction(motion, positions))


@dataclass
class Camera:
    """A perspective camera plus the 2-D fit that puts the framed extent in the picture."""

    right: np.ndarray
    up: np.ndarray
    back: np.ndarray
    distance: float
    focal: float
    scale: float
    offset: np.ndarray

    def to_camera(self, points: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Points ``(..., 3)`` to camera coordinates (x right, y up, z depth in front of the camera)."""
        rel = points - (target + self.back * self.distance)
        return np.stack([rel @ self.right, rel @ self.up, -(rel @ self.back)], axis=-1)

    def project(self, cam: np.ndarray) -> np.ndarray:
        """Camera coordinates ``(..., 3)`` to pixel coordinates ``(..., 2)``."""
        z = np.maximum(cam[..., 2], 1e-6)
        xy = self.focal * cam[..., :2] / z[..., None]
        return np.stack([self.offset[0] + self.scale * xy[..., 0], self.offset[1] - self.scale * xy[..., 1]], axis=-1)

    def pixel_radius(self, radius: float, depth: np.ndarray) -> np.ndarray:
        return self.scale * self.focal * radius / np.maximum(depth, 1e-6)


def _targets(positions: np.ndarray, root: int, follow: bool) -> np.ndarray:
    """Where the camera looks in each frame: the motion's centre, or the root's smoothed floor position."""
    frames = len(positions)
    if not follow:
        centre = (positions.min(axis=(0, 1)) + positions.max(axis=(0, 1))) / 2
        return np.broadcast_to(centre, (frames, 3)).copy()
    track = positions[:, root].copy()
    kernel = max(1, min(frames, 9))
    padded = np.pad(track, ((kernel // 2, kernel - 1 - kernel // 2), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, k], np.ones(kernel) / kernel, mode="valid") for k in range(3)], axis=1)
    smooth[:, 1] = (positions[..., 1].min() + positions[..., 1].max()) / 2
    return smooth


# Below this share of the framed extent the figure is small enough to be worth a warning (a bow, framed alone,
# fills about 0.8 of it).
SMALL_FIGURE = 0.25


def steady_positions(positions: np.ndarray, path: str = "take", joints=None) -> np.ndarray:
    """``positions`` ``(F, J, 3)`` with the frames that jump far from their neighbours (a glitch in the take, such
    as one frame's joint thrown kilometres away) replaced by the motion around them, for framing the camera:
    otherwise one such frame shrinks the figure to a speck in every frame. Warns when it replaces any.

    A frame is wild when its joints' centre lies more than twice the body's size from the median centre of
    the 9 frames around it (the first or last 9 near the ends of the take), or when its joints spread over more
    than three times the body's size; at motion capture rates no movement does either. Takes with more wild
    frames than steady ones are left as they are.
    ``joints`` are the ones to judge by (default: all), e.g. those drawn, without a root left at the origin.
    """
    judged = positions if joints is None else positions[:, joints]
    lows, highs = judged.min(axis=1), judged.max(axis=1)
    sizes, centres = highs - lows, (lows + highs) / 2
    body = max(float(np.median(sizes, axis=0).max()), 1e-9)
    half = min(4, (len(positions) - 1) // 2)
    medians = np.median(np.lib.stride_tricks.sliding_window_view(centres, 2 * half + 1, axis=0), axis=-1)
    # Near the ends the window stays whole, shifted inwards: padded by repeating the end frame, a glitch there
    # would be most of its own window, and its own median.
    local = np.pad(medians, ((half, half), (0, 0)), mode="edge")
    wild = (np.abs(centres - local).max(axis=1) > 2 * body) | (sizes.max(axis=1) > 3 * body)
    if not wild.any() or wild.mean() > 0.5:
        return positions
    listed = ", ".join(map(str, np.flatnonzero(wild)[:5])) + (" ..." if wild.sum() > 5 else "")
    log.warning("%s: frame%s %s jump%s far from the rest of the take (a glitch in the motion data?); the camera "
                "frames the others", path, "s" if wild.sum() > 1 else "", listed, "" if wild.sum() > 1 else "s")
    frames = np.arange(len(positions))
    steady = positions.copy()
    flat = steady.reshape(len(positions), -1)
    for column in range(flat.shape[1]):
        flat[wild, column] = np.interp(frames[wild], frames[~wild], flat[~wild, column])
    return steady


def make_camera(positions: np.ndarray, figure: Figure, options: RenderOptions, targets: np.ndarray) -> Camera:
    """A camera at the options' angles, scaled so that every frame's figure fits the picture."""
    az, el = math.radians(options.azimuth), math.radians(options.elevation)
    forward = figure.forward
    side = np.cross(UP, forward)  # the performer's left
    back = math.cos(el) * (math.cos(az) * forward + math.sin(az) * side) + math.sin(el) * UP
    back /= np.linalg.norm(back)
    right = np.cross(UP, back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    rel = positions - targets[:, None, :]
    extent = float(np.ptp(rel.reshape(-1, 3), axis=0).max()) + figure.height * 0.2
    camera = Camera(right, up, back, distance=3.5 * extent, focal=1.0, scale=1.0, offset=np.zeros(2))
    cam = camera.to_camera(positions, targets[:, None, :])
    xy = camera.project(cam)
    pad = camera.pixel_radius(figure.height * 0.08, cam[..., 2])
    lo = (xy - pad[..., None]).reshape(-1, 2).min(axis=0)
    hi = (xy + pad[..., None]).reshape(-1, 2).max(axis=0)
    hi[1], lo[1] = -lo[1], -hi[1]  # project() flips y for the image; fit in the unflipped frame
    width, height = options.size
    usable = np.array([width, height]) * (1 - 2 * options.margin)
    span = np.maximum(hi - lo, 1e-9)
    camera.scale = float(np.min(usable / span))
    mid = (lo + hi) / 2
    camera.offset = np.array([width / 2 - camera.scale * mid[0], height / 2 + camera.scale * mid[1]])
    return camera


def frame_count(frames: int, fps_in: float, fps_out: float) -> int:
    """How many frames a take of ``frames`` frames at ``fps_in`` has at ``fps_out``: one per output step up to its
    last frame.

    A Frame Time is written to a few digits (``0.0333333`` for 1/30 s), so the take's length is known only to
    about 1e-4 of itself: an output step that little past the end (at most half a step) still shows the last frame.

    Examples
    --------
    >>> frame_count(128, 1 / 0.0333333, 30), frame_count(128, 1 / 0.0333333, 60), frame_count(3, 30, 20)
    (128, 255, 2)
    """
    if abs(fps_in - fps_out) < 1e-9 or frames < 2:
        return frames
    steps = (frames - 1) / fps_in * fps_out
    return int(steps + min(1e-4 * steps, 0.5)) + 1


def resample(positions: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Joint positions at another frame rate, by linear interpolation in time (:func:`frame_count` frames)."""
    if abs(fps_in - fps_out) < 1e-9 or len(positions) < 2:
        return positions
    count = frame_count(len(positions), fps_in, fps_out)
    times = np.minimum(np.arange(count) * (fps_in / fps_out), len(positions) - 1)
    low = np.floor(times).astype(int).clip(0, len(positions) - 1)
    high = np.minimum(low + 1, len(positions) - 1)
    weight = (times - low)[:, None, None]
    return positions[low] * (1 - weight) + positions[high] * weight


class Renderer:
    """Draws frames of one skeleton's motion with a fixed camera set-up.

    Examples
    --------
    >>> renderer = Renderer(motion, RenderOptions(size=(128, 128)))  # doctest: +SKIP
    >>> renderer.frame(0).shape  # doctest: +SKIP
    (128, 128, 3)
    """

    def __init__(self, motion: Motion, options: RenderOptions = RenderOptions()):
        if not isinstance(options, RenderOptions):
            raise TypeError(f"options must be a RenderOptions, got {type(options).__name__}")
        options.check()
        self.options = options
        # In units of about the body's height, so that the tolerances below hold for a skeleton in any unit; a
        # power of two, so that the picture of one in centimetres or metres is the same to the last bit.
        positions = motion.positions()
        if not np.ptp(positions.reshape(-1, 3), axis=0).any():
            raise fail(motion.path, "its joints all lie at one point in every frame (OFFSETs and positions of 0): "
                                    "no bone to draw")
        positions = positions / 2.0 ** round(math.log2(body_height(positions[0])))
        self.figure = build_figure(motion, positions)
        fps = options.fps or motion.fps
        if not writable_fps(fps):
            raise fail(motion.path, f"the frame rate is {fps:g} fps (Frame Time {motion.frame_time:g}); "
                       f"give --fps {FPS_RANGE}")
        frames = frame_count(len(positions), motion.fps, fps)
        if frames > MAX_FRAMES:
            raise fail(motion.path, f"would render {frames} frames at {fps:g} fps (more than {MAX_FRAMES}); give a lower --fps")
        self.fps = fps
        self.positions = resample(positions, motion.fps, fps)
        # Frame on the joints that are drawn: a placeholder root left at the origin must not shrink the view.
        drawn = sorted({j for bone in self.figure.bones for j in bone[:2]} | set(self.figure.head or ())) or list(range(len(motion.joints)))
        # The camera frames the take without its glitches (found at the file's own rate, where they stand out).
        steady = resample(steady_positions(positions, motion.path, drawn), motion.fps, fps)
        root = next(i for i, j in enumerate(motion.joints) if j.parent < 0)
        hips = [i for i, j in enumerate(motion.joints) if j.parent == root and not j.end_site]
        # The root of many files is a floor placeholder; follow its first real child if the root never moves.
        anchor = root
        if np.ptp(self.positions[:, root], axis=0).max() < 1e-6 and hips:
            anchor = hips[0]
        self.targets = _targets(steady, anchor, options.follow)
        self.camera = make_camera(steady[:, drawn], self.figure, options, self.targets)
        self.figure_share = self._share_of_picture(steady[:, drawn])
        if self.figure_share < SMALL_FIGURE:
            log.warning("%s: the figure is about %d%% of the picture's size, since the camera frames all the take "
                        "covers: %scheck the take for a stretch of wild frames", motion.path,
                        round(100 * self.figure_share),
                        "" if options.follow else "--follow keeps a walker centred and large; otherwise ")
        width, height = options.size
        self.floor_y = float(steady[:, drawn, 1].min())
        light = np.array([-0.4, 0.9, 0.5])
        self.light = light / np.linalg.norm(light)
        self._backdrop = self._draw_backdrop(width, height)

    def _share_of_picture(self, steady: np.ndarray) -> float:
        """About how much of the picture the figure fills: the camera frames all of the take, so a take that
        travels far, or glitches for longer than ``steady_positions`` catches, leaves a speck."""
        spread = float(np.ptp((steady - self.targets[:, None, :]).reshape(-1, 3), axis=0).max())
        return self.figure.height / max(spread + self.figure.height * 0.2, 1e-9)

    def __len__(self) -> int:
        return len(self.positions)

    def _draw_backdrop(self, width: int, height: int) -> np.ndarray:
        top = np.array(self.options.background, np.float32)
        rows = np.linspace(1.0, 0.9, height, dtype=np.float32)[:, None, None]
        image = np.broadcast_to(top * rows, (height, width, 3)).copy()
        return np.clip(image, 0, 255).astype(np.uint8)

    def _floor(self, image: np.ndarray, target: np.ndarray) -> None:
        """A floor square around the target, a little darker than the backdrop."""
        half = self.figure.height * 1.6
        right = self.camera.right
        depth = np.cross(right, UP)
        centre = np.array([target[0], self.floor_y, target[2]])
        corners = np.array([centre + sx * half * right + sz * half * depth for sx, sz in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
        cam = self.camera.to_camera(corners, target)
        if (cam[:, 2] <= 1e-3).any():
            return
        polygon = np.round(self.camera.project(cam) * 16).astype(np.int32)
        colour = tuple(int(c * 0.82) for c in self.options.background)
        cv2.fillPoly(image, [polygon], colour, cv2.LINE_AA, shift=4)

    def frame(self, index: int) -> np.ndarray:
        """The uint8 RGB picture of frame ``index``."""
        joints = self.positions[index]
        target = self.targets[index]
        image = self._backdrop.copy()
        self._floor(image, target)
        camera = self.camera
        if self.options.shadow:
            self._shadow(image, joints, target)
        cam = camera.to_camera(joints, target)
        xy = camera.project(cam)
        shown = self._drawable(cam, xy)
        items = []  # (depth, kind, data)
        for parent, child, radius, colour in self.figure.bones:
            if not (shown[parent] and shown[child]):
                continue
            depth = (cam[parent, 2] + cam[child, 2]) / 2
            items.append((depth, 0, (parent, child, radius, colour)))
        if self.figure.head is not None and shown[self.figure.head[1]]:
            neck, head = self.figure.head
            direction = joints[head] - joints[neck]
            norm = np.linalg.norm(direction)
            direction = direction / norm if norm > 1e-9 else UP
            radius = HEAD_RADIUS * self.figure.height
            centre = joints[head] + direction * radius * 0.9
            centre_cam = camera.to_camera(centre, target)
            items.append((centre_cam[2], 1, (centre_cam, radius)))
        items.sort(key=lambda item: -item[0])
        for _, kind, data in items:
            if kind == 0:
                parent, child, radius, colour = data
                self._capsule(image, xy[parent], xy[child], cam[parent], cam[child], radius, colour)
            else:
                centre_cam, radius = data
                self._sphere(image, centre_cam, radius, COLOURS["skin"])
        return image

    def _drawable(self, cam: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Which points ``(N, 3)`` in camera coordinates, at pixels ``xy``, can be drawn (see :data:`NEAR`)."""
        return (cam[:, 2] > NEAR * self.camera.distance) & (np.abs(xy) < FAR_PIXELS).all(axis=1)

    def _shade(self, normal_strength: float, colour) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        base = np.array(colour, np.float32)
        body = np.clip(base * (0.55 + 0.45 * normal_strength), 0, 255)
        light = np.clip(body + (255 - body) * 0.35, 0, 255)
        edge = base * 0.35
        return body, light, edge

    def _capsule(self, image, a, b, ca, cb, radius, colour) -> None:
        camera = self.camera
        ra = float(camera.pixel_radius(radius, ca[2]))
        rb = float(camera.pixel_radius(radius, cb[2]))
        r = max((ra + rb) / 2, 0.5)
        axis = cb - ca
        norm = np.linalg.norm(axis)
        axis = axis / norm if norm > 1e-9 else np.array([0.0, 1.0, 0.0])
        light_cam = np.array([self.light @ camera.right, self.light @ camera.up, -(self.light @ camera.back)])
        perp = light_cam - (light_cam @ axis) * axis
        strength = float(np.linalg.norm(perp))
        body, lit, edge = self._shade(strength, colour)
        p, q = _fixed(a), _fixed(b)
        cv2.line(image, p, q, _rgb(edge), max(1, int(round(2 * r + 1.5))), cv2.LINE_AA, shift=4)
        cv2.line(image, p, q, _rgb(body), max(1, int(round(2 * r - 0.5))), cv2.LINE_AA, shift=4)
        # Highlight stripe towards the light, in screen space.
        screen = np.array([perp[0], -perp[1]])
        screen_len = np.linalg.norm(screen)
        if r >= 2.0 and screen_len > 1e-6:
            shift = screen / screen_len * r * 0.4
            shrink = (b - a) * 0.12
            cv2.line(image, _fixed(a + shift + shrink), _fixed(b + shift - shrink), _rgb(lit), max(1, int(round(r * 0.55))), cv2.LINE_AA, shift=4)

    def _sphere(self, image, centre_cam, radius, colour) -> None:
        camera = self.camera
        centre = camera.project(centre_cam)
        r = float(camera.pixel_radius(radius, centre_cam[2]))
        body, lit, edge = self._shade(1.0, colour)
        c = _fixed(centre)
        cv2.circle(image, c, int(round((r + 0.75) * 16)), _rgb(edge), -1, cv2.LINE_AA, shift=4)
        cv2.circle(image, c, int(round(max(r - 0.5, 0.5) * 16)), _rgb(body), -1, cv2.LINE_AA, shift=4)
        light2d = np.array([self.light @ camera.right, -(self.light @ camera.up)])
        if r >= 2.0:
            spot = centre + light2d / max(np.linalg.norm(light2d), 1e-9) * r * 0.35
            cv2.circle(image, _fixed(spot), int(round(r * 0.4 * 16)), _rgb(lit), -1, cv2.LINE_AA, shift=4)

    def _shadow(self, image: np.ndarray, joints: np.ndarray, target: np.ndarray) -> None:
        """Bones projected onto the floor along the light, blurred and darkened into the image."""
        drop = (joints[:, 1] - self.floor_y) / max(self.light[1], 1e-3)
        flat = joints - drop[:, None] * self.light
        flat[:, 1] = self.floor_y
        cam = self.camera.to_camera(flat, target)
        xy = self.camera.project(cam)
        shown = self._drawable(cam, xy)
        mask = np.zeros(image.shape[:2], np.uint8)
        for parent, child, radius, _ in self.figure.bones:
            if not (shown[parent] and shown[child]):
                continue
            r = float(self.camera.pixel_radius(radius, (cam[parent, 2] + cam[child, 2]) / 2))
            cv2.line(mask, _fixed(xy[parent]), _fixed(xy[child]), 255, max(1, int(round(2 * r))), cv2.LINE_AA, shift=4)
        sigma = max(image.shape[:2]) / 150
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        factor = 1.0 - 0.35 * (mask.astype(np.float32) / 255.0)
        image[:] = (image * factor[..., None]).astype(np.uint8)


def _fixed(point) -> tuple[int, int]:
    """A pixel position in cv2's 4-bit fixed point (sub-pixel accurate drawing)."""
    return int(round(float(point[0]) * 16)), int(round(float(point[1]) * 16))


def _rgb(colour) -> tuple[int, int, int]:
    return tuple(int(c) for c in colour)


def render_frames(motion: Motion, options: RenderOptions = RenderOptions()) -> Iterator[np.ndarray]:
    """Yield the uint8 RGB frames of ``motion`` filmed with ``options``.

    Examples
    --------
    >>> from keyframe.motion.bvh import parse_bvh
    >>> text = ("HIERARCHY\\nROOT Hips\\n{\\nOFFSET 0 0 0\\nCHANNELS 3 Zrotation Xrotation Yrotation\\n"
    ...         "JOINT Head\\n{\\nOFFSET 0 50 0\\nEnd Site\\n{\\nOFFSET 0 10 0\\n}\\n}\\n}\\n"
    ...         "MOTION\\nFrames: 2\\nFrame Time: 0.04\\n0 0 0\\n10 0 0\\n")
    >>> [f.shape for f in render_frames(parse_bvh(text), RenderOptions(size=(64, 48)))]
    [(48, 64, 3), (48, 64, 3)]
    """
    renderer = Renderer(motion, options)
    for index in range(len(renderer)):
        yield renderer.frame(index)


def render_motion(
    bvh: str | os.PathLike | Motion, out: str | os.PathLike, options: RenderOptions = RenderOptions(), crf: int = 18, progress=None
) -> dict:
    """Render a BVH file to an H.264 mp4 (written atomically); returns a summary.

    Examples
    --------
    >>> render_motion("bow.bvh", "bow.mp4", RenderOptions(size=(320, 240), azimuth=30))  # doctest: +SKIP
    {'frames': 128, 'fps': 30.0, 'size': [320, 240], 'azimuth': 30, ...}
    """
    from keyframe.io import VideoWriter

    check_mp4(out)
    check_replaceable(out)
    motion = bvh if isinstance(bvh, Motion) else read_bvh(bvh)
    renderer = Renderer(motion, options)
    total = len(renderer)
    with VideoWriter(out, renderer.fps, crf=crf) as writer:
        for index in range(total):
            writer.write(renderer.frame(index))
            report(progress, index + 1, total)
    log.info("%s: %d frames -> %s", motion.path, total, out)
    return {
        "frames": total,
        "fps": float(stored_rate(renderer.fps)),  # as written: the file's rate, not Frame Time's last digits
        "size": [side + side % 2 for side in options.size],  # as written: H.264 in yuv420p needs even sides
        "azimuth": options.azimuth,
        "elevation": options.elevation,
        "follow": options.follow,
        "out": str(Path(out)),
    }
