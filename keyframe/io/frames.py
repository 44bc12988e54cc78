"""One reader for every pipeline: a folder of images or a video file, as uint8 RGB frames.

Frames come in order of their stems; a video's frames get the stems
``000000, 000001, ...`` so results written per stem line up with
``keyframe frames extract``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from abc import ABC, abstractmethod
from fractions import Fraction
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from keyframe.errors import KeyframeError, fail, is_seconds, is_whole
from keyframe.io.atomic import check_file_apart, input_identity
from keyframe.io.audio import SilentVideo, sound_seconds
from keyframe.io.images import image_size, list_images, read_image
from keyframe.io.video import (FPS_RANGE, MANIFEST, SEEK_AFTER, VIDEO_SUFFIXES, VideoWriter, aspect_text, check_fps,
                               frame_seconds, iter_video, parse_aspect, probe, shown_until, to_rgb, uneven_seconds,
                               writable_fps)
from keyframe.progress import report

log = logging.getLogger(__name__)
DEFAULT_FPS = 25.0  # the rate of frames that record none


class Frame(NamedTuple):
    """One frame: its position in the source, its stem, and its uint8 RGB pixels."""

    index: int
    stem: str
    rgb: np.ndarray


class FrameSource(ABC):
    """Frames in order, read lazily. Subclasses: :class:`FolderSource`, :class:`VideoSource`."""

    path: Path
    stems: list[str]
    size: tuple[int, int]  # (height, width)
    fps: float | None
    start_seconds: float = 0.0  # where the frames begin in the video they were taken from
    origin: Path | None = None  # that video, where known (its sound goes with the frames: :func:`sound_of`)
    origin_gone: Path | None = None  # the video a folder's video.json names, when that file is gone
    pixel_aspect: Fraction = Fraction(1)  # how much wider than high players show a pixel (HDV: 4/3)
    # Frames between two wanted ones that cost less to read through than to start reading again after them: a
    # video's next start decodes from the keyframe before it; an image is read alone (frames_at, InOrder).
    read_through: int = 0

    def __len__(self) -> int:
        return len(self.stems)

    def index_of(self, stem: str) -> int:
        """Position of the frame called ``stem``; a KeyframeError if there is none."""
        try:
            return self._positions[stem]
        except AttributeError:
            self._positions = {s: i for i, s in enumerate(self.stems)}
            return self.index_of(stem)
        except KeyError:
            raise fail(self.path, f"has no frame called {stem!r} ({self.naming})") from None

    @property
    def naming(self) -> str:
        """How the frames are called, for messages about a name that is not among them."""
        if len(self.stems) == 1:
            return f"its one frame is called {self.stems[0]!r}"
        return f"its frames are called {self.stems[0]!r} to {self.stems[-1]!r}"

    @abstractmethod
    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        """Yield frames ``start, start+step, ... < stop`` in order."""

    def frame_range(self, start: int = 0, stop: int | None = None, step: int = 1) -> range:
        """The indices ``iter_frames(start, stop, step)`` yields: ``start, start+step, ...`` below ``stop`` (the end
        when None or past it). Unlike a slice's, a negative ``start`` or ``stop`` does not count from the end: it is
        refused, as is a ``step`` below 1, since quietly reading from frame 0 instead could decode a whole video."""
        for name, value in (("start", start), ("stop", stop)):
            if value is not None and not _count(value, 0):
                negative = " (a negative one does not count from the end here)" if is_whole(value) and value < 0 else ""
                raise ValueError(f"{self.path}: the {name} frame is an index from the start, a whole number, 0 or more, got {value!r}"
                                 + negative)
        if not _count(step, 1):
            raise ValueError(f"{self.path}: the step between frames must be a whole number, 1 or more, got {step!r}")
        return range(start, len(self) if stop is None else min(stop, len(self)), step)

    def read(self, index: int) -> np.ndarray:
        """The uint8 RGB pixels of frame ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} of {len(self)}")
        return next(self.iter_frames(index, index + 1)).rgb

    def read_range(self, start: int = 0, stop: int | None = None, step: int = 1) -> np.ndarray:
        """Frames ``start:stop:step`` stacked as ``(N, H, W, 3)`` uint8 (mind the memory)."""
        frames = [frame.rgb for frame in self.iter_frames(start, stop, step)]
        height, width = self.size
        return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)

    def __iter__(self) -> Iterator[Frame]:
        return self.iter_frames()

    def seconds(self) -> np.ndarray | None:
        """When each frame is shown, in seconds from the first; None without a frame rate. Evenly spaced at
        ``fps`` here; a video's come from its timestamps (:meth:`VideoSource.seconds`)."""
        return np.arange(len(self)) / self.fps if self.fps else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, size={self.size})"


def _count(value, least: int) -> bool:
    return is_whole(value) and value >= least


class FolderSource(FrameSource):
    """Frames from a folder of image files, sorted by stem.

    Every file's header is read when the folder is opened, so an unreadable
    image or a frame of another size is reported before any work starts.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder)
        self.files = list_images(self.path)
        if not self.files:
            raise fail(self.path, "contains no image files")
        self.stems = [p.stem for p in self.files]
        self.size = image_size(self.files[0])
        for path in self.files[1:]:
            size = image_size(path)
            if size != self.size:
                raise fail(
                    path,
                    f"is {size[1]}x{size[0]} but {self.files[0].name} is {self.size[1]}x{self.size[0]}: frames of mixed sizes",
                )
        manifest = _read_manifest(self.path)
        self.fps = _manifest_fps(self.path, manifest)
        self._seconds = _manifest_seconds(self.path, manifest, len(self.files))
        self.start_seconds = _manifest_start(self.path, manifest)
        self.origin = _manifest_origin(manifest, self.path)
        self.origin_gone = None if self.origin is not None else _manifest_origin(manifest, self.path, gone=True)
        self.pixel_aspect = _manifest_pixel_aspect(self.path, manifest)

    def seconds(self) -> np.ndarray | None:
        """When each frame is shown: as ``video.json`` records them for frames of a video whose frame rate
        varies (``frame_seconds``), else evenly spaced at its frame rate."""
        return self._seconds if self._seconds is not None else super().seconds()

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        for index in self.frame_range(start, stop, step):
            rgb = read_image(self.files[index])
            if rgb.shape[:2] != self.size:
                raise fail(self.files[index], "changed size while being read")
            yield Frame(index, self.stems[index], rgb)


def write_manifest(folder: str | os.PathLike, source: FrameSource) -> None:
    """Record ``source``'s frame rate beside frames made from it (``video.json``, as ``frames extract`` writes),
    so that encoding them keeps it, and when it varies, when each frame is shown; nothing when the source has no
    rate."""
    if not source.fps:
        return
    manifest = {"fps": source.fps, "source": str(source.path)}
    if source.origin is not None:
        manifest["origin"] = str(Path(source.origin).resolve())
    if source.start_seconds:
        manifest["start_seconds"] = source.start_seconds
    shown = source.seconds()
    if uneven_seconds(shown, source.fps):
        manifest["frame_seconds"] = [round(float(t), 6) for t in shown]
    if aspect_text(source.pixel_aspect):
        manifest["pixel_aspect"] = aspect_text(source.pixel_aspect)
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest))


def _read_manifest(folder: Path) -> dict | None:
    """A folder's ``video.json`` (None without one); a damaged one is refused, naming it, rather than passed over:
    its rate sets every time a command reports and the rate of videos made from the folder."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        recorded = json.loads(manifest.read_text())
    except (ValueError, OSError, UnicodeDecodeError):
        recorded = None
    if not isinstance(recorded, dict):
        raise fail(manifest, 'is damaged: it must hold {"fps": <frames per second>}; fix or remove it')
    return recorded


def _manifest_fps(folder: Path, manifest: dict | None) -> float | None:
    """The frame rate ``video.json`` records (None without the file), refused when missing or impossible."""
    if manifest is None:
        return None
    try:
        recorded = manifest["fps"]
        if isinstance(recorded, bool):  # JSON true is no frame rate, though Python would read it as 1
            raise TypeError(recorded)
        fps = float(recorded)
    except (ValueError, KeyError, TypeError):
        raise fail(folder / MANIFEST, 'is damaged: it must hold {"fps": <frames per second>}; fix or remove it') from None
    if not writable_fps(fps):
        raise fail(folder / MANIFEST, f"records a frame rate of {fps:g}; it must be {FPS_RANGE}")
    return fps


def _manifest_origin(manifest: dict | None, folder: Path, gone: bool = False) -> Path | None:
    """The video a folder's frames were taken from: ``origin`` in ``video.json`` (relative to the folder, when it
    is not absolute: the sample's frames name its ``../video.mp4``), else ``source`` where that is a file
    (``frames extract`` names the video it read there); with ``gone``, the first of those named that is not a file
    (moved or deleted since) and was a video: ``source`` also names the frame folder (or ``<frames>``, an array)
    that a command's output was made from, which is no lost sound."""
    for key in ("origin", "source"):
        named = (manifest or {}).get(key)
        if not isinstance(named, str) or not named:
            continue
        path = folder / named if key == "origin" else Path(named)  # an absolute name stays as it is
        if path.is_file() == gone:
            continue
        if not gone or key == "origin" or path.suffix.lower() in VIDEO_SUFFIXES:
            return path
    return None


def sound_of(source: FrameSource) -> Path | None:
    """The video whose sound goes with ``source``'s frames (:attr:`FrameSource.origin`), or None where that is
    unknown, gone, or silent."""
    if source.origin is None or not Path(source.origin).is_file():
        gone = source.origin if source.origin is not None else source.origin_gone
        if gone is not None:
            log.warning("%s: the video these frames were taken from is gone; the video gets no sound", gone)
        return None
    try:
        length = sound_seconds(source.origin)
    except SilentVideo:
        return None
    except KeyframeError as error:  # damaged or not a video: a sound the user may expect is lost
        log.warning("%s; the video gets no sound", error)
        return None
    if length is not None and source.start_seconds >= length:
        log.warning("%s: its sound ends %.2f s after its first frame, before these frames begin (%g s); the video "
                    "gets no sound", source.origin, length, source.start_seconds)
        return None
    return Path(source.origin)


def _manifest_pixel_aspect(folder: Path, manifest: dict | None) -> Fraction:
    """How much wider than high players show the folder's pixels (``pixel_aspect``, ``"4:3"``; square without it)."""
    recorded = (manifest or {}).get("pixel_aspect")
    if recorded is None:
        return Fraction(1)
    try:
        return parse_aspect(recorded)
    except (ValueError, ZeroDivisionError):
        raise fail(folder / MANIFEST, f'is damaged: pixel_aspect must read like "4:3", got {recorded!r}; fix or remove it') from None


def _manifest_start(folder: Path, manifest: dict | None) -> float:
    """Where the folder's frames begin in their video, in seconds (``start_seconds``; 0 without it)."""
    recorded = (manifest or {}).get("start_seconds", 0.0)
    if not is_seconds(recorded):
        raise fail(folder / MANIFEST, "is damaged: start_seconds must be 0 or more seconds; fix or remove it")
    return float(recorded)


def _manifest_seconds(folder: Path, manifest: dict | None, frames: int) -> np.ndarray | None:
    """When each of a folder's ``frames`` is shown, as ``video.json`` records them (``frame_seconds``, written for
    a video whose frame rate varies); None without them, or, with a warning, when they time another number of
    frames (some were added or removed since)."""
    recorded = (manifest or {}).get("frame_seconds")
    if recorded is None:
        return None
    try:
        seconds = np.asarray(recorded, np.float64)
        usable = (seconds.ndim == 1 and not any(isinstance(t, bool) for t in recorded) and np.isfinite(seconds).all()
                  and bool((np.diff(seconds) > 0).all()))
    except (ValueError, TypeError):
        usable = False
    if not usable:
        raise fail(folder / MANIFEST, "is damaged: frame_seconds must be increasing numbers of seconds, one per frame; "
                                      "fix or remove them")
    if len(seconds) != frames:
        log.warning("%s: frame_seconds time %d frames, the folder has %d; they are timed at its frame rate instead",
                    folder / MANIFEST, len(seconds), frames)
        return None
    return seconds


class VideoSource(FrameSource):
    """Frames decoded from a video file; stems are ``000000, 000001, ...``."""

    def __init__(self, video: str | os.PathLike):
        self.path = Path(video)
        self.info = probe(self.path)
        self.origin = self.path
        self.stems = [f"{i:06d}" for i in range(self.info.frame_count)]
        self.size = (self.info.height, self.info.width)
        self.fps = self.info.fps
        self.pixel_aspect = parse_aspect(self.info.pixel_aspect) if self.info.pixel_aspect else Fraction(1)
        self.warned: set[str] = set()  # what reading it has warned about: each pass over it does not say it again
        self.read_through = SEEK_AFTER

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        span = self.frame_range(start, stop, step)
        for index, frame in iter_video(self.path, span.start, span.stop, span.step, expected=self.info.frame_count,
                                       warned=self.warned):
            if index >= len(self.stems):
                return
            yield Frame(index, self.stems[index], to_rgb(frame, shown_size=(self.info.width, self.info.height),
                                                        first_field=self.info.first_field))

    def seconds(self) -> np.ndarray:
        """When each frame is shown, from the video's timestamps (a variable frame rate is timed right); evenly
        spaced at the average rate where they are missing."""
        times = frame_seconds(self.path)
        return times if times is not None and len(times) == len(self) else super().seconds()


class SteppedFrames(FrameSource):
    """One frame in ``step`` of ``source`` (its frames 0, step, 2 * step, ...) as a source of its own, at a
    ``step``-th of its rate: what ``frames extract --every STEP`` would write, without writing it.

    Examples
    --------
    >>> from keyframe.motion.features import ArrayFrames
    >>> frames = np.arange(7, dtype=np.uint8)[:, None, None, None].repeat(3, axis=3)
    >>> stepped = SteppedFrames(ArrayFrames(frames, fps=30.0), 3)
    >>> len(stepped), stepped.fps, [int(f.rgb[0, 0, 0]) for f in stepped], [f.index for f in stepped]
    (3, 10.0, [0, 3, 6], [0, 1, 2])
    """

    def __init__(self, source: FrameSource, step: int):
        if step < 1:
            raise ValueError(f"step must be 1 or more, got {step}")
        self.source, self.step = source, step
        self.path, self.size, self.start_seconds, self.origin = source.path, source.size, source.start_seconds, source.origin
        self.pixel_aspect = source.pixel_aspect
        self.stems = source.stems[::step]
        self.fps = source.fps / step if source.fps else None
        self.read_through = source.read_through // step

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        span = self.frame_range(start, stop, step)
        for frame in self.source.iter_frames(span.start * self.step, span.stop * self.step, span.step * self.step):
            yield Frame(frame.index // self.step, frame.stem, frame.rgb)

    def seconds(self) -> np.ndarray | None:
        times = self.source.seconds()
        return times[:: self.step] if times is not None else None


ARRAY_NAME = "<frames>"  # what frames held in memory are called in messages, unless given a name


class ArrayFrames(FrameSource):
    """Frames held in memory, ``(N, H, W, 3)`` uint8 RGB: a :class:`FrameSource`, so every command's Python
    function takes it where it takes a folder or a video (stems ``000000``, ``000001``, ...); ``fps`` gives them a
    frame rate. :func:`open_frames` makes one of a plain array.

    Examples
    --------
    >>> source = ArrayFrames(np.zeros((5, 4, 6, 3), np.uint8), fps=10)
    >>> len(source), source.size, source.read_range(3).shape
    (5, (4, 6), (2, 4, 6, 3))
    """

    def __init__(self, frames: np.ndarray, fps: float | None = None, path: str = ARRAY_NAME):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            one = " (one frame: a clip is all its frames in one array, np.stack(frames))" if frames.ndim == 3 else ""
            raise ValueError(f"expected uint8 frames (N, H, W, 3), got {frames.dtype} {frames.shape}{one}")
        if not len(frames):  # as an empty folder or video is refused
            raise fail(path, "has no frames")
        if fps is not None:
            check_fps("ArrayFrames fps", fps)
        self.frames, self.fps, self.path = frames, fps, path
        self.size = frames.shape[1:3]
        self.stems = [f"{i:06d}" for i in range(len(frames))]

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        for index in self.frame_range(start, stop, step):
            yield Frame(index, self.stems[index], self.frames[index])


class InOrder:
    """Frames of ``source`` read by index, streamed while the indices rise: a video is then decoded once instead of
    sought for every frame, as :meth:`FrameSource.read` does. A lower index, or one further ahead than reading
    through costs less (``source.read_through``, as :func:`frames_at` skips), starts the stream again from there.

    Examples
    --------
    >>> reader = InOrder(ArrayFrames(np.arange(60, dtype=np.uint8).reshape(5, 2, 2, 3)))
    >>> int(reader.read(3)[0, 0, 0]), int(reader.read(4)[0, 0, 0]), int(reader.read(1)[0, 0, 0])
    (36, 48, 12)
    """

    def __init__(self, source: FrameSource):
        self.source = source
        self._frames: Iterator[Frame] | None = None
        self._next = 0

    def index_of(self, stem: str) -> int:
        return self.source.index_of(stem)

    def read(self, index: int) -> np.ndarray:
        """The uint8 RGB pixels of frame ``index``."""
        if not 0 <= index < len(self.source):
            raise IndexError(f"frame {index} of {len(self.source)}")
        if self._frames is None or not self._next <= index <= self._next + self.source.read_through:
            self._frames, self._next = self.source.iter_frames(index), index
        for frame in self._frames:
            self._next = frame.index + 1
            if frame.index == index:
                return frame.rgb
        raise IndexError(f"frame {index} of {len(self.source)}")


def frames_at(source: FrameSource, indices) -> Iterator[Frame]:
    """The frames of ``source`` at ``indices``, in rising order, reading only the stretches that hold them.

    A gap between two of them is read through where that costs less than starting again after it (up to
    ``source.read_through`` frames: a video's, as its next start decodes from the keyframe before), else skipped.

    Examples
    --------
    >>> frames = ArrayFrames(np.arange(6, dtype=np.uint8).repeat(12).reshape(6, 2, 2, 3))
    >>> [frame.index for frame in frames_at(frames, [4, 1, 2])]
    [1, 2, 4]
    """
    wanted = sorted(set(indices))
    first = 0
    while first < len(wanted):
        last = first
        while last + 1 < len(wanted) and wanted[last + 1] - wanted[last] - 1 <= source.read_through:
            last += 1
        chosen = set(wanted[first : last + 1])
        for frame in source.iter_frames(wanted[first], wanted[last] + 1):
            if frame.index in chosen:
                yield frame
        first = last + 1


def unwritten_frames(source: FrameSource, folder: Path, progress=None, note: str = "") -> Iterator[Frame]:
    """The frames of ``source`` that have no ``<stem>.png`` in ``folder`` yet, for a run that goes on where an
    earlier one stopped: the frames written are not read again (:func:`frames_at`), and ``progress`` counts
    them as done before the first frame yielded, then each one yielded once the caller asks for the next.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "000001.png").write_bytes(b"")
    >>> [frame.stem for frame in unwritten_frames(ArrayFrames(np.zeros((3, 2, 2, 3), np.uint8)), folder)]
    ['000000', '000002']
    """
    todo = [index for index, stem in enumerate(source.stems) if not (folder / f"{stem}.png").is_file()]
    done = len(source) - len(todo)
    if done:
        report(progress, done, len(source), note)
    for frame in frames_at(source, todo):
        yield frame
        done += 1
        report(progress, done, len(source), note)


BACKWARD_BLOCK = 64  # frames read forwards at a time by backward_frames: one seek per block, not per frame


def backward_frames(source: FrameSource, start: int, stop: int, prepare=lambda frame: frame.rgb,
                    block: int = BACKWARD_BLOCK) -> Iterator[tuple[int, object]]:
    """``(index, prepare(frame))`` for frames ``stop - 1`` down to ``start``.

    A video read backwards frame by frame seeks, and decodes from the keyframe before, for every frame; this
    reads ``block`` frames forwards at a time, so it holds one block of prepared frames (``prepare`` makes
    them small: grey, shrunk), never the whole stretch.

    Examples
    --------
    >>> frames = ArrayFrames(np.arange(5, dtype=np.uint8).repeat(12).reshape(5, 2, 2, 3))
    >>> [(index, int(value)) for index, value in backward_frames(frames, 1, 5, lambda f: f.rgb[0, 0, 0], block=2)]
    [(4, 4), (3, 3), (2, 2), (1, 1)]
    """
    span = source.frame_range(start, stop)
    for top in range(span.stop, span.start, -block):
        prepared = [(frame.index, prepare(frame)) for frame in source.iter_frames(max(span.start, top - block), top)]
        yield from reversed(prepared)


def source_identity(source: FrameSource) -> dict:
    """What work kept from ``source`` must match to be reused (a staged folder's key): its file or folder, their
    size and time (:func:`~keyframe.io.atomic.input_identity`), and for frames taken one in N, N. Frames held in
    memory are known by a digest of their pixels; those of any other source have no identity that outlives them:
    theirs is new every time, so no run takes their work for another's.

    Examples
    --------
    >>> frames = ArrayFrames(np.zeros((2, 4, 4, 3), np.uint8))
    >>> source_identity(frames) == source_identity(ArrayFrames(np.zeros((2, 4, 4, 3), np.uint8)))
    True
    >>> source_identity(frames) == source_identity(ArrayFrames(np.ones((2, 4, 4, 3), np.uint8)))
    False
    """
    if isinstance(source, SteppedFrames):
        return {**source_identity(source.source), "one_in": source.step}
    if isinstance(source, (FolderSource, VideoSource)):
        return input_identity(source.path)
    if isinstance(source, ArrayFrames):
        pixels = hashlib.sha1(np.ascontiguousarray(source.frames).data)
        pixels.update(str(source.frames.shape).encode())
        return {"in_memory": pixels.hexdigest()}
    return {"unknown": uuid.uuid4().hex}


def open_frames(path: str | os.PathLike) -> FrameSource:
    """Open a frame folder or a video file; frames already in memory, one uint8 ``(N, H, W, 3)`` array, become
    :class:`ArrayFrames` (without a frame rate), and a frame source is returned as it is.

    Examples
    --------
    >>> source = open_frames("clip.mp4")  # doctest: +SKIP
    >>> for frame in source.iter_frames(0, 10):  # doctest: +SKIP
    ...     print(frame.stem, frame.rgb.shape)
    """
    if isinstance(path, FrameSource):
        return path
    if isinstance(path, np.ndarray):
        return ArrayFrames(path)
    if not isinstance(path, (str, os.PathLike)):
        many = f" of {len(path)} items (frames? np.stack them into one array)" if isinstance(path, (list, tuple)) else ""
        raise TypeError(f"frames are a folder or video path, a frame source or one uint8 array (N, H, W, 3), got "
                        f"{type(path).__name__}{many}")
    path = Path(path)
    if not path.exists():
        raise fail(path, "no such file or folder")
    if path.is_dir():
        return FolderSource(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        try:
            return VideoSource(path)
        except Exception:
            raise fail(path, "is neither a frame folder nor a video file") from None
    return VideoSource(path)


def describe(path: str | os.PathLike) -> dict:
    """What a video or frame folder holds, as every command will read it: frames, size (upright), frame rate,
    duration, and whether the rate varies (then the range of rates, the 5th to 95th percentile of frame to
    frame, and the duration from the frames' own times), and for an HDR video its transfer (``"PQ"``, ``"HLG"``),
    which is read as SDR, whether it is interlaced (mended as it is read), and for pixels that are not square their
    shape (``"4:3"``: players show them 4/3 as wide as high) and the width players show.

    Examples
    --------
    >>> describe("clip.mp4")  # doctest: +SKIP
    {'path': 'clip.mp4', 'kind': 'video', 'frames': 280, 'width': 340, 'height': 256, 'fps': 30.0,
     'duration': 9.333, 'variable_rate': False, 'codec': 'h264'}
    """
    source = open_frames(path)
    height, width = source.size
    described = {"path": str(source.path), "kind": "video" if isinstance(source, VideoSource) else "frames",
                 "frames": len(source), "width": width, "height": height, "fps": source.fps}
    shown = source.seconds()
    if shown is not None:
        spacing = np.diff(shown)
        described["duration"] = round(shown_until(shown, source.fps), 3)
        described["variable_rate"] = uneven_seconds(shown, source.fps)
        if described["variable_rate"]:
            slow, fast = np.percentile(spacing, [95, 5])
            described["fps_range"] = [round(float(1 / slow), 2), round(float(1 / fast), 2)]
    if isinstance(source, VideoSource):
        described["codec"] = source.info.codec
        if source.info.hdr:
            described["hdr"] = source.info.hdr
        if source.info.interlaced:
            described["interlaced"] = True
            described["first_field"] = source.info.first_field
    if source.pixel_aspect != 1:
        described["pixel_aspect"] = aspect_text(source.pixel_aspect)
        described["shown_width"] = round(width * source.pixel_aspect)
    return described


def encode_frames(frames, out_video, fps: float | None = None, crf: int = 18, progress=None,
                  audio: str | os.PathLike | None = None, audio_start: float | None = None) -> int:
    """Encode a frame folder (or any frame source) to an H.264 mp4; returns the frame count.

    The frame rate defaults to the source's (a folder's ``video.json``), else 25. ``audio`` names a video whose
    sound goes with the frames, from ``audio_start`` seconds on (by default where the frames begin in it, which
    ``frames extract --start`` records as ``start_seconds``).

    Examples
    --------
    >>> encode_frames("frames/", "clip.mp4", fps=30)  # doctest: +SKIP
    120
    """
    from keyframe.progress import report

    check_file_apart(out_video, [frames])
    source = open_frames(frames)
    with writer_for(source, out_video, fps, crf, audio, audio_start) as writer:
        for frame in source.iter_frames():
            writer.write_frame(frame.index, frame.rgb)
            report(progress, frame.index + 1, len(source))
    return writer.frames


def writer_for(source: FrameSource, out_video, fps: float | None = None, crf: int = 18,
               audio: str | os.PathLike | None = None, audio_start: float | None = None, alpha: bool = False) -> "SourceWriter":
    """A video writer for images made from ``source``'s frames, one per frame: at ``fps``, else at the source's
    rate (25 without one, with a warning) and each frame at its own time where that rate varies; with ``audio``'s
    sound from ``audio_start`` seconds on (by default where the frames begin in it); of RGBA images in a ProRes
    4444 ``.mov`` with ``alpha``."""
    rate = check_fps("--fps", fps) if fps is not None else source.fps or DEFAULT_FPS
    if fps is None and source.fps is None:
        log.warning("%s records no frame rate (no video.json); encoding at %g fps (a video.json there holding "
                    '{"fps": N} sets another, for every command; `frames encode --fps` for that command)', source.path, rate)
    # Frames shown at varying times keep them, unless a rate is asked for.
    shown = source.seconds() if fps is None else None
    timed = uneven_seconds(shown, rate)
    start = source.start_seconds if audio_start is None else audio_start
    log.info("%s: writing %s frames at %g fps%s, crf %d%s", out_video, "timed" if timed else "evenly spaced", rate,
             "" if audio is None else f", sound from {audio} at {start:g} s", crf, " (ProRes 4444 with alpha)" if alpha else "")
    return SourceWriter(out_video, rate, crf, shown if timed else None, audio, start, source.pixel_aspect, alpha)


class SourceWriter:
    """A :class:`~keyframe.io.video.VideoWriter` of a source's frames by their index (:func:`writer_for`)."""

    def __init__(self, out_video, rate: float, crf: int, shown: np.ndarray | None, audio, audio_start: float,
                 pixel_aspect: Fraction = Fraction(1), alpha: bool = False):
        self.shown = shown
        self.writer = VideoWriter(out_video, rate, crf, timed=shown is not None, audio=audio, audio_start=audio_start,
                                  pixel_aspect=pixel_aspect, alpha=alpha)

    @property
    def frames(self) -> int:
        return self.writer.frames

    def write_frame(self, index: int, rgb: np.ndarray) -> None:
        """Append the image made from the source's frame ``index``, shown when that frame is."""
        self.writer.write(rgb, self.shown[index] if self.shown is not None else None)

    def __enter__(self) -> "SourceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.writer.__exit__(exc_type, exc, tb)
