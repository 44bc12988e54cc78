"""Cut-outs: the segmented subject on a transparent background, as video editors import it.

``segment`` gives a mask per frame; a cut-out gives the frame itself with the mask as its alpha channel, so it
can be laid over another shot in any editor (After Effects, Resolve, Premiere, Blender): a folder of RGBA PNGs,
or one ProRes 4444 ``.mov`` that keeps the transparency.

Examples
--------
>>> from keyframe.segment.cutout import write_cutouts
>>> write_cutouts("clip.mp4", "out/masks", "cutout.mov", feather=1.5)  # doctest: +SKIP
120
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from keyframe.errors import fail, is_whole
from keyframe.io import open_frames, staged_dir, write_image
from keyframe.io.atomic import check_file_apart, check_output_folder
from keyframe.io.frames import sound_of, source_identity, unwritten_frames, write_manifest, writer_for
from keyframe.io.images import SegmentMasks, check_rgb
from keyframe.io.video import VIDEO_SUFFIXES, check_replaceable
from keyframe.progress import report
from keyframe.stylize.functional import check_feather, feather as soften

log = logging.getLogger(__name__)

MOVIE_SUFFIX = ".mov"
CUTOUT_KIND = "segment cutout"  # the command that wrote a folder of cut-outs, as its listing records it


def cutout(rgb: np.ndarray, labels: np.ndarray, segments=None, feather: float = 0.0) -> np.ndarray:
    """``rgb`` with an alpha channel that is opaque on ``segments`` of ``labels`` (segment values 1-255, or one
    value; every segment, all that is not 0, when None or empty) and transparent elsewhere, its edge softened over
    about ``feather`` pixels.

    Examples
    --------
    >>> labels = np.zeros((4, 4), np.uint8); labels[1:3, 1:3] = 2
    >>> cutout(np.full((4, 4, 3), 9, np.uint8), labels)[..., 3]
    array([[  0,   0,   0,   0],
           [  0, 255, 255,   0],
           [  0, 255, 255,   0],
           [  0,   0,   0,   0]], dtype=uint8)
    """
    rgb, labels = check_rgb(rgb, "cutout's frame"), np.asarray(labels)
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"labels {labels.shape} do not match the frame {rgb.shape[:2]}")
    check_feather(feather)
    chosen = chosen_segments(segments)
    region = labels != 0 if chosen is None else np.isin(labels, chosen)
    alpha = np.rint(soften(region, feather) * 255).astype(np.uint8)
    return np.dstack([rgb, alpha])


def write_cutouts(frames, masks, out: str | os.PathLike, segments=None, feather: float = 0.0, progress=None,
                  binary: bool = False, grow: float = 0.0) -> int:
    """Write the cut-out (:func:`cutout`) of every frame of ``frames`` by its mask in ``masks``: to the folder
    ``out`` as RGBA PNGs named as the frames (with the frames' ``video.json``), or, when ``out`` ends in
    ``.mov``, to a ProRes 4444 video with their timing and sound. Every frame needs a mask, of its size:
    ``segment``'s output, or a hand-made mask for each (with ``binary``, each read as one segment, 255 where it is
    128 or more: a matte with soft edges). ``grow`` grows every segment by that many pixels into the background
    first (:func:`keyframe.io.grow_segments`), to take in hair or fur the masks left out. Returns the frame count.
    """
    check_feather(feather)
    source = open_frames(frames)
    labels_of = SegmentMasks(masks, source, binary, grow)
    out = Path(out)
    if out.suffix.lower() in VIDEO_SUFFIXES and out.suffix.lower() != MOVIE_SUFFIX:
        raise fail(out, f"cut-outs go to a folder of PNGs or to a {MOVIE_SUFFIX} (ProRes 4444): a {out.suffix} video "
                        "cannot hold their transparency")
    check_file_apart(out, [source.path, source.origin, labels_of.folder])
    # The output is checked before the masks are read through, which takes a while on a long video.
    if out.suffix.lower() == MOVIE_SUFFIX:
        check_replaceable(out)
    else:
        check_output_folder(out, [source.path, labels_of.folder], CUTOUT_KIND)
    chosen = chosen_segments(segments)
    found = labels_of.check_all(progress)
    absent = sorted(set(chosen or ()) - found)
    if absent:
        segments_found = ", ".join(map(str, sorted(found - {0}))) or "none"
        raise fail("--segment", f"{absent[0]} occurs in no mask of {labels_of.folder} (its segments: {segments_found}); "
                                "the cut-outs would be empty")

    def cut(frame):
        return cutout(frame.rgb, labels_of.labels(frame.stem), chosen, feather)

    if out.suffix.lower() == MOVIE_SUFFIX:
        with writer_for(source, out, audio=sound_of(source), alpha=True) as writer:
            for frame in source.iter_frames():
                writer.write_frame(frame.index, cut(frame))
                report(progress, frame.index + 1, len(source), "cutting out")
    else:
        made_from = {"frames": source_identity(source), "masks": labels_of.identity(),
                     "segments": chosen, "feather": feather}
        with staged_dir(out, made_from, inputs=[source.path, labels_of.folder], kind=CUTOUT_KIND) as stage:
            # Frames an interrupted run from the same inputs cut are kept (each written whole).
            for frame in unwritten_frames(source, stage, progress, "cutting out"):
                write_image(stage / f"{frame.stem}.png", cut(frame))
            write_manifest(stage, source)
    return len(source)


def chosen_segments(segments) -> list[int] | None:
    """The segment values ``segments`` names (an iterable of them, or one), sorted; None, every segment, for None or
    an empty iterable (as when no ``--segment`` is given).

    Examples
    --------
    >>> chosen_segments([255, 3, 3]), chosen_segments(7), chosen_segments([])
    ([3, 255], [7], None)
    """
    if segments is None:
        return None
    if is_whole(segments):
        segments = [segments]
    if isinstance(segments, (str, bytes)) or not hasattr(segments, "__iter__"):
        raise fail("--segment", f"segments are mask values 1 to 255, e.g. [255], got {segments!r}")
    return sorted({_segment_id(segment) for segment in segments}) or None


def _segment_id(segment) -> int:
    if not is_whole(segment) or not 1 <= segment <= 255:
        raise fail("--segment", f"must be a segment's mask value, 1 to 255 (0 is the background), got {segment!r}")
    return int(segment)
