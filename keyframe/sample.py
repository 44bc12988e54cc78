"""A built-in sample video: an articulated figure doing a named movement.

Everything is generated from a seed, with no data files: a textured
background with a few static objects, a figure in striped clothes whose
limbs follow the movement, camera noise and a slight exposure flicker, and
the exact mask of the figure for every frame. It feeds ``keyframe demo`` and
the tests.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from keyframe.errors import KeyframeError, check_seed
from keyframe.io.atomic import partial_dir, published_whole, staged_dir, write_json
from keyframe.io.images import write_image, write_mask
from keyframe.io.video import VideoWriter
from keyframe.progress import report

FPS = 25.0
MAX_PIXELS = 16_000_000  # a sample is held in memory whole: a 4K frame count is plenty for a demo
MAX_SAMPLE_BYTES = 4 << 30  # frames (3 bytes a pixel) and masks (1) held at once
# Segment lengths as fractions of the figure's height.
HEAD, NECK, TORSO = 0.062, 0.035, 0.27
UPPER_ARM, FOREARM, THIGH, SHIN = 0.15, 0.14, 0.23, 0.22
SHOULDER, HIP = 0.085, 0.05
# Part ids of the label map, drawn back to front.
TORSO_ID, LEG_ID, ARM_ID, SKIN_ID = 1, 2, 3, 4


@dataclass(frozen=True)
class Pose:
    """Limb angles in radians from pointing straight down, positive outwards; lengths scale foreshortening."""

    upper_arm: tuple[float, float]
    forearm: tuple[float, float]
    thigh: tuple[float, float]
    shin: tuple[float, float]
    thigh_length: tuple[float, float] = (1.0, 1.0)
    arm_length: tuple[float, float] = (1.0, 1.0)
    lift: float = 0.0
    lean: float = 0.0


def _swing(phase: float) -> float:
    """0 -> 1 -> 0 over one period, smooth at both ends."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * phase)


def pose_wave(phase: float) -> Pose:
    wag = math.sin(2 * math.pi * phase)
    return Pose(
        upper_arm=(0.18, 2.35 + 0.1 * wag),
        forearm=(0.12, math.pi - 0.55 * wag),
        thigh=(0.07, 0.07),
        shin=(0.05, 0.05),
        lean=0.03 * wag,
    )


def pose_squat(phase: float) -> Pose:
    depth = _swing(phase)
    return Pose(
        upper_arm=(0.2 + 1.25 * depth, 0.2 + 1.25 * depth),
        forearm=(0.2 + 1.3 * depth, 0.2 + 1.3 * depth),
        thigh=(0.08 + 0.95 * depth, 0.08 + 0.95 * depth),
        shin=(0.06 - 0.45 * depth, 0.06 - 0.45 * depth),
        thigh_length=(1 - 0.5 * depth, 1 - 0.5 * depth),
        arm_length=(1 - 0.35 * depth, 1 - 0.35 * depth),
    )


def pose_jumping_jack(phase: float) -> Pose:
    spread = _swing(phase)
    return Pose(
        upper_arm=(0.15 + 2.55 * spread, 0.15 + 2.55 * spread),
        forearm=(0.12 + 2.75 * spread, 0.12 + 2.75 * spread),
        thigh=(0.05 + 0.33 * spread, 0.05 + 0.33 * spread),
        shin=(0.05 + 0.3 * spread, 0.05 + 0.3 * spread),
        lift=0.05 * abs(math.sin(2 * math.pi * phase)),
    )


def pose_march(phase: float) -> Pose:
    step = math.sin(2 * math.pi * phase)
    left, right = max(step, 0.0), max(-step, 0.0)
    return Pose(
        upper_arm=(0.15 + 0.35 * right, 0.15 + 0.35 * left),
        forearm=(0.25 + 0.9 * right, 0.25 + 0.9 * left),
        thigh=(0.06 + 0.25 * left, 0.06 + 0.25 * right),
        shin=(0.04 - 0.2 * left, 0.04 - 0.2 * right),
        thigh_length=(1 - 0.6 * left, 1 - 0.6 * right),
        arm_length=(1 - 0.3 * right, 1 - 0.3 * left),
    )


MOVEMENTS = {"wave": pose_wave, "squat": pose_squat, "jumping_jack": pose_jumping_jack, "march": pose_march}


@dataclass
class Sample:
    """A generated clip: frames ``(N, H, W, 3)`` uint8 RGB and masks ``(N, H, W)`` uint8 0/255."""

    frames: np.ndarray
    masks: np.ndarray
    movement: str
    seed: int
    fps: float = FPS

    @property
    def stems(self) -> list[str]:
        return [f"{i:06d}" for i in range(len(self.frames))]


def _direction(angle: float, side: int) -> np.ndarray:
    return np.array([side * math.sin(angle), math.cos(angle)])


def skeleton(pose: Pose, height: float, center_x: float, ground_y: float) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Bones of the figure in pixel coordinates, grouped by part, for one pose."""
    leg_drop = [
        height * (THIGH * pose.thigh_length[i] * math.cos(pose.thigh[i]) + SHIN * math.cos(pose.shin[i])) for i in range(2)
    ]
    pelvis = np.array([center_x, ground_y - max(leg_drop) - height * 0.02 - height * pose.lift])
    lean = np.array([math.sin(pose.lean), -math.cos(pose.lean)])
    chest = pelvis + lean * height * TORSO
    neck = chest + lean * height * NECK
    bones: dict[str, list] = {"torso": [(pelvis, chest)], "legs": [], "arms": [], "skin": [(chest, neck)]}
    for i, side in enumerate((-1, 1)):
        hip = pelvis + np.array([side * HIP * height, 0.0])
        knee = hip + _direction(pose.thigh[i], side) * THIGH * pose.thigh_length[i] * height
        ankle = knee + _direction(pose.shin[i], side) * SHIN * height
        bones["legs"] += [(hip, knee), (knee, ankle)]
        shoulder = chest + np.array([side * SHOULDER * height, 0.0])
        elbow = shoulder + _direction(pose.upper_arm[i], side) * UPPER_ARM * pose.arm_length[i] * height
        wrist = elbow + _direction(pose.forearm[i], side) * FOREARM * pose.arm_length[i] * height
        bones["arms"].append((shoulder, elbow))
        bones["skin"].append((elbow, wrist))
        bones["torso"].append((chest, shoulder))
    bones["head"] = [(neck + lean * height * HEAD * 0.9, None)]
    return bones


def draw_figure(labels: np.ndarray, bones: dict, height: float) -> None:
    """Paint part ids into ``labels`` (0 stays background); no anti-aliasing, so masks are exact."""

    def line(a, b, width, value):
        cv2.line(labels, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), value, max(1, int(width)), cv2.LINE_8)

    for a, b in bones["torso"][:1]:
        line(a, b, height * 0.15, TORSO_ID)
    for a, b in bones["torso"][1:]:
        line(a, b, height * 0.07, TORSO_ID)
    for a, b in bones["legs"]:
        line(a, b, height * 0.07, LEG_ID)
    for a, b in bones["arms"]:
        line(a, b, height * 0.055, ARM_ID)
    for a, b in bones["skin"]:
        line(a, b, height * 0.045, SKIN_ID)
    center = bones["head"][0][0]
    cv2.circle(labels, tuple(int(round(v)) for v in center), int(height * HEAD), SKIN_ID, -1, cv2.LINE_8)


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded textured backdrop: multi-scale smooth noise over a colour gradient, with a few objects."""
    image = np.zeros((height, width, 3), np.float32)
    base = rng.uniform(60, 190, 3)
    ramp = np.linspace(-1, 1, height, dtype=np.float32)[:, None, None]
    image += base + ramp * rng.uniform(-40, 40, 3)
    for scale, amplitude in ((32, 30.0), (8, 14.0), (2, 6.0)):
        small = rng.normal(0, 1, (max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        image += amplitude * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 7))):
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 12, width // 4)), int(rng.integers(height // 12, height // 4))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, -1, cv2.LINE_AA)
        else:
            cv2.ellipse(image, (x, y), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    ground = int(height * 0.88)
    image[ground:] = image[ground:] * 0.75 + np.array([90, 80, 60], np.float32) * 0.25
    return image


def clothing(labels: np.ndarray, palette: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Colour the part-id map, with horizontal stripes on the shirt and sleeves."""
    colour = palette[labels]
    stripes = (np.sin(rows / 3.0) > 0.3)[:, None]
    shirt = (labels == TORSO_ID) | (labels == ARM_ID)
    colour[shirt & stripes] *= 0.6
    return colour


def make_sample(
    movement: str = "wave",
    frames: int = 60,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    period: float | None = None,
    progress=None,
) -> Sample:
    """Generate a clip of a figure doing ``movement``, with exact masks.

    Parameters
    ----------
    movement : one of ``wave``, ``squat``, ``jumping_jack``, ``march``.
    frames : number of frames.
    size : ``(width, height)`` in pixels.
    seed : fixes the background, clothes, position, tempo and noise.
    period : frames per repetition; by default drawn from the seed (22 to 30).
    progress : called with ``(done, total, note)`` after each frame (:func:`keyframe.progress.report`).

    Examples
    --------
    >>> sample = make_sample("squat", frames=8, size=(96, 72), seed=1)
    >>> sample.frames.shape, sample.masks.shape, sorted(set(sample.masks.ravel().tolist()))
    ((8, 72, 96, 3), (8, 72, 96), [0, 255])
    """
    if movement not in MOVEMENTS:
        raise KeyframeError(f"--movement: unknown movement {movement!r}; choose one of {', '.join(MOVEMENTS)}")
    if frames < 1:
        raise KeyframeError(f"--frames must be at least 1, got {frames}")
    width, height = size
    if width < 32 or height < 32:
        raise KeyframeError(f"--size must be at least 32x32, got {width}x{height}")
    if width % 2 or height % 2:  # its video.mp4 (H.264, yuv420p) could only pad them, and no longer match the masks
        raise KeyframeError(f"--size must have even sides, got {width}x{height}")
    if width * height > MAX_PIXELS:
        raise KeyframeError(f"--size must be at most {MAX_PIXELS:,} pixels, got {width}x{height} ({width * height:,})")
    if frames * width * height * 4 > MAX_SAMPLE_BYTES:  # frames and masks are made in memory
        most = MAX_SAMPLE_BYTES // (width * height * 4)
        raise KeyframeError(f"--frames must be at most {most} at {width}x{height} (the sample is made in memory), "
                            f"got {frames}")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    backdrop = background(width, height, rng)
    palette = np.array(
        [[0, 0, 0], rng.uniform(30, 230, 3), rng.uniform(20, 140, 3), rng.uniform(30, 230, 3), [224, 172, 140]],
        np.float32,
    )
    palette[ARM_ID] = palette[TORSO_ID]
    figure_height = height * rng.uniform(0.62, 0.72)
    center_x = width * rng.uniform(0.38, 0.62)
    ground_y = height * rng.uniform(0.9, 0.95)
    period = period or float(rng.uniform(22, 30))
    offset = rng.uniform(0, 1)
    pose_of = MOVEMENTS[movement]
    rows = np.arange(height, dtype=np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    masks = np.empty((frames, height, width), np.uint8)
    labels = np.zeros((height, width), np.uint8)
    for t in range(frames):
        labels[:] = 0
        sway = 0.01 * width * math.sin(2 * math.pi * t / (period * 3.1))
        draw_figure(labels, skeleton(pose_of(t / period + offset), figure_height, center_x + sway, ground_y), figure_height)
        figure = labels > 0
        image = np.where(figure[..., None], clothing(labels, palette, rows), backdrop)
        image *= 1.0 + 0.03 * math.sin(t * 0.7 + seed)
        image += rng.normal(0, 2.5, image.shape).astype(np.float32)
        out[t] = np.clip(image, 0, 255).astype(np.uint8)
        masks[t] = figure * np.uint8(255)
        report(progress, t + 1, frames, "drawing")
    return Sample(out, masks, movement, seed)


def write_sample(out_dir: str | Path, sample: Sample, progress=None) -> Path:
    """Write ``frames/``, ``masks/`` (PNG per frame), ``video.mp4`` and ``sample.json`` under ``out_dir``.

    The folder is built as ``out_dir.partial`` and renamed when complete. A folder that holds this very sample, whole,
    is left as it is: written again, its files' new times would make the work kept from them look stale.
    """
    out_dir = Path(out_dir)
    digest = hashlib.sha1(np.ascontiguousarray(sample.frames))
    digest.update(np.ascontiguousarray(sample.masks))
    made_from = digest.hexdigest()
    if _holds_sample(out_dir, made_from):
        return out_dir
    count = len(sample.frames)
    with staged_dir(out_dir, made_from, kind="sample") as stage:
        for number, (stem, frame, mask) in enumerate(zip(sample.stems, sample.frames, sample.masks), 1):
            write_image(stage / "frames" / f"{stem}.png", frame)
            write_mask(stage / "masks" / f"{stem}.png", mask)
            report(progress, number, count, "writing frames and masks")
        with VideoWriter(stage / "video.mp4", sample.fps) as writer:
            for number, frame in enumerate(sample.frames, 1):
                writer.write(frame)
                report(progress, number, count, "encoding video.mp4")
        info = {"movement": sample.movement, "seed": sample.seed, "fps": sample.fps, "frame_count": len(sample.frames),
                "width": sample.frames.shape[2], "height": sample.frames.shape[1], "digest": made_from}
        write_json(stage / "sample.json", info)
        # The video the frames are: a --video output of a command run on them may not overwrite it.
        write_json(stage / "frames" / "video.json", {"fps": sample.fps, "origin": "../video.mp4", **info})
    return out_dir


def _holds_sample(out_dir: Path, digest: str) -> bool:
    """Whether ``out_dir`` is a published sample of these pixels (``digest``) with every file it was published with."""
    try:
        info = json.loads((out_dir / "sample.json").read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(info, dict) and info.get("digest") == digest and published_whole(out_dir)
            and not partial_dir(out_dir).exists())
