"""The sound of a video carried into a video keyframe writes: its first audio stream from a given time on,
copied packet by packet where MP4 holds its codec, else re-encoded as AAC, and interleaved with the frames.

Examples
--------
>>> from keyframe.io import encode_frames
>>> encode_frames("styled/", "styled.mp4", audio="clip.mp4")  # doctest: +SKIP
120
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from keyframe.errors import KeyframeError, fail, is_seconds

MP4_AUDIO = {"aac", "mp3", "alac"}  # codecs an MP4 holds as they are; the others are re-encoded as AAC
AAC_FRAME = 1024  # samples per AAC frame


def check_audio_start(start: float) -> float:
    """``start`` if it is a time in a video (0 or more seconds); a KeyframeError naming ``--audio-start`` otherwise."""
    if not is_seconds(start):
        raise KeyframeError(f"--audio-start must be 0 or more seconds, got {start!r}")
    return float(start)


class SilentVideo(KeyframeError):
    """A readable video without an audio stream: no sound to carry on, which is no fault of the video."""


def open_sound(source: Path):
    """``source`` opened for its first audio stream; a KeyframeError naming it when it has none or cannot be read."""
    if source.is_dir():  # a frame folder has no sound: say so, not that nothing is there
        raise fail(source, "is a folder; the sound is taken from a video file (given for the sound)")
    if not source.is_file():
        raise fail(source, "no such file (given for the sound)")
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise fail(source, "not a readable video (given for the sound)") from None
    if not container.streams.audio:
        container.close()
        raise SilentVideo(f"{source}: has no audio stream to take the sound from")
    return container


def check_sound(source: str | os.PathLike, start: float | None = None) -> Path:
    """``source`` as a path, refused (:func:`open_sound`) before any work when it gives no sound, or none from
    ``start`` seconds after its first frame on."""
    length = sound_seconds(source)
    if start is not None and length is not None and start >= length:
        raise fail(source, f"its sound ends {length:.2f} s after its first frame, so there is none from {start:g} s on "
                           "(--audio-start, or where the frames begin in it)")
    return Path(source)


def sound_seconds(source: str | os.PathLike) -> float | None:
    """How long ``source``'s sound goes on after its first video frame, in seconds (None where it does not say).

    Raises
    ------
    KeyframeError
        As :func:`open_sound`.
    """
    with open_sound(Path(source)) as container:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            end = float(((stream.start_time or 0) + stream.duration) * stream.time_base)
        elif container.duration is not None:
            end = (container.duration + (container.start_time or 0)) / av.time_base
        else:
            return None
        return end - _first_frame_time(container)


class AudioTrack:
    """The first audio stream of the video ``source``, from ``start`` seconds after its first frame on, as a
    stream of ``container`` that starts at 0. Call :meth:`until` as the frames are written, and :meth:`finish`
    with the video's end.

    Raises
    ------
    KeyframeError
        For a ``source`` that cannot be read or has no audio stream (before anything is written).
    """

    def __init__(self, container, source: str | os.PathLike, start: float = 0.0):
        self.source, self.start = Path(source), check_audio_start(start)
        self._input = open_sound(self.source)
        stream = self._input.streams.audio[0]
        self._from = _first_frame_time(self._input) + self.start  # on the source's clock, shared by its streams
        if stream.codec_context.name in MP4_AUDIO:
            self._output = container.add_stream_from_template(stream)
            self._packets = self._copied(stream)
        else:
            rate = stream.codec_context.sample_rate or 48000
            self._output = container.add_stream("aac", rate=rate)
            self._output.layout = "stereo" if stream.codec_context.layout.nb_channels > 1 else "mono"
            self._packets = self._encoded(stream, rate)
        self._container = container
        self._waiting: av.Packet | None = None

    def until(self, seconds: float) -> None:
        """Write the sound's packets that start before ``seconds`` (of the output)."""
        while True:
            packet = self._waiting or next(self._packets, None)
            if packet is None:
                return
            if packet.pts is not None and float(packet.pts * packet.time_base) >= seconds:
                self._waiting = packet
                return
            self._waiting = None
            self._container.mux(packet)

    def finish(self, seconds: float) -> None:
        """Write the packets that start before the video ends at ``seconds``; the rest of the sound is left out."""
        self.until(seconds)
        self.close()

    def close(self) -> None:
        self._input.close()

    def _copied(self, stream) -> Iterator[av.Packet]:
        """The source's packets from ``start`` on, re-timed so that ``start`` is 0 (one that begins before it is
        left out, and the sound starts with the next, some 20 ms later, in step). Demuxed from the top: a seek in a
        file without an index could land late and lose sound."""
        shift = round(self._from / stream.time_base)
        for packet in self._input.demux(stream):
            if packet.size == 0 or packet.pts is None or packet.pts < shift:
                continue
            packet.pts -= shift
            packet.dts = packet.pts if packet.dts is None else packet.dts - shift
            packet.stream = self._output
            yield packet

    def _encoded(self, stream, rate: int) -> Iterator[av.Packet]:
        """The source's sound from ``start`` on, decoded and encoded as AAC from time 0 (the samples before
        ``start`` cut off, to the sample)."""
        resampler = av.AudioResampler(format="fltp", layout=self._output.layout.name, rate=rate, frame_size=AAC_FRAME)
        written = 0
        for frame in self._input.decode(stream):
            frame = _from_time(frame, self._from)
            if frame is None:
                continue
            for chunk in resampler.resample(frame):
                chunk.pts, written = written, written + chunk.samples
                yield from self._output.encode(chunk)
        for chunk in resampler.resample(None):
            chunk.pts, written = written, written + chunk.samples
            yield from self._output.encode(chunk)
        yield from self._output.encode(None)


def _from_time(frame: av.AudioFrame, seconds: float) -> av.AudioFrame | None:
    """``frame`` without its samples before ``seconds``: itself, a cut copy, or None when all of it is before."""
    if frame.pts is None:
        return frame
    skip = round((seconds - float(frame.pts * frame.time_base)) * frame.sample_rate)
    if skip <= 0:
        return frame
    if skip >= frame.samples:
        return None
    samples = frame.to_ndarray()
    per_sample = 1 if frame.format.is_planar else frame.layout.nb_channels  # packed: channels side by side
    cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, skip * per_sample:]), format=frame.format.name,
                                     layout=frame.layout.name)
    cut.sample_rate = frame.sample_rate
    return cut


def _first_frame_time(container) -> float:
    """When the source's first video frame is shown, on the clock its streams share (0 without a video stream)."""
    video = container.streams.video[0] if container.streams.video else None
    if video is not None and video.start_time is not None:
        return float(video.start_time * video.time_base)
    return 0.0
