"""Shared fixtures: the built-in sample, and the real data beside the repository."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch

torch.manual_seed(0)
torch.set_num_threads(min(2, os.cpu_count() or 1))

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# The command as its console script runs it (not `python -m keyframe.cli`: a Ctrl-C that lands in an exec() of
# a string, as imports of dataclasses do, makes `-m` end the process by SIGINT after it exits 130).
KEYFRAME = [sys.executable, "-c", "from keyframe.launch import main; main()"]
# Outputs are compared as text: a CI that forces colour (FORCE_COLOR=1 and the like) must not add escape codes.
for _forcing_colour in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE"):
    os.environ.pop(_forcing_colour, None)
# The tests of Ctrl-C send SIGINT to this process. A suite started as a background job of a shell without job
# control (`./.ci/run &` in a script) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def shared(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``keyframe ARGS`` in a subprocess, as a user would; returns the finished process."""
    return subprocess.run(
        [*KEYFRAME, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def stop_moves_after(count: int, monkeypatch, counts=lambda target: True) -> list[Path]:
    """Make ``os.replace`` raise KeyboardInterrupt (as Ctrl-C would) once ``count`` moves that ``counts`` (by
    their target) are done, as a publish stopped half-way; the moves done are listed in the list returned."""
    moves: list[Path] = []

    def replace(source, target):
        if counts(Path(target)):
            if len(moves) == count:
                raise KeyboardInterrupt
            moves.append(Path(target))
        os.rename(source, target)

    monkeypatch.setattr(os, "replace", replace)
    return moves


def write_vfr_video(path: Path, frames, milliseconds: list[int]) -> None:
    """A variable-frame-rate H.264 Matroska video: ``frames`` (uint8 RGB) shown at ``milliseconds``."""
    import av

    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        for rgb, shown in zip(frames, milliseconds, strict=True):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = shown
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_video_with_sound(path: Path, frames, fps: int = 25, codec: str = "aac") -> None:
    """An H.264 video of ``frames`` with a mono tone in ``codec`` as long as the frames: 440 Hz for the first
    second, 880 Hz after (so where a sound starts can be heard, :func:`pitch`)."""
    import av
    import numpy as np

    rate = 48000
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        sound = container.add_stream(codec, rate=rate)
        sound.layout = "mono"
        for rgb in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode(None))
        t = np.arange(round(len(frames) / fps * rate)) / rate
        tone = 0.3 * np.sin(2 * np.pi * np.where(t < 1, 440, 880) * t)
        samples = tone.astype(np.float32) if codec == "aac" else (tone * 32767).astype(np.int16)
        step = 1024
        for first in range(0, len(samples), step):
            chunk = av.AudioFrame.from_ndarray(samples[None, first:first + step], format="fltp" if codec == "aac" else "s16",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = rate, first
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))


def sound_in(path: Path) -> tuple[float, float, str]:
    """The first audio stream of ``path``: its length in seconds, the pitch of its first 0.17 s, and its codec."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(stream)])
        head = samples[:8192]
        pitch = np.fft.rfftfreq(len(head), 1 / stream.rate)[np.abs(np.fft.rfft(head)).argmax()]
        return len(samples) / stream.rate, float(pitch), stream.codec_context.name


@pytest.fixture(scope="session")
def small_sample():
    """A 24-frame 160x120 'wave' clip with exact masks."""
    from keyframe.sample import make_sample

    return make_sample("wave", frames=24, size=(160, 120), seed=7)


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory, small_sample) -> Path:
    """The small sample encoded as an mp4."""
    from keyframe.io import write_video

    path = tmp_path_factory.mktemp("video") / "sample.mp4"
    write_video(iter(small_sample.frames), path, fps=25)
    return path
