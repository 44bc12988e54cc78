"""Whole-video stylization from painted keyframes, per segment, and compositing of per-segment results.

Keyframe layout (``STYLED_DIR``)
--------------------------------
* Whole frame: ``STYLED_DIR/<stem>.png``, one painted image per keyframe, named
  as the frame it paints. One model learns all of them.
* Per segment (needs a segmentation, ``masks``): ``STYLED_DIR/<segment-id>/<stem>.png``.
  The segment id is the mask value: label maps from ``keyframe segment`` use
  ``0`` for the background and ``1..K`` for segments; **binary 0/255 masks use
  ``255`` for the foreground and ``0`` for the background**. Each segment with
  keyframes gets its own model, trained only inside that segment (grown by a few
  pixels); the results are blended with feathered masks, and a segment without
  keyframes keeps the original frame.

Outputs: ``OUT_DIR/<stem>.png`` for every frame (same size as the frame),
the trained models under ``OUT_DIR/models/`` (``style.pt``, or
``segment-<id>.pt``), and ``stylized.json``: the segments styled, from which
frames and masks, with which feather (what :func:`composite` needs to join
separate runs without a rim). Running again with the same keyframes resumes from those
models, so a larger ``iterations`` continues training instead of restarting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import torch

from keyframe.errors import check_count, check_seed, fail, is_whole
from keyframe.io import (check_writable, encode_frames, input_identity, list_images, open_frames, read_image, staged_dir,
                         write_image)
from keyframe.io.atomic import (carry_published, check_file_apart, check_output_folder, locks_output, published_files,
                                published_from)
from keyframe.io.frames import (DEFAULT_FPS, FrameSource, InOrder, sound_of, source_identity, unwritten_frames,
                                write_manifest)
from keyframe.io.images import IMAGE_SUFFIXES, SegmentMasks, check_grow, check_rgb, read_image_alpha
from keyframe.io.video import VIDEO_SUFFIXES, check_mp4, check_replaceable
from keyframe.progress import report
from keyframe.stylize import functional as SF
from keyframe.stylize.guides import GUIDE_CHANNELS, BlobTrack, track_blobs
from keyframe.nets.threads import auto_threads, torch_threads
from keyframe.stylize.train import KeyPair, StyleConfig, StyleModel, TrainConfig, shown_path, train_style

log = logging.getLogger(__name__)

DEFAULT_FEATHER = 4.0
CROP_MARGIN = 32
MODELS_DIR = "models"
# Beside the frames in the staging folder while they are rendered: how they were rendered (not published).
RENDER_SETTINGS = "rendering.json"
# Beside published frames: what they were rendered from and which segments they stylize, so that `composite` can take
# the feathered edges of a run that stylized only some segments apart from the original frame (SF.unblend).
LAYER_RECORD = "stylized.json"
WHOLE = None  # the "segment" of whole-frame keyframes


@dataclass(frozen=True)
class Keyframes:
    """Painted keyframes found in a ``STYLED_DIR``.

    Attributes
    ----------
    folder : Path
        The ``STYLED_DIR``.
    segmented : bool
        True for the per-segment layout.
    files : dict
        Segment id (``None`` for whole-frame keyframes) -> ``{frame stem: painted image path}``.
    """

    folder: Path
    segmented: bool
    files: dict[int | None, dict[str, Path]]


def find_keyframes(keys: str | os.PathLike, source: FrameSource) -> Keyframes:
    """Find and check the painted keyframes of ``keys`` against the frames of ``source``.

    Raises a KeyframeError for a missing or empty folder, a folder mixing both
    layouts, a segment folder that is not a mask value, a keyframe named after
    no frame, and a keyframe whose size differs from its frame's.
    """
    folder = Path(keys)
    if not folder.is_dir():
        raise fail(folder, "is a file, not a folder of keyframes" if folder.exists() else "no such folder of keyframes")
    images = list_images(folder)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if images and subdirs:
        segment_dirs = [sub for sub in subdirs if sub.name.isdigit()]
        if segment_dirs:
            raise fail(folder, f"mixes keyframe images with segment folders ({segment_dirs[0].name}/); use one layout")
        # Whole-frame keyframes beside a folder of something else (old versions, references): not keyframes.
        names = ", ".join(f"{sub.name}/" for sub in subdirs)
        log.warning("%s: %s", folder, f"{names} is not a segment id; the whole-frame keyframes beside it are used, and "
                    "it is left out" if len(subdirs) == 1 else f"{names} are not segment ids; the whole-frame keyframes "
                    "beside them are used, and they are left out")
        subdirs = []
    if not images and not subdirs:
        others = _not_keyframes(folder, with_folders=False)
        held = f"; it holds {others} and no image" if others else ""
        raise fail(folder, f"contains no keyframes (expected <stem>.png or <segment-id>/<stem>.png{held})")
    _warn_of_not_keyframes(folder, with_folders=False)
    files: dict[int | None, dict[str, Path]] = {}
    if images:
        files[WHOLE] = _check_images(images, source)
    for sub in subdirs:
        if not sub.name.isdigit() or not 0 <= int(sub.name) <= 255:
            raise fail(sub, "is not a segment id (a mask value 0-255; binary masks: 255 foreground, 0 background)")
        segment = int(sub.name)
        if segment in files:
            twin = next(other for other in subdirs if other.name != sub.name and int(other.name) == segment)
            raise fail(sub, f"is segment {segment} again, as {twin.name}/ is; keep one folder per segment")
        found = list_images(sub)
        if not found:
            others = _not_keyframes(sub, with_folders=True)
            raise fail(sub, "contains no keyframes" + (f" (it holds {others} and no image)" if others else ""))
        _warn_of_not_keyframes(sub, with_folders=True)
        files[segment] = _check_images(found, source)
    return Keyframes(folder, bool(subdirs), files)


FILE_MANAGER_FILES = ("thumbs.db", "desktop.ini")  # what Windows' file manager leaves in a folder of images


def _not_keyframes(folder: Path, with_folders: bool) -> str:
    """What else ``folder`` holds, named (a few): files that are no images (a painting program's own format,
    notes), and with ``with_folders`` its folders too; hidden files are not counted."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                   if not p.name.startswith(".") and p.name.lower() not in FILE_MANAGER_FILES
                   and (p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES or with_folders and p.is_dir()))
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _warn_of_not_keyframes(folder: Path, with_folders: bool) -> None:
    """Say what of ``folder`` is left out as no keyframe image, so a painting saved in another format is not
    missed without a word."""
    others = _not_keyframes(folder, with_folders)
    if others:
        log.warning("%s: %s left out: keyframes are images (PNG, JPEG, BMP, TIFF or WebP) named as their frames",
                    folder, others)


def _check_images(paths: list[Path], source: FrameSource) -> dict[str, Path]:
    height, width = source.size
    stems = set(source.stems)
    checked = {}
    for path in paths:
        if path.stem not in stems:
            raise fail(path, f"names no frame of {source.path} (keyframes are named as the frame they paint; "
                             f"{source.naming})")
        shape = read_image(path).shape[:2]
        if shape != (height, width):
            raise fail(path, f"is {shape[1]}x{shape[0]} but frame {path.stem!r} is {width}x{height}")
        checked[path.stem] = path
    return checked


@dataclass
class StylizeResult:
    """What :func:`stylize` did."""

    out_dir: Path
    frames: int
    segments: list[int | None]
    iterations: dict[str, int]
    train_seconds: float
    render_seconds: float
    video: Path | None = None
    models: dict[str, Path] = field(default_factory=dict)
    rendered: int = 0
    resumed_from: dict[str, int] = field(default_factory=dict)

    @property
    def trained(self) -> bool:
        """Whether this run trained a model, rather than loading every one as trained as asked by an earlier run."""
        return any(self.resumed_from.get(name, 0) < count for name, count in self.iterations.items())

    @property
    def frames_per_second(self) -> float:
        """Frames rendered (read, stylized, written) per second in this run."""
        return self.rendered / self.render_seconds if self.render_seconds > 0 and self.rendered else float("nan")


def parse_layers(specs: list[str]) -> dict[int, Path]:
    """``["255=fig/", "0=bg/"]`` -> ``{255: Path("fig"), 0: Path("bg")}`` (the ``--layer`` option of ``keyframe composite``).

    Examples
    --------
    >>> parse_layers(["255=styled_figure", "0=styled_background"])
    {255: PosixPath('styled_figure'), 0: PosixPath('styled_background')}
    """
    layers: dict[int, Path] = {}
    for spec in specs:
        segment, sep, folder = spec.partition("=")
        if not sep or not segment.strip().isdigit() or not folder or not 0 <= int(segment) <= 255:
            raise fail("--layer", f"expected SEGMENT_ID=DIR with an id 0-255 (the mask value), got {spec!r}")
        if int(segment) in layers:
            raise fail("--layer", f"segment {int(segment)} is given twice")
        layers[int(segment)] = Path(folder)
    return layers


def model_name(segment: int | None) -> str:
    """File name of a segment's model: ``style.pt`` for whole frames, ``segment-<id>.pt`` otherwise."""
    return "style.pt" if segment is WHOLE else f"segment-{segment}.pt"


def stylize_frame(
    models: Mapping[int | None, StyleModel],
    frame: np.ndarray,
    labels: np.ndarray | None = None,
    feather: float = DEFAULT_FEATHER,
    guide: np.ndarray | None = None,
) -> np.ndarray:
    """Stylize one frame: whole-frame model, or per-segment models blended with feathered masks.

    Each segment's model runs only on the bounding box of its (feathered)
    segment, grown by a margin for the network's context; pixels of segments
    without a model keep the frame.

    Parameters
    ----------
    models
        ``{None: model}`` for whole-frame keyframes, else segment id (an ``int`` mask value, 0-255) -> model.
    frame
        uint8 RGB ``(H, W, 3)``.
    labels
        uint8 ``(H, W)`` label map of the frame (needed for per-segment models).
    feather
        Feather radius of the segment masks, pixels (0 to 100, as :func:`stylize` takes it).
    guide
        float32 ``(H, W, 3)`` guide image for models that use guides (models without guides are not given it).

    Examples
    --------
    >>> frame = np.zeros((16, 16, 3), np.uint8); labels = np.zeros((16, 16), np.uint8)
    >>> stylize_frame({255: StyleModel()}, frame, labels).shape  # segment 255 absent: frame kept
    (16, 16, 3)
    """
    frame = check_rgb(frame, "frame")
    SF.check_feather(feather)
    guide = _check_frame_guide(models, guide, frame.shape[:2])
    if WHOLE in models:
        return models[WHOLE].apply(frame, guide)
    if labels is None:
        raise ValueError("per-segment models need the frame's label map")
    labels = SF.check_shape(labels, frame.shape[:2], "labels")
    _check_segment_ids(models)
    total = np.zeros(frame.shape, np.float32)
    weights = np.zeros(frame.shape[:2], np.float32)
    for segment, model in models.items():
        weight = SF.feather(labels == segment, feather)
        inner = SF.bounding_box(weight > 0)
        if inner is None:
            continue
        # The network sees a margin around the segment: its output near a crop edge lacks context.
        outer = SF.bounding_box(weight > 0, margin=CROP_MARGIN, multiple=model.alignment)
        crop_guide = guide[outer] if guide is not None and _uses_guides(model) else None
        layer = model.apply(frame[outer], crop_guide)
        rows = slice(inner[0].start - outer[0].start, inner[0].stop - outer[0].start)
        cols = slice(inner[1].start - outer[1].start, inner[1].stop - outer[1].start)
        SF.blend_layer(total, weights, layer[rows, cols], weight[inner], inner)
    return SF.finish_blend(frame, total, weights)


def _check_segment_ids(models: Mapping) -> None:
    """Refuse per-segment model keys that no label map holds: a ``"255"`` or ``255.0`` never equals a label, so its
    segment would silently keep the original frame."""
    for segment in models:
        if not is_whole(segment):
            raise TypeError(f"models key {segment!r} is not a segment id: use the mask value as an int (0-255), "
                            f"or None for a whole-frame model")
        if not 0 <= segment <= 255:
            raise ValueError(f"models key {segment} is not a segment id: label maps hold mask values 0-255")


def _check_frame_guide(models: Mapping, guide, size: tuple[int, int]) -> np.ndarray | None:
    """``guide`` (an array, or None) unless it is of another size than the frame (it would be cropped out of place)
    or none of ``models`` uses it (it would be ignored, silently): a ValueError then."""
    if guide is None:
        return None
    guide = SF.check_shape(guide, (*size, GUIDE_CHANNELS), "guide")
    if not any(_uses_guides(model) for model in models.values()):
        raise ValueError("guide given but none of the models was trained with guides; pass guide=None")
    return guide


def _uses_guides(model) -> bool:
    """Whether ``model`` takes a guide: models of separate runs may be mixed in one frame, and one without guides
    refuses a guide (stand-ins without a ``config`` are given it, as before)."""
    config = getattr(model, "config", None)
    return getattr(config, "guides", True)


def render_frames(
    models: Mapping[int | None, StyleModel],
    source: FrameSource,
    start: int = 0,
    stop: int | None = None,
    masks: SegmentMasks | None = None,
    feather: float = DEFAULT_FEATHER,
    track: BlobTrack | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(stem, stylized frame)`` for frames ``start:stop``: a pure function of the models and the range."""
    for frame in source.iter_frames(start, stop):
        labels = masks.labels(frame.stem) if masks is not None else None
        guide = track.render(frame.index) if track is not None else None
        yield frame.stem, stylize_frame(models, frame.rgb, labels, feather, guide)


def _resume_source(stage: Path, out_dir: Path, name: str) -> Path:
    """Checkpoint path in the staging folder, seeded from a finished run's model if there is one."""
    target = stage / MODELS_DIR / name
    finished = out_dir / MODELS_DIR / name
    if not target.exists() and finished.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(finished, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


@locks_output("out_dir")  # through the --video made of the frames: another run must not replace them meanwhile
def stylize(
    frames,
    keys: str | os.PathLike,
    out_dir: str | os.PathLike,
    masks: str | os.PathLike | None = None,
    iterations: int | None = None,
    *,
    style: StyleConfig = StyleConfig(),
    train: TrainConfig = TrainConfig(),
    feather: float = DEFAULT_FEATHER,
    video: str | os.PathLike | None = None,
    progress=None,
    binary: bool = False,
    grow: float = 0.0,
) -> StylizeResult:
    """Learn the look of painted keyframes and apply it to every frame.

    Parameters
    ----------
    frames
        Frame folder or video file (anything :func:`keyframe.io.open_frames` opens).
    keys
        ``STYLED_DIR`` in one of the two layouts of this module's docstring.
    out_dir
        Gets ``<stem>.png`` for every frame and ``models/``; built under
        ``<out_dir>.partial`` and published when complete.
    masks
        Segmentation folder (label maps named as the frames); required for,
        and only allowed with, per-segment keyframes.
    iterations
        Training iterations per model (default ``train.iterations``).
    style, train
        Model and training configuration.
    feather
        Feather radius (pixels) of segment masks when compositing.
    video
        Also encode the result to this mp4 (at the source's frame rate, else 25).
    progress
        ``progress(done, total, note)``: training (with the loss), then rendering.
    binary
        Read each of ``masks`` as one segment, 255 where it is 128 or more (mattes with soft edges).
    grow
        Grow each segment of ``masks`` but the background (0) by this many pixels into it, for training and
        rendering alike (:func:`keyframe.io.grow_segments`): hair or fur the masks left out is drawn in the
        figure's style instead of keeping the original frame.

    Returns
    -------
    StylizeResult

    Examples
    --------
    >>> stylize("frames/", "keys/", "styled/", iterations=1000)  # doctest: +SKIP
    >>> stylize("frames/", "keys/", "styled/", masks="masks/")  # keys/255/00040.png, keys/0/00040.png  # doctest: +SKIP
    """
    SF.check_feather(feather)
    check_grow(grow)
    check_seed(train.seed)
    if masks is None and grow:
        raise fail("--grow", "grows the segments of --masks; give the masks, or leave --grow out")
    source = open_frames(frames)
    _check_video_out(video, out_dir, source, keys, masks)
    keyframes = find_keyframes(keys, source)
    if keyframes.segmented and masks is None:
        raise fail(keyframes.folder, "holds per-segment keyframe folders; pass the segmentation with --masks")
    if not keyframes.segmented and masks is not None:
        raise fail(
            keyframes.folder,
            "with --masks, put keyframes in <segment-id>/<stem>.png (the mask value; binary masks: 255 foreground, 0 background)",
        )
    segment_masks = SegmentMasks(masks, source, binary, grow) if masks is not None else None
    shown: dict[str, np.ndarray] = {}  # label maps of the painted frames and a sample, read once
    if segment_masks is not None:
        painted = [stem for files in keyframes.files.values() for stem in files]
        shown = {stem: segment_masks.labels(stem) for stem in dict.fromkeys([*_sampled(source.stems), *painted])}
        segment_masks.warn_if_smoothed(list(shown.values()))
    if iterations is not None:
        check_count("--iterations", iterations)
        train = TrainConfig(**{**train.__dict__, "iterations": iterations})
    if segment_masks is not None:
        segment_masks.check_all(progress)
    out_dir = Path(out_dir)

    track = None
    if style.guides:
        anchor = min(source.index_of(stem) for stems in keyframes.files.values() for stem in stems)
        track = track_blobs(source, anchor, style.guide, progress)

    pairs_by_segment = {segment: _pairs(keyframes, segment, source, shown, track) for segment in keyframes.files}
    models: dict[int | None, StyleModel] = {}
    result = StylizeResult(out_dir, len(source), list(keyframes.files), {}, 0.0, 0.0)
    resumed = result.resumed_from
    # The models handle changes of their own (keys, seed, guides); frames rendered from other frames or masks must
    # go, and so must the models then. Another feather only re-renders (_clear_other_renders).
    kept_from = {"frames": source_identity(source), "masks": segment_masks.identity() if segment_masks else None}
    with staged_dir(out_dir, kept_from, inputs=[source.path, keys, masks], kind="stylize") as stage:
        started = time.perf_counter()
        for segment, pairs in pairs_by_segment.items():
            name = model_name(segment)
            checkpoint = _resume_source(stage, out_dir, name)
            note = "whole frame" if segment is WHOLE else f"segment {segment}"
            log.info("training %s on %d keyframe(s)", note, len(pairs))
            models[segment], stats = train_style(pairs, style, train, checkpoint, progress, note)
            result.iterations[note] = stats.iterations
            resumed[note] = stats.resumed_from
            result.models[note] = out_dir / MODELS_DIR / name
        result.train_seconds = time.perf_counter() - started

        _drop_other_models(stage, {model_name(segment) for segment in models})
        segments = None if masks is None else sorted(keyframes.files)
        # Frames an interrupted run left are kept only if these very models drew them: the checkpoint resumed
        # may be another one than drew them (a later run trained on, or was stopped after a later checkpoint).
        drawn_by = {model_name(segment): _model_digest(model) for segment, model in models.items()}
        settings = {"feather": feather if masks is not None else None, "segments": segments, "models": drawn_by}
        _clear_other_renders(stage, settings)
        _reuse_finished_renders(stage, out_dir, kept_from, settings, source.stems)
        started = time.perf_counter()
        rendered = 0
        with torch.inference_mode(), torch_threads(auto_threads() if train.threads is None else train.threads):
            for frame in unwritten_frames(source, stage, progress, "rendering"):
                labels = segment_masks.labels(frame.stem) if segment_masks is not None else None
                guide = track.render(frame.index) if track is not None else None
                write_image(stage / f"{frame.stem}.png", stylize_frame(models, frame.rgb, labels, feather, guide))
                rendered += 1
        result.render_seconds = time.perf_counter() - started
        result.rendered = rendered
        (stage / RENDER_SETTINGS).unlink()
        record = {**kept_from, "segments": segments, "feather": feather, "rendering": settings}
        (stage / LAYER_RECORD).write_text(json.dumps(record))
        write_manifest(stage, source)
    log.info("stylized %d frames in %.1f s (training %.1f s)", len(source), result.render_seconds, result.train_seconds)
    if video is not None:
        encode_frames(out_dir, video, fps=None if source.fps else DEFAULT_FPS, audio=sound_of(source))
        result.video = Path(video)
    return result


def _partial_run(folder, segment: int, made_from: dict) -> tuple[tuple[int, ...], float] | None:
    """The segments a ``stylize --masks`` run stylized into ``folder`` and its feather, when the run was made from
    the frames and masks of this composite (``made_from``); else None.

    Whole-frame runs and frames from anywhere else are blended as they are. A run made from other frames or masks
    cannot be taken apart from the original frame it kept, and gets a warning: its seams keep a rim.
    """
    record_path = Path(folder) / LAYER_RECORD
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
        segments, feather = record["segments"], float(record["feather"])
        frames, masks = record["frames"], record["masks"]
    except (ValueError, KeyError, TypeError):
        log.warning("--layer %s: %s is damaged; its frames are blended as they are", segment, record_path)
        return None
    if not segments:
        return None
    if frames != made_from["frames"] or masks != made_from["masks"]:
        log.warning("--layer %s: %s was stylized from other frames or masks than these (or with another --binary or "
                    "--grow), so the original frame it keeps outside segment(s) %s cannot be taken apart from its "
                    "edges: the seams may show a rim of it",
                    segment, folder, ", ".join(map(str, segments)))
        return None
    if made_from["feather"] > feather:
        log.warning("--layer %s: %s was stylized with --feather %g, less than this composite's %g: its frames hold the "
                    "original frame beyond %g pixels of its segments' edges, so the seams may show a rim of it (stylize "
                    "it with --feather %g, or composite with --feather %g)", segment, folder, feather, made_from["feather"],
                    feather, made_from["feather"], feather)
    return tuple(int(stylized) for stylized in segments), feather


def _read_layers(opened: Mapping, layers: Mapping, stem: str) -> dict[int, np.ndarray]:
    """Each segment's layer image for frame ``stem`` (``opened``: segment -> frame source of ``layers[segment]``); a
    folder given for several segments is read once."""
    by_folder: dict[Path, np.ndarray] = {}
    images = {}
    for segment, layer in opened.items():
        folder = Path(layers[segment])
        if folder not in by_folder:
            by_folder[folder] = layer.read(layer.index_of(stem))
        images[segment] = by_folder[folder]
    return images


def _unblend_partial_runs(images: dict[int, np.ndarray], layers: Mapping, partial_runs: Mapping, frame: np.ndarray,
                          labels: np.ndarray) -> None:
    """Replace each layer from a partial ``stylize`` run (``partial_runs``: :func:`_partial_run` by folder) by the
    colours its models drew, taken apart from the original frame it was feathered over (:func:`SF.unblend`); in
    place. A folder given for several segments is taken apart once."""
    unblended: dict[Path, np.ndarray] = {}
    for segment, folder in layers.items():
        run = partial_runs[Path(folder)]
        if run is None:
            continue
        if Path(folder) not in unblended:
            segments, feather = run
            alpha = np.sum([SF.feather(labels == stylized, feather) for stylized in segments], axis=0)
            unblended[Path(folder)] = SF.unblend(images[segment], frame, alpha)
        images[segment] = unblended[Path(folder)]


def _by_segment_id(layers: Mapping) -> dict[int, object]:
    """``layers`` keyed by ``int`` segment ids (the API takes ``"255"`` as well as ``255``), each a mask value
    (0-255) given once."""
    by_id: dict[int, object] = {}
    for segment, folder in layers.items():
        try:
            value = int(segment)
        except (TypeError, ValueError):
            value = -1
        if not 0 <= value <= 255:
            raise fail(folder, f"segment id {segment!r} is not a mask value (0-255)")
        if value in by_id:
            raise fail("--layer", f"segment {value} is given twice")
        by_id[value] = folder
    return by_id


def _check_layer_ids(folder: Path, layers: Mapping, masks: list[np.ndarray]) -> None:
    """Refuse layer ids that binary (0/255) ``masks`` (some of ``folder``'s) cannot hold: ``--layer 1=...`` for a
    figure marked 255 would leave it unstyled, silently."""
    found = set().union(*(np.unique(mask).tolist() for mask in masks))
    if found <= {0, 255}:
        for segment, layer in layers.items():
            if segment not in (0, 255):
                raise fail("--layer", f"segment {segment} ({layer}) cannot occur in binary masks (0/255, as "
                                      f"{folder} holds): the foreground is 255, the background 0")


def _sampled(stems: list[str]) -> list[str]:
    """The first, middle and last of ``stems``: frames whose masks show how the masks were made."""
    return [stems[0], stems[len(stems) // 2], stems[-1]]


def _check_video_out(video, out_dir, source: FrameSource, *inputs) -> None:
    """Refuse, before any work, a ``video`` output that could not be written, would overwrite an input (the
    frames, the video they came from, whose sound it takes, or any of ``inputs``) or lie among them, or lie in
    ``out_dir`` (whose frames it is encoded from); and an ``out_dir`` named as a video, which would be made a folder.
    """
    out_dir = Path(out_dir)
    if out_dir.suffix.lower() in VIDEO_SUFFIXES and not out_dir.is_dir():
        raise fail(out_dir, f"is named as a video, but the frames go to a folder: give --out a folder and --video "
                            f"{out_dir.name} for the video")
    if video is None:
        return
    check_mp4(video)
    check_writable(video)
    check_file_apart(video, [source.path, source.origin, *inputs])
    if Path(out_dir).resolve() in Path(video).resolve().parents:
        raise fail(video, f"lies inside the output folder {out_dir}, whose frames it is made from; write it beside it")
    check_replaceable(video)


def _drop_other_models(stage: Path, names: set[str]) -> None:
    """Remove the models an earlier run trained for segments this run no longer has keyframes for, saying so."""
    for model in (stage / MODELS_DIR).glob("*.pt"):
        if model.name not in names:
            log.warning("%s: no keyframes are given for it now, so the model an earlier run trained is removed",
                        shown_path(model))
            model.unlink()


def _model_digest(model: StyleModel) -> str:
    """A hash of what ``model`` draws a frame from (its configuration and weights): equal digests draw alike."""
    digest = hashlib.sha1(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, tensor in model.generator.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _reuse_finished_renders(stage: Path, out_dir: Path, kept_from: dict, settings: dict, stems: list[str]) -> None:
    """Take into the stage the frames a finished run published in ``out_dir`` from the same frames and masks
    (``kept_from``), drawn by these very models with these ``settings``: a rerun (one stopped while it encoded
    ``--video``, say) then draws none of them again, and one after a frame was removed there draws that one
    (:func:`~keyframe.io.atomic.carry_published`)."""
    if not published_from(out_dir, kept_from, whole=False):
        return
    try:
        record = json.loads((out_dir / LAYER_RECORD).read_text())
    except (OSError, ValueError):
        return
    if not isinstance(record, dict) or record.get("rendering") != json.loads(json.dumps(settings)):
        return
    wanted = {f"{stem}.png" for stem in stems}  # this run's frames: a published frame of a stem gone since goes
    carry_published(out_dir, stage, [name for name in published_files(out_dir) if name in wanted])


def _clear_other_renders(stage: Path, settings: dict) -> None:
    """Remove frames an interrupted run rendered with other ``settings`` (or unknown ones), keeping its models;
    then record ``settings`` for the frames about to be rendered."""
    record = stage / RENDER_SETTINGS
    wanted = json.dumps(settings, sort_keys=True)
    if not record.is_file() or record.read_text() != wanted:
        for frame in stage.glob("*.png"):
            frame.unlink()
    record.write_text(wanted)


def _pairs(keyframes: Keyframes, segment, source: FrameSource, labels: Mapping[str, np.ndarray],
           track: BlobTrack | None) -> list[KeyPair]:
    """The training pairs of ``segment``'s keyframes; ``labels`` holds the label maps of the painted frames
    (unused for the whole frame)."""
    pairs = []
    for stem, path in keyframes.files[segment].items():
        index = source.index_of(stem)
        region = None
        if segment is not WHOLE:
            region = labels[stem] == segment
            if not region.any():
                present = ", ".join(map(str, np.unique(labels[stem]).tolist()))
                raise fail(path, f"segment {segment} does not occur in the mask of frame {stem!r} (its values: "
                                 f"{present}; binary masks mark the foreground 255)")
        guide = track.render(index) if track is not None else None
        frame = source.read(index)
        painted, alpha = read_image_alpha(path)
        if alpha is not None and (alpha < 255).any():
            painted, region = _partly_painted(path, frame, painted, alpha, region, segment)
        pairs.append(KeyPair(frame, painted, region, guide, stem))
    return pairs


def _partly_painted(path: Path, frame: np.ndarray, painted: np.ndarray, alpha: np.ndarray, region: np.ndarray | None,
                    segment) -> tuple[np.ndarray, np.ndarray]:
    """A keyframe with transparent pixels (a paint layer exported alone): the painting as it showed over its
    frame, and the region to learn cut to its opaque part (alpha at least half), so that the pixels left
    unpainted are neither learned as black nor as the frame."""
    weight = alpha[..., None].astype(np.float32) / 255
    painted = np.rint(weight * painted + (1 - weight) * frame).astype(np.uint8)
    opaque = alpha >= 128
    region = opaque if region is None else region & opaque
    if not region.any():
        where = "" if segment is WHOLE else f" inside segment {segment}"
        raise fail(path, f"is transparent everywhere{where}: nothing painted to learn from")
    return painted, region


@locks_output("out_dir")  # through the --video, as stylize
def composite(
    frames,
    layers: Mapping[int, str | os.PathLike],
    masks: str | os.PathLike,
    out_dir: str | os.PathLike,
    feather: float = DEFAULT_FEATHER,
    video: str | os.PathLike | None = None,
    progress=None,
    binary: bool = False,
    grow: float = 0.0,
) -> int:
    """Assemble per-segment results into one video with feathered masks.

    Parameters
    ----------
    frames
        The original frames (what segments without a layer show).
    layers
        Segment id (mask value) -> folder (or video) of that segment's stylized
        frames, named as the frames. A folder from a :func:`stylize` run of
        some segments, made from these frames and masks, has the original frame
        it kept outside them taken out of its feathered edges first
        (:func:`_partial_run`), so separate runs leave no rim at their seams.
    masks
        Segmentation folder: a label map per frame.
    out_dir
        Gets ``<stem>.png`` per frame (staged under ``<out_dir>.partial``).
    feather
        Feather radius of the masks, pixels.
    video
        Also encode the result to this mp4.
    progress
        ``progress(done, total, note)``.
    binary
        Read each mask as one segment, 255 where it is 128 or more (mattes with soft edges).
    grow
        Grow each segment but the background (0) by this many pixels into it (:func:`keyframe.io.grow_segments`),
        as the ``stylize`` runs of the layers did.

    Returns
    -------
    int
        Frames written.

    Examples
    --------
    >>> composite("frames/", {255: "styled_figure/", 0: "styled_background/"}, "masks/", "final/")  # doctest: +SKIP
    """
    SF.check_feather(feather)
    check_grow(grow)
    if not isinstance(layers, Mapping):
        raise TypeError(f"layers must map segment ids to folders or videos, e.g. {{255: 'figure/'}}; got {type(layers).__name__}")
    source = open_frames(frames)
    _check_video_out(video, out_dir, source, masks, *layers.values())
    segment_masks = SegmentMasks(masks, source, binary, grow)
    if not layers:
        raise fail("--layer", "give at least one SEGMENT_ID=DIR")
    layers = _by_segment_id(layers)
    sampled = [segment_masks.labels(stem) for stem in dict.fromkeys(_sampled(source.stems))]
    segment_masks.warn_if_smoothed(sampled)
    _check_layer_ids(segment_masks.folder, layers, sampled)
    opened = {}
    for segment, folder in layers.items():  # before every mask is read: a layer that cannot be used costs no wait
        layer = open_frames(folder)
        if layer.size != source.size:
            raise fail(folder, f"frames are {layer.size[1]}x{layer.size[0]} but the originals are {source.size[1]}x{source.size[0]}")
        available = set(layer.stems)
        missing = [stem for stem in source.stems if stem not in available]
        if missing:
            raise fail(folder, f"has no frame {missing[0]!r} ({len(missing)} of {len(source)} missing)")
        opened[segment] = InOrder(layer)  # read along with the frames: a video layer decoded once, not sought each frame
    out_dir = Path(out_dir)
    check_output_folder(out_dir, [source.path, masks, *layers.values()], "composite")  # before the masks' long read
    made_from = {"frames": source_identity(source), "masks": segment_masks.identity(), "feather": feather,
                 "layers": {segment: input_identity(folder) for segment, folder in layers.items()}}
    partial_runs = _partial_runs(layers, made_from)  # warned of on every run: kept frames hold those seams too
    if published_from(out_dir, made_from):  # as by a run stopped while it encoded the video: nothing to redo
        log.info("%s: composited before from the same frames, masks, layers and feather; kept", out_dir)
        report(progress, len(source), len(source), "every frame kept from an earlier run")
    else:
        _check_layers_used(segment_masks.check_all(progress), opened, masks)
        _composite_frames(source, segment_masks, opened, layers, partial_runs, out_dir, made_from, feather, progress)
    if video is not None:
        encode_frames(out_dir, video, fps=None if source.fps else DEFAULT_FPS, audio=sound_of(source))
    return len(source)


def _check_layers_used(found: set[int], opened: Mapping, masks) -> None:
    """Refuse a layer whose segment occurs in no mask (``found``: the values the masks hold): a mistyped id, or
    label maps taken for 0/255 masks, would leave the whole video unstyled there."""
    absent = sorted(set(opened) - found)
    if absent:
        present = ", ".join(map(str, sorted(found))) or "none"
        raise fail("--layer", f"{absent[0]}: segment {absent[0]} occurs in no mask of {masks} (its values: {present}), "
                              "so its layer would not be used; give a segment's mask value")


def _partial_runs(layers: Mapping, made_from: dict) -> dict[Path, tuple | None]:
    """Each layer folder's :func:`_partial_run` (read, and warned of, once for a folder given for several
    segments), with a warning for a segment its run did not stylize."""
    partial_runs: dict[Path, tuple | None] = {}
    for segment, folder in layers.items():
        if Path(folder) not in partial_runs:
            partial_runs[Path(folder)] = _partial_run(folder, segment, made_from)
        styled = partial_runs[Path(folder)]
        if styled is not None and segment not in styled[0]:
            log.warning("--layer %d: %s stylized segment(s) %s, not %d: that segment shows the original frame the run "
                        "kept there, blended with its styled neighbours", segment, folder,
                        ", ".join(map(str, styled[0])), segment)
    return partial_runs


def _composite_frames(source, segment_masks: SegmentMasks, opened: Mapping, layers: Mapping, partial_runs: dict,
                      out_dir: Path, made_from: dict, feather: float, progress) -> None:
    """Composite every frame into ``out_dir``, staged: a run stopped midway leaves the frames it wrote for the next."""
    inputs = [source.path, segment_masks.folder, *layers.values()]
    with staged_dir(out_dir, made_from, inputs=inputs, kind="composite") as stage:
        # Frames an interrupted run from the same inputs wrote are kept (each written whole or not at all).
        for frame in unwritten_frames(source, stage, progress, "compositing"):
            images = _read_layers(opened, layers, frame.stem)
            labels = segment_masks.labels(frame.stem)
            _unblend_partial_runs(images, layers, partial_runs, frame.rgb, labels)
            write_image(stage / f"{frame.stem}.png", SF.composite_frame(frame.rgb, labels, images, feather))
        write_manifest(stage, source)
