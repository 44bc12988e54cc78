"""Video files through PyAV (its bundled FFmpeg): probe, decode, extract, encode.

Decoding streams frame by frame, so memory does not grow with the video's
length; writing goes to a temporary name that is renamed when the file is whole.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import math
import numbers
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

import av
import cv2
import numpy as np

from keyframe.errors import KeyframeError, check_number, fail, is_whole
from keyframe.io import hdr
from keyframe.io.atomic import (STAGE_KEY, atomic_path, check_file_apart, input_identity, naming_the_output, staged_dir,
                                written_run)
from keyframe.io.audio import AudioTrack, check_audio_start, check_sound
from keyframe.io.images import write_image
from keyframe.io.interlace import deinterlace
from keyframe.progress import report

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif", ".ts",
                  ".mts", ".m2ts")
MANIFEST = "video.json"


@dataclass(frozen=True)
class VideoInfo:
    """What a video's header says about its first video stream."""

    path: str
    fps: float
    width: int
    height: int
    frame_count: int
    codec: str
    hdr: str | None = None  # "PQ" or "HLG": read as SDR (to_rgb)
    interlaced: bool = False  # its fields are mended when read (to_rgb)
    first_field: str = "top"  # of an interlaced video, the field filmed first: kept as it is when mended
    pixel_aspect: str | None = None  # "4:3": pixels that players show 4/3 as wide as high (kept as stored)


def _open(path: Path):
    if not path.exists():
        raise fail(path, "no such file")
    if path.is_dir():
        raise fail(path, "is a folder, not a video file")
    try:
        container = av.open(str(path))
    except av.error.EOFError:  # a header and nothing after it (a recording stopped at once)
        raise fail(path, "has no frames: it ends before its first frame") from None
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise fail(path, f"not a readable video ({_reason(error)})") from None
    if not container.streams.video:
        container.close()
        raise fail(path, "has no video stream")
    if container.format.name == "image2" or container.format.name.endswith("_pipe"):  # FFmpeg's still-image readers
        container.close()
        raise fail(path, "is an image, not a video (frames go in a folder, named in order)")
    return container


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error).split(":")[0] or type(error).__name__


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's frame rate, size (as shown: a rotated phone video is upright) and frame count,
    decoding only its first frame (for the rotation).

    When the container does not store a frame count, packets are counted
    (demuxing only, no decoding). Frames that an MP4's edit list cuts off its start (a video cut without
    re-encoding, ``ffmpeg -ss T -c copy``) are stored but never shown, and are not counted. The file is opened once.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        _check_complete(path, stream)
        stored = stream.frames
        # An AVI cut short loses its index (idx1, at the end) and keeps the header's count: only its packets,
        # counted without decoding, tell what it holds. A whole AVI has one index entry per frame from the start.
        unindexed_avi = container.format.name == "avi" and 0 < len(stream.index_entries) < stored
        counted, cut, first = _scan(container, stream, count=not stored or unindexed_avi)
        if unindexed_avi and counted < stored:
            raise fail(path, f"truncated: its header counts {stored} frames, but it holds {counted}")
        count = stored - cut if stored else counted
        if count == 0:
            raise fail(path, "has no frames")
        width, height, aspect = stream.width, stream.height, pixel_aspect(stream)
        if _quarter_turns(first.rotation) % 2:
            width, height, aspect = height, width, 1 / aspect  # shown upright, as to_rgb turns the frames
        interlaced = stream.codec_context.field_order in INTERLACED_FIELD_ORDERS or first.interlaced
        return VideoInfo(str(path), _frame_rate(stream), width, height, int(count), stream.codec_context.name,
                         hdr.transfer_name(stream.codec_context.color_trc), interlaced, _first_field_of(stream),
                         aspect_text(aspect))
    finally:
        container.close()


def _check_complete(path: Path, stream) -> None:
    """Refuse a file cut short (an interrupted download or copy) from its index, before any frame is decoded:
    where the index places the stream's last frame beyond the end of the file, the header's frame count is not
    what the file holds, and decoding would only find that out at the end, after the work."""
    entries = stream.index_entries
    if not entries:  # MPEG-TS and other unindexed streams: their end is found as they are decoded
        return
    last = entries[len(entries) - 1]
    needed, size = last.pos + last.size, path.stat().st_size
    if last.pos >= 0 and needed > size:
        # Most often a download or copy cut short; a damaged index reads the same: either way the frames are missing.
        raise fail(path, f"truncated (or its index is damaged): it holds {size} bytes, but its index places frames up "
                         f"to byte {needed}")


def pixel_aspect(stream) -> Fraction:
    """The width of ``stream``'s pixels over their height as players show them: 4/3 for HDV's 1440x1080 shown
    16:9, 8/9 or 32/27 for DV; 1 where the video says nothing usable.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pixel_aspect(SimpleNamespace(sample_aspect_ratio=Fraction(4, 3), codec_context=None))
    Fraction(4, 3)
    """
    for aspect in (stream.sample_aspect_ratio, getattr(stream.codec_context, "sample_aspect_ratio", None)):
        if aspect and MIN_PIXEL_ASPECT <= aspect <= 1 / MIN_PIXEL_ASPECT:
            return Fraction(aspect)
    return Fraction(1)


MIN_PIXEL_ASPECT = Fraction(1, 4)  # narrower (or 4x wider) pixels than any format uses are damaged headers


def aspect_text(aspect: Fraction) -> str | None:
    """``"4:3"`` for pixels 4/3 as wide as high; None for square ones."""
    return None if aspect == 1 else f"{aspect.numerator}:{aspect.denominator}"


def parse_aspect(text: str) -> Fraction:
    """The pixel aspect that :func:`aspect_text` wrote; a ValueError for anything else or beyond what formats use."""
    width, height = (int(part) for part in str(text).split(":"))
    aspect = Fraction(width, height)
    if not MIN_PIXEL_ASPECT <= aspect <= 1 / MIN_PIXEL_ASPECT:
        raise ValueError(text)
    return aspect


def _frame_rate(stream) -> float:
    """``stream``'s average frame rate; the rate FFmpeg guesses where that is missing, or above :data:`MAX_FPS`
    while the guess is not (no frame rate at all: raw DV, ``.dv`` as ``dvgrab`` captures it, gives its time base,
    60000, as its average rate, and 25 or 29.97 as its guess)."""
    rate, guessed = stream.average_rate, stream.guessed_rate
    if not rate or (rate > MAX_FPS and guessed and guessed <= MAX_FPS):
        rate = guessed
    return float(rate or 25)


class _FirstFrame(NamedTuple):
    """What the first decoded frame says that the stream's header may not."""

    rotation: float = 0.0  # degrees the frame is turned when shown
    interlaced: bool = False  # its two fields were filmed apart (DV says so only in its frames)


def _scan(container, stream, count: bool) -> tuple[int, int, _FirstFrame]:
    """One pass over ``stream``'s packets: how many hold frames that are shown (when ``count``; else the pass
    stops at the first shown frame), how many before the first shown one are cut by an edit list, and what the
    first frame says (:class:`_FirstFrame`; the defaults when none decodes: errors come later, there)."""
    shown, cut, first = 0, 0, None
    for packet in container.demux(stream):
        if first is None:
            first = _first_frame_in(packet)
        if packet.size and packet.is_discard and not shown:
            cut += 1
        shown += bool(packet.size) and not packet.is_discard
        if shown and first is not None and not count:
            break
    return shown, cut, first or _FirstFrame()


def _first_frame_in(packet) -> _FirstFrame | None:
    """What the first frame ``packet`` decodes to says; None when it gives none yet, the defaults when it fails."""
    try:
        frames = packet.decode()
    except (av.error.FFmpegError, ValueError):
        return _FirstFrame()
    return _FirstFrame(frames[0].rotation or 0.0, bool(frames[0].interlaced_frame)) if frames else None


def iter_video(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    expected: int | None = None,
    warned: set[str] | None = None,
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Decode frames ``start, start+step, ... < stop`` as ``(index, av.VideoFrame)``.

    A late ``start`` seeks to the keyframe before it (frame indices then come
    from the frames' timestamps, ranked among all of the stream's, so they
    are right at a variable frame rate too), so reading a range costs about
    its own length: ranges can be shared out to workers. When decoding runs to the end and yields
    fewer frames than ``expected`` (the header's count), the file is reported
    as truncated. Where the stream changes resolution, the first frame of another size than the header's is
    logged (:func:`to_rgb` with ``shown_size`` scales such frames). Damaged data that cannot be decoded is
    passed over as players do, with a warning: the frame before it stands in for the frames it held. Warnings
    already in ``warned`` are not given again, and those given are added (a video read in several passes or
    ranges warns once about each place).
    """
    path = Path(path)
    warned = set() if warned is None else warned
    container = _open(path)
    decoded = 0
    try:
        stream = _video_stream(container)
        header = (stream.width, stream.height)  # read before decoding: the codec's size follows the frames decoded
        times = _frame_times(path)
        frames = (_seeked(container, stream, start, times, path, warned) if times and SEEK_AFTER <= start < len(times)
                  else None)
        if frames is None:
            if times and start >= SEEK_AFTER:  # no seek landed before start: read from the top of a fresh demuxer
                container.close()
                container = _open(path)
                stream = _video_stream(container)
            frames = _numbered(_Decoded(container, stream, path, warned), times)
        resized = False
        for index, frame in frames:
            decoded = index + 1
            if not resized and (frame.width, frame.height) != header:
                resized = True
                _warn_once(warned, "%s: frame %d is %dx%d, not %dx%d as the video's header says (its resolution "
                           "changes); such frames are scaled to the header's size", path, index, frame.width,
                           frame.height, *header)
            if stop is not None and index >= stop:
                return
            if index >= start and (index - start) % step == 0:
                yield index, frame
    except av.error.FFmpegError as error:
        raise fail(path, f"decoding failed after {decoded} frames ({_reason(error)})") from None
    finally:
        container.close()
    if decoded == 0:
        raise fail(path, "has no decodable frames")
    if expected and decoded < expected and (stop is None or decoded < stop):
        raise fail(path, f"truncated: decoded {decoded} of the {expected} frames its header announces")


def _warn_once(warned: set[str], message: str, *args) -> None:
    """Log ``message % args`` as a warning unless it is in ``warned``; then it is."""
    text = message % args
    if text not in warned:
        warned.add(text)
        log.warning("%s", text)


SEEK_AFTER = 48  # frames; nearer starts are cheaper to decode through than to seek to


def _video_stream(container):
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


class _Decoded:
    """The frames of ``stream`` from where its demuxer stands, in order; a packet whose data is damaged is passed
    over (one warning per read, none for a place ``warned`` holds), as players do, instead of ending the read.
    ``damaged`` counts them."""

    def __init__(self, container, stream, path: Path, warned: set[str]):
        self.container, self.stream, self.path, self.damaged = container, stream, path, 0
        self.warned = warned

    def __iter__(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                self.damaged += 1
                if self.damaged == 1:
                    # Threaded decoding reports an error a few packets late: the time is approximate.
                    origin = self.stream.start_time or 0
                    at = f" near {float((packet.pts - origin) * packet.time_base):.1f} s" if packet.pts is not None else ""
                    _warn_once(self.warned, "%s: damaged data%s could not be decoded; the frame before it stands "
                               "in for the frames it held", self.path, at)
                continue
            yield from frames


def _numbered(frames: _Decoded, times: tuple[int, ...] | None, after: int = -1) -> Iterator[tuple[int, av.VideoFrame]]:
    """``(index, frame)`` pairs of ``frames``, which follow frame ``after``: each index is its timestamp's rank in
    ``times`` (:func:`_frame_times`), and frames lost to damaged data get the frame before them (the first one
    found, at the start) in their place, the last ones too; without ``times``, frames are counted."""
    if not times:
        yield from enumerate(frames, after + 1)
        return
    index, previous = after, None
    for frame in frames:
        found = _rank(times, frame.pts)
        found = index + 1 if found is None or found <= index else found
        for lost in range(index + 1, found):
            yield lost, previous if previous is not None else frame
        yield found, frame
        index, previous = found, frame
    if frames.damaged and previous is not None:
        for lost in range(index + 1, len(times)):
            yield lost, previous


def _rank(times: tuple[int, ...], pts) -> int | None:
    """The index of the frame shown at ``pts`` among ``times``; None for a timestamp they do not hold."""
    found = bisect.bisect_left(times, pts) if pts is not None else len(times)
    return found if found < len(times) and times[found] == pts else None


def _seeked(container, stream, start: int, times: tuple[int, ...], path: Path,
            warned: set[str]) -> Iterator[tuple[int, av.VideoFrame]] | None:
    """``(index, frame)`` pairs from a keyframe at or before ``start``, found by seeking; None when no seek
    lands there.

    ``times`` are the stream's frame timestamps in presentation order (:func:`_frame_times`): a frame's index
    is its timestamp's rank. A container without an index (MPEG-TS) may land on a keyframe after the one
    asked for, so earlier targets are tried before giving up.
    """
    for target in _seek_targets(start):
        container.seek(times[target], stream=stream, backward=True, any_frame=False)
        frames = _Decoded(container, stream, path, warned)
        decoding = iter(frames)
        first = next(decoding, None)
        index = _rank(times, first.pts) if first is not None else None
        if index is not None and index <= start:
            return _numbered(_Continued(first, decoding, frames), times, after=index - 1)
    return None


class _Continued:
    """``first``, then the rest of a :class:`_Decoded` read already begun (its ``damaged`` count with it)."""

    def __init__(self, first: av.VideoFrame, rest: Iterator[av.VideoFrame], decoded: _Decoded):
        self.first, self.rest, self.decoded = first, rest, decoded

    @property
    def damaged(self) -> int:
        return self.decoded.damaged

    def __iter__(self) -> Iterator[av.VideoFrame]:
        yield self.first
        yield from self.rest


def _seek_targets(start: int) -> list[int]:
    """``start``, then ever earlier frames to seek to (while reading from the first frame costs more)."""
    targets, back = [start], 32
    while start - back > SEEK_AFTER:
        targets.append(start - back)
        back *= 4
    return targets


@functools.lru_cache(maxsize=8)
def _cached_times(path: str, stamp: tuple) -> tuple[tuple[int, ...] | None, Fraction | None]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        times = [packet.pts for packet in container.demux(stream) if packet.size and not packet.is_discard]
    if not times or None in times or len(set(times)) < len(times):
        return None, time_base  # no usable timestamps: frames are counted from the start instead
    return tuple(sorted(times)), time_base


def frame_seconds(path: str | os.PathLike) -> np.ndarray | None:
    """When each frame of a video is shown, in seconds from the first, from its timestamps (demuxing only), so
    a variable frame rate is timed right; None where the timestamps are missing or repeat.

    Examples
    --------
    >>> frame_seconds("clip.mp4")[:3]  # doctest: +SKIP
    array([0.   , 0.04 , 0.08 ])
    """
    path = Path(path)
    try:
        times, time_base = _timestamps(path)
    except (OSError, av.error.FFmpegError, IndexError):  # missing, a folder, not a video, no video stream
        _open(path).close()  # which says what is wrong with it in one line
        raise
    if times is None or not time_base:
        return None
    return (np.asarray(times, np.float64) - times[0]) * float(time_base)


def shown_until(seconds, fps: float) -> float:
    """When frames shown at ``seconds`` end: the last one's time and the spacing before it (1 / ``fps`` for one frame).

    Examples
    --------
    >>> shown_until([0.0, 0.1, 0.3], fps=10), shown_until([2.0], fps=10)
    (0.5, 2.1)
    """
    last = float(seconds[-1])
    return last + (last - float(seconds[-2]) if len(seconds) > 1 else 1 / fps)


def uneven_seconds(seconds: np.ndarray | None, fps: float | None) -> bool:
    """Whether frames shown at ``seconds`` stray from even spacing at ``fps`` by more than half a frame somewhere:
    a variable frame rate worth keeping (a steady rate's jitter is not).

    Examples
    --------
    >>> uneven_seconds(np.array([0.0, 0.1, 0.2, 0.3]), fps=10), uneven_seconds(np.array([0.0, 0.3, 0.35, 0.4]), fps=10)
    (False, True)
    """
    if seconds is None or not fps or len(seconds) < 2:
        return False
    return bool(np.abs(seconds - np.arange(len(seconds)) / fps).max() > 0.5 / fps)


def _frame_times(path: Path) -> tuple[int, ...] | None:
    """The video's frame timestamps in presentation order, from its packets alone (no decoding)."""
    return _timestamps(path)[0]


def _timestamps(path: Path) -> tuple[tuple[int, ...] | None, Fraction | None]:
    """The frame timestamps (:func:`_frame_times`) and the stream's time base, from one demuxing pass, kept for
    the last few videos read, as long as they do not change on disk."""
    info = path.stat()
    return _cached_times(str(path.resolve()), (info.st_size, info.st_mtime_ns))


INTERLACED_FIELD_ORDERS = {2, 3, 4, 5}  # FFmpeg's AVFieldOrder: top or bottom first, coded either way
BOTTOM_FIRST_FIELD_ORDERS = {3, 4}  # AV_FIELD_BB and AV_FIELD_TB: the bottom field shown first
DV_SD_HEIGHTS = {480, 576}  # DV25/DV50 at NTSC and PAL sizes, filmed bottom field first by the standard


def _first_field_of(stream) -> str:
    """Which field of ``stream``'s interlaced frames is filmed (and shown) first: ``"bottom"`` where the stream
    says so (some broadcast captures), or for standard-definition DV, whose streams leave the order unknown (it
    is in each frame, which PyAV does not show) and which is bottom field first; else ``"top"``."""
    order = stream.codec_context.field_order
    if order in BOTTOM_FIRST_FIELD_ORDERS:
        return "bottom"
    dv = stream.codec_context.name == "dvvideo" and stream.height in DV_SD_HEIGHTS
    return "bottom" if dv and order not in INTERLACED_FIELD_ORDERS else "top"


# Colour spaces that swscale would convert with its default BT.601 matrix anyway (unspecified, BT.470BG, SMPTE 170M).
BT601_SPACES = {2, 5, 6}
LIMITED_RANGES = {0, 1}  # unspecified, MPEG (16-235)


def to_rgb(frame: av.VideoFrame, max_side: int | None = None, shown_size: tuple[int, int] | None = None,
           first_field: str = "top") -> np.ndarray:
    """Convert a decoded frame to uint8 RGB, shrinking so its longer side is at most ``max_side``, and turned
    upright as the video asks players to show it (the rotation phones record).

    The common case, full-size 4:2:0 video in BT.601 limited range, goes
    through OpenCV's SIMD converter: 4-5x faster than swscale's ``rgb24``
    path and releasing the GIL, with the same matrix (it is nearer the exact
    conversion: mean error 0.1 vs 1.0 grey levels). Everything else goes
    through swscale.

    Interlaced frames are mended where their two fields disagree (:func:`keyframe.io.interlace.deinterlace`),
    keeping ``first_field`` (:func:`probe`'s ``first_field``: ``"top"`` or ``"bottom"``).
    HDR (PQ, HLG) and BT.2020 frames are shown as on an SDR display (:func:`keyframe.io.hdr.to_sdr`), instead of
    their signal taken as BT.709 (grey and washed out).

    ``shown_size`` is the video's ``(width, height)`` as shown (:func:`probe`'s): a frame decoded at another
    size, where the stream changes resolution midway, is scaled to it, so all of a video's frames share one size.
    """
    turns = _quarter_turns(frame.rotation)
    width, height = frame.width, frame.height
    if shown_size:
        width, height = shown_size[::-1] if turns % 2 else shown_size
    if max_side and max(width, height) > max_side:
        width, height = fit_size(width, height, max_side)
    if frame.interlaced_frame:  # mended at full size: scaling first would smear the two fields into each other
        rgb = deinterlace(_rgb_at(frame, frame.width, frame.height), first_field=first_field)
        if (width, height) != (frame.width, frame.height):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    else:
        rgb = _rgb_at(frame, width, height)
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _rgb_at(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    resized = (width, height) != (frame.width, frame.height)
    if hdr.needs_mapping(frame.color_trc, frame.color_primaries):
        deep = frame.to_ndarray(format="rgb48le", width=width, height=height, interpolation="AREA" if resized else None)
        return hdr.to_sdr(deep, frame.color_trc, frame.color_primaries)
    if resized:
        return frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
    if _is_plain_420(frame):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def _quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns (``np.rot90``) that show a frame upright, from its display rotation
    (FFmpeg's: -90 is a quarter turn clockwise, as players do)."""
    return round((rotation or 0) / 90) % 4


def _is_plain_420(frame: av.VideoFrame) -> bool:
    return (
        frame.format.name == "yuv420p"
        and frame.width % 2 == 0
        and frame.height % 2 == 0
        and frame.colorspace in BT601_SPACES
        and frame.color_range in LIMITED_RANGES
    )


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Scale ``(width, height)`` so the longer side is ``max_side``, keeping the aspect ratio."""
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def gamma_table(gamma: float) -> np.ndarray:
    """A uint8 lookup table for gamma correction: ``out = 255 * (in / 255) ** (1 / gamma)``.

    ``gamma > 1`` brightens the mid-tones, ``gamma < 1`` darkens them.
    """
    check_number("--gamma", gamma)
    levels = np.arange(256) / 255.0
    return np.clip(np.round(255.0 * levels ** (1.0 / gamma)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ExtractOptions:
    """Which frames to extract and how to change them on the way."""

    every: int = 1
    start: int = 0
    end: int | None = None
    max_side: int | None = None
    gamma: float | None = None
    png_level: int = 1

    def __post_init__(self) -> None:
        self.check()  # when made, so a bad value is named where it was given (and again by extract_frames)

    def check(self) -> None:
        for name in ("every", "start", "end", "max_side", "png_level"):
            value = getattr(self, name)
            if value is not None and not is_whole(value):
                raise KeyframeError(f"--{name.replace('_', '-')} must be a whole number, got {value!r}")
        if self.every < 1:
            raise KeyframeError(f"--every must be at least 1, got {self.every}")
        if self.start < 0:
            raise KeyframeError(f"--start must be >= 0, got {self.start}")
        if self.end is not None and self.end <= self.start:
            raise KeyframeError(f"--end ({self.end}) must be greater than --start ({self.start})")
        if not 0 <= self.png_level <= 9:
            raise KeyframeError(f"--png-level must be between 0 and 9, got {self.png_level}")
        if self.gamma is not None:
            check_number("--gamma", self.gamma)
        if self.max_side is not None and self.max_side < 2:
            raise KeyframeError(f"--max-side must be at least 2, got {self.max_side}")


def _read_as(info: VideoInfo) -> str:
    """What reading does to the frames beyond decoding them, for the log."""
    notes = [f"{info.hdr} HDR, read as SDR"] if info.hdr else []
    notes += ["interlaced, its fields mended"] if info.interlaced else []
    notes += [f"pixels {info.pixel_aspect}, kept as stored"] if info.pixel_aspect else []
    return f" ({'; '.join(notes)})" if notes else ""


def extract_frames(video: str | os.PathLike, out_dir: str | os.PathLike, options: ExtractOptions = ExtractOptions(), progress=None) -> dict:
    """Write a video's frames as ``000000.png, 000001.png, ...`` plus ``video.json``.

    Frames are numbered in output order; ``video.json`` records the source,
    the options and the output frame rate (source fps / every). The work goes
    to ``OUT_DIR.partial`` first, and a rerun after an interruption resumes it.
    PNG encoding runs on a thread pool while the next frames decode. Returns what ``video.json`` holds, and
    ``resumed_frames``, how many frames an interrupted run had written and this one kept, when there are any.

    Examples
    --------
    >>> extract_frames("clip.mp4", "frames", ExtractOptions(every=2))  # doctest: +SKIP
    {'fps': 12.5, 'width': 320, 'height': 240, 'frame_count': 50, ...}
    """
    if not isinstance(options, ExtractOptions):
        raise TypeError(f"options must be an ExtractOptions, got {type(options).__name__}")
    options.check()
    info = probe(video)
    stop = min(options.end, info.frame_count) if options.end is not None else None
    if options.start >= info.frame_count:
        raise fail(video, f"--start {options.start} is past its last frame ({info.frame_count} frames)")
    if options.end is not None and options.end > info.frame_count:
        log.warning("%s: --end %d is past its last frame (%d frames); the frames up to its end are extracted",
                    video, options.end, info.frame_count)
    lut = gamma_table(options.gamma) if options.gamma is not None else None
    total = len(range(options.start, stop or info.frame_count, options.every))
    log.info("%s: %s %dx%d at %g fps, %d frames by its header%s; writing %d of them (from frame %d, every %d)",
             video, info.codec, info.width, info.height, info.fps, info.frame_count, _read_as(info), total,
             options.start, options.every)
    # Frames kept by an interrupted run are reused only for the same video and options.
    key = {"video": input_identity(video), "options": asdict(options)}
    with staged_dir(out_dir, key, inputs=[video], kind="frames extract") as stage, ThreadPoolExecutor(max_workers=2) as pool:
        # Decoding starts at the first frame the interrupted run had not written (a seek), not at the top; the last
        # frame is decoded in any case, so that the count written is the count decoded.
        written = kept = written_run(stage, (f"{position:06d}" for position in range(total - 1)))
        if written:
            report(progress, written, total)
        # The main thread only decodes; conversion and PNG writing run on the pool, overlapping it.
        pending: deque = deque()
        frames = iter_video(video, options.start + written * options.every, stop, options.every,
                            expected=info.frame_count)
        for position, (_, frame) in enumerate(frames, written):
            target = stage / f"{position:06d}.png"
            if target.exists():
                kept += 1
            else:
                pending.append(pool.submit(_write_frame, target, frame, info, options.max_side, lut,
                                           options.png_level))
            while len(pending) > 8 or (pending and pending[0].done()):
                pending.popleft().result()
            written = position + 1
            report(progress, written, total)
        for job in pending:
            job.result()
        width, height = (info.width, info.height)
        if options.max_side and max(width, height) > options.max_side:
            width, height = fit_size(width, height, options.max_side)
        manifest = {
            "source": str(Path(video).resolve()),
            "fps": info.fps / options.every,
            "source_fps": info.fps,
            "width": width,
            "height": height,
            "frame_count": written,
            "source_frame_count": info.frame_count,
            "source_index": f"{options.start} + {options.every} * n",
            **{f"option_{k}": v for k, v in asdict(options).items()},
        }
        times = frame_seconds(video)
        if times is None or len(times) != info.frame_count:
            times = np.arange(info.frame_count) / info.fps
        manifest["start_seconds"] = round(float(times[options.start]), 6)  # where the sound goes on (encode --audio)
        shown = _variable_seconds(times, info, options, written)
        if shown is not None:
            manifest["frame_seconds"] = shown
        if info.hdr:
            manifest["source_hdr"] = info.hdr  # the frames are its SDR rendering
        if info.interlaced:
            manifest["source_interlaced"] = True  # the frames are mended where its fields disagreed
            manifest["source_first_field"] = info.first_field  # the field kept where they did
        if info.pixel_aspect:
            manifest["pixel_aspect"] = info.pixel_aspect  # the frames keep the video's pixels: videos made of them too
        with atomic_path(stage / MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2))
    return {**manifest, "resumed_frames": kept} if kept else manifest


def _variable_seconds(times: np.ndarray, info: VideoInfo, options: ExtractOptions, written: int) -> list[float] | None:
    """When each extracted frame is shown, in seconds from the first, where the video's frame rate varies
    (:func:`uneven_seconds`, from ``times``, the video's frames'); None where it is steady (the rate says it all)."""
    chosen = times[options.start:options.end:options.every][:written]
    chosen = chosen - chosen[0]
    return [round(float(t), 6) for t in chosen] if uneven_seconds(chosen, info.fps / options.every) else None


def _write_frame(path: Path, frame: av.VideoFrame, info: VideoInfo, max_side: int | None,
                 lut: np.ndarray | None, png_level: int) -> None:
    rgb = to_rgb(frame, max_side, (info.width, info.height), info.first_field)
    write_image(path, cv2.LUT(rgb, lut) if lut is not None else rgb, png_level)


MIN_FPS = 0.01  # the slowest frame rate written (mp4 time bases of slower ones round to 0)
MAX_FPS = 1000.0  # the fastest (the writer's time base has a denominator of at most 1001)


FPS_RANGE = f"between {MIN_FPS:g} and {MAX_FPS:g}"


def writable_fps(fps: float) -> bool:
    """Whether videos can be written at ``fps`` (:data:`FPS_RANGE`; NaN cannot)."""
    return MIN_FPS <= fps <= MAX_FPS


def stored_rate(fps: float) -> Fraction:
    """The frame rate :class:`VideoWriter` stores for ``fps``: the nearest fraction with a denominator up to
    1001 (NTSC's 30000/1001 stays exact; a BVH file's Frame Time of 0.033333 s becomes 30).

    Examples
    --------
    >>> stored_rate(1 / 0.033333), stored_rate(30000 / 1001)
    (Fraction(30, 1), Fraction(30000, 1001))
    """
    return Fraction(fps).limit_denominator(1001)


def check_fps(name: str, fps: float) -> float:
    """``fps`` if it is a frame rate videos can be written at (:data:`MIN_FPS` to :data:`MAX_FPS`); a
    KeyframeError naming ``name`` otherwise (NaN included).

    Examples
    --------
    >>> check_fps("--fps", 1e9)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --fps must be between 0.01 and 1000, got 1e+09
    """
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise KeyframeError(f"{name} must be a number of frames per second, got {fps!r}")
    if not writable_fps(fps):
        raise KeyframeError(f"{name} must be {FPS_RANGE}, got {fps:g}")
    return fps


# Every video keyframe writes carries it, so that a later run may replace that video but no other file.
WRITTEN_TAG = ("comment", "written by keyframe")


def check_mp4(path: str | os.PathLike, suffix: str = ".mp4") -> Path:
    """``path`` if its suffix names the container :class:`VideoWriter` writes (``.mp4``; ``.mov`` for videos with
    transparency); a KeyframeError otherwise.

    Examples
    --------
    >>> check_mp4("walk.MP4").name
    'walk.MP4'
    >>> check_mp4("walk.png")
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: walk.png: the output must be a .mp4 video, not '.png'
    """
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise fail(path, f"the output must be a {suffix} video, not {path.suffix or 'a name without a suffix'!r}")
    return path


def check_replaceable(path: str | os.PathLike) -> None:
    """Refuse an output video ``path`` where a file is that keyframe did not write: a user's own video, or
    anything else, is never replaced (an earlier output of keyframe is, and anything in a ``.partial`` folder
    keyframe is building). Called after the checks that the output is none of the inputs, whose message says
    more."""
    path = Path(path)
    if path.is_file() and not written_by_keyframe(path) and not (path.parent / STAGE_KEY).is_file():
        raise fail(path, "exists and keyframe did not write it, so it is not replaced; give another name, or move "
                         "it away")


def written_by_keyframe(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a video that :class:`VideoWriter` wrote (it tags them, :data:`WRITTEN_TAG`)."""
    key, value = WRITTEN_TAG
    try:
        with av.open(str(path)) as container:
            return container.metadata.get(key) == value
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return False


# FFmpeg's codes for how written videos store colour: the BT.601 matrix (SMPTE 170M), limited range, and the
# BT.709 primaries and transfer of sRGB images.
WRITTEN_MATRIX, WRITTEN_RANGE, WRITTEN_PRIMARIES_AND_TRANSFER = 6, 1, 1

PRORES_4444 = {"profile": "4444", "alpha_bits": "16"}  # the ProRes that keeps transparency, at full alpha depth
PRORES_MATRIX = 1  # BT.709

TIMED_RATE = 90_000  # ticks per second of timed videos (MPEG's clock: whole ticks at every common frame rate)


# H.264 level 6.2's largest frame: 139264 macroblocks of 16x16 pixels (8192x4320).
H264_MAX_PIXELS = 139264 * 256


class VideoWriter:
    """Encode RGB frames to an H.264 mp4 (yuv420p, tagged with the BT.601 matrix it is converted with), written under
    a temporary name; with ``alpha``, RGBA frames to a ProRes 4444 ``.mov`` that keeps their transparency, as
    video editors import it.

    Odd sizes are padded by one replicated row or column, since yuv420p needs
    even dimensions. The file appears at ``path`` only when ``close`` succeeds.
    Frames follow each other at ``fps``; a ``timed`` writer shows each at the time given with it instead (a
    variable frame rate), and ``fps`` is then only the rate players are told to expect on average. With
    ``audio``, that video's sound from ``audio_start`` seconds on goes with the frames, for as long as they last
    (:class:`~keyframe.io.audio.AudioTrack`). Pixels that are not square (``pixel_aspect``, their width over their
    height) are recorded, so players show the frames as wide as the video they came from.

    Examples
    --------
    >>> import numpy as np
    >>> with VideoWriter("out.mp4", fps=25) as writer:  # doctest: +SKIP
    ...     writer.write(np.zeros((101, 99, 3), np.uint8))
    """

    def __init__(self, path: str | os.PathLike, fps: float, crf: int = 18, preset: str = "medium", timed: bool = False,
                 audio: str | os.PathLike | None = None, audio_start: float = 0.0, pixel_aspect: Fraction = Fraction(1),
                 alpha: bool = False):
        check_mp4(path, ".mov" if alpha else ".mp4")
        check_file_apart(path, [audio])
        check_replaceable(path)
        start = check_audio_start(audio_start)
        self._sound = (check_sound(audio, start), start) if audio is not None else None
        self._audio: AudioTrack | None = None
        check_fps(f"{path}: the frame rate", fps)
        if not 0 <= crf <= 51:
            raise KeyframeError(f"--crf must be between 0 and 51, got {crf}")
        self.path = Path(path)
        self.fps, self.crf, self.preset, self.timed = fps, crf, preset, timed
        self.pixel_aspect, self.alpha = Fraction(pixel_aspect), alpha
        self._atomic = atomic_path(self.path, sweep=True)  # and a video a killed run left half-written goes
        self._tmp = self._atomic.__enter__()
        # faststart puts the index first: players can start early, and a cut file is detectably truncated.
        self._container = av.open(str(self._tmp), "w", format="mov" if alpha else "mp4", options={"movflags": "faststart"})
        self._container.metadata[WRITTEN_TAG[0]] = WRITTEN_TAG[1]
        self._stream = None
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._last_pts: int | None = None  # a timed writer's, which must rise from frame to frame
        self._times = (0.0, 0.0)  # a timed writer's last two frame times, for when the video ends

    def write(self, rgb: np.ndarray, seconds: float | None = None) -> None:
        """Append one uint8 RGB frame (RGBA with ``alpha``); every frame must have the first frame's size. A writer
        made ``timed`` shows it at ``seconds`` (later than the frame before), so a variable frame rate is kept."""
        rgb = np.asarray(rgb)
        channels = 4 if self.alpha else 3
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != channels:
            raise ValueError(f"VideoWriter.write expects uint8 (H, W, {channels}), got {rgb.dtype} {rgb.shape}")
        height, width = rgb.shape[:2]
        if self._stream is None:
            self._start(width, height)
        elif (width, height) != self.size:
            raise KeyframeError(f"{self.path}: frame {self.frames} is {width}x{height}, the video is {self.size[0]}x{self.size[1]}")
        pad_y, pad_x = (0, 0) if self.alpha else (height % 2, width % 2)  # 4:2:0 needs even sizes, 4:4:4 not
        if pad_y or pad_x:
            rgb = np.pad(rgb, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgba" if self.alpha else "rgb24")
        if self.alpha:  # editors take ProRes for BT.709 whatever it says: converted so, and tagged so
            # One thread: the bundled swscale's threaded conversion to yuva444p10le, at widths that are not a
            # multiple of 16, now and then writes grey, half-transparent pixels over the first 8 of a row where
            # its slices meet (rows 160 and 320 of a 480-row frame), and the encoder keeps them.
            frame = frame.reformat(format=self._stream.pix_fmt, dst_colorspace="itu709", dst_color_range=WRITTEN_RANGE,
                                   threads=1)
            frame.colorspace, frame.color_range = PRORES_MATRIX, WRITTEN_RANGE
        frame.pts = self._pts(seconds)
        with naming_the_output(self._tmp, self.path):  # a full disk names the video
            self._container.mux(self._stream.encode(frame))
            self.frames += 1
            if self.timed:
                self._times = (self._times[1], seconds)  # the frame before and this one
            if self._audio is not None:
                self._audio.until(seconds if self.timed else self.frames / self.fps)

    def _pts(self, seconds: float | None) -> int:
        if not self.timed:
            return self.frames
        if seconds is None or not math.isfinite(seconds):
            raise ValueError(f"VideoWriter.write: a timed writer needs each frame's seconds, got {seconds!r}")
        pts = round(seconds * TIMED_RATE)
        if self._last_pts is not None and pts <= self._last_pts:
            raise KeyframeError(f"{self.path}: frame {self.frames} is shown at {seconds:g} s, not after the frame before it")
        self._last_pts = pts
        return pts

    def _start(self, width: int, height: int) -> None:
        self.size = (width, height)
        if not self.alpha and width * height > H264_MAX_PIXELS:
            log.warning("%s: %dx%d frames are larger than H.264 allows at its highest level (8192x4320 pixels): "
                        "software players (FFmpeg, VLC) play the video, hardware decoders (phones, most "
                        "browsers) may refuse it", self.path, width, height)
        rate = stored_rate(self.fps)
        stream = self._container.add_stream("prores_ks" if self.alpha else "libx264", rate=rate)
        stream.width, stream.height = (width, height) if self.alpha else (width + width % 2, height + height % 2)
        stream.pix_fmt = "yuva444p10le" if self.alpha else "yuv420p"
        stream.time_base = 1 / rate
        if self.timed:  # each frame at its own time: a fine clock for the encoder and the file
            stream.codec_context.time_base = stream.time_base = Fraction(1, TIMED_RATE)
        stream.options = PRORES_4444 if self.alpha else {"crf": str(self.crf), "preset": self.preset}
        # Say how the colours are stored: players guess BT.709 for untagged HD video, and would then show the
        # BT.601 conversion that PyAV (and the fast reader) uses with shifted reds and greens.
        context = stream.codec_context
        context.colorspace, context.color_range = PRORES_MATRIX if self.alpha else WRITTEN_MATRIX, WRITTEN_RANGE
        context.color_primaries = context.color_trc = WRITTEN_PRIMARIES_AND_TRANSFER
        if self.pixel_aspect != 1:
            context.sample_aspect_ratio = self.pixel_aspect
        self._stream = stream
        if self._sound is not None:  # added after the video stream, so the video comes first
            self._audio = AudioTrack(self._container, *self._sound)

    def close(self) -> None:
        """Flush the encoder and publish the file."""
        if self._stream is None:
            self.abort()
            raise KeyframeError(f"{self.path}: no frames were given to encode")
        with naming_the_output(self._tmp, self.path):  # a full disk names the video
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish(self._end())
            self._container.close()
        self._atomic.__exit__(None, None, None)

    def _end(self) -> float:
        """When the video ends: its last frame's time and one frame's spacing (the last one's, when timed)."""
        if not self.timed:
            return self.frames / self.fps
        return shown_until(self._times if self.frames > 1 else self._times[1:], self.fps)

    def abort(self) -> None:
        """Discard the partial file."""
        if self._audio is not None:
            self._audio.close()
        self._container.close()
        self._atomic.__exit__(KeyframeError, None, None)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float, crf: int = 18) -> int:
    """Encode an iterable of uint8 RGB frames to ``path``; returns the frame count."""
    with VideoWriter(path, fps, crf) as writer:
        for rgb in frames:
            writer.write(rgb)
    return writer.frames
