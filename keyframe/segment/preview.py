"""A video to look at masks with: every frame with its segments tinted and outlined in their own colours.

Examples
--------
>>> from keyframe.segment.preview import preview
>>> preview("clip.mp4", "out/masks", "preview.mp4")  # doctest: +SKIP
120
"""

from __future__ import annotations

import colorsys
import math
import os

import cv2
import numpy as np

from keyframe.errors import KeyframeError, fail
from keyframe.io import open_frames, read_mask
from keyframe.io.atomic import check_file_apart
from keyframe.io.frames import sound_of, writer_for
from keyframe.io.images import check_rgb, list_images, mask_folder, mask_size
from keyframe.progress import report

# Colours of segments 1, 2, ... (and of the 255 of binary masks): far apart from each other and from skin and sky.
PALETTE = np.array([(255, 64, 64), (64, 160, 255), (255, 200, 0), (160, 64, 255), (0, 220, 120), (255, 96, 200),
                    (0, 200, 220), (255, 140, 0)], np.float32)


def segment_colour(label: int) -> np.ndarray:
    """The RGB colour segment ``label`` is drawn in (255, a binary mask's foreground, as segment 1).

    The first segments take :data:`PALETTE`; later ones hues a golden ratio of the circle apart, at two
    brightnesses, so that segments 1 and 9 (or any two of a label map) are not drawn alike.

    Examples
    --------
    >>> segment_colour(1).tolist(), segment_colour(255).tolist()
    ([255.0, 64.0, 64.0], [255.0, 64.0, 64.0])
    >>> len({tuple(segment_colour(label).tolist()) for label in range(1, 255)})
    254
    """
    index = 0 if label == 255 else label - 1
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.6180339887) % 1.0
    return np.round(np.array(colorsys.hsv_to_rgb(hue, 0.75, 1.0 if index % 2 else 0.75)) * 255).astype(np.float32)


def overlay(frame: np.ndarray, labels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """``frame`` with each segment of ``labels`` (0 is background, left as it is) tinted by ``alpha`` of its
    colour and outlined in it.

    Examples
    --------
    >>> labels = np.zeros((5, 5), np.uint8); labels[1:4, 1:4] = 1
    >>> out = overlay(np.zeros((5, 5, 3), np.uint8), labels)
    >>> out[0, 0].tolist(), out[1, 1].tolist(), out[2, 2].tolist()  # background, outline, inside
    ([0, 0, 0], [255, 64, 64], [115, 29, 29])
    """
    check_tint(alpha, "overlay's alpha")
    frame, labels = check_rgb(frame, "overlay's frame"), np.asarray(labels)
    if labels.shape != frame.shape[:2]:
        raise ValueError(f"labels {labels.shape} do not match the frame {frame.shape[:2]}")
    out = frame.astype(np.float32)
    for label in np.unique(labels):
        if label == 0:
            continue
        inside = labels == label
        colour = segment_colour(int(label))
        out[inside] = (1 - alpha) * out[inside] + alpha * colour
        eroded = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
        out[inside & ~eroded.astype(bool)] = colour
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def check_tint(tint: float, name: str = "--tint") -> float:
    """``tint`` if it is a number from 0 to 1; a KeyframeError naming ``name`` otherwise."""
    try:
        number = float(tint)
    except (TypeError, ValueError):
        number = math.nan
    if not 0 <= number <= 1:  # one message for either side, NaN included
        raise KeyframeError(f"{name} must be from 0 (outlines only) to 1 (segments painted over), got {tint}")
    return float(tint)


def preview(frames, masks, out_video: str | os.PathLike, crf: int = 23, progress=None, tint: float = 0.45) -> int:
    """Write ``out_video``: every frame of ``frames`` with its mask from the folder ``masks`` drawn over it
    (:func:`overlay`, ``tint`` its ``alpha``: 0 draws the outlines alone, to judge the edge by; a frame without
    a mask, as between hand-made ones, is shown as it is). It plays as the frames do (their rate, or each frame
    at its time where the rate varies), with their video's sound. Returns the frame count.
    """
    check_tint(tint)
    source = open_frames(frames)
    folder = mask_folder(masks)
    check_file_apart(out_video, [source.path, source.origin, folder])
    by_stem = masks_of_frames(folder, source)
    with writer_for(source, out_video, crf=crf, audio=sound_of(source)) as writer:
        for frame in source.iter_frames():
            mask = by_stem.get(frame.stem)
            labels = read_mask(mask) if mask is not None else None
            if labels is not None and labels.shape != frame.rgb.shape[:2]:  # a header that lied
                raise fail(mask, f"is {labels.shape[1]}x{labels.shape[0]} but its frame is {frame.rgb.shape[1]}x{frame.rgb.shape[0]}")
            writer.write_frame(frame.index, overlay(frame.rgb, labels, tint) if labels is not None else frame.rgb)
            report(progress, frame.index + 1, len(source), "drawing the masks")
    return writer.frames


def masks_of_frames(folder, source) -> dict:
    """The mask files of ``folder`` by frame stem, checked before any work: each must be named as a frame of
    ``source`` and have its size (from the file's header), and at least one must be there.

    A mask that names no frame (a typo, or a mask of a longer clip) would otherwise be left out of the video
    without a word, and a wrong size would be found only when its frame is reached.
    """
    by_stem = {path.stem: path for path in list_images(folder)}
    stems = set(source.stems)
    if not stems & set(by_stem):  # the whole folder is named otherwise (or empty): say so once
        raise fail(folder, f"has no mask named as a frame of {source.path} ({source.naming})")
    height, width = source.size
    for stem, path in by_stem.items():
        if stem not in stems:
            raise fail(path, f"has no frame of that name in {source.path} ({source.naming})")
        size = mask_size(path)
        if size != (height, width):
            raise fail(path, f"is {size[1]}x{size[0]} but its frame is {width}x{height}")
    return by_stem
