"""Outputs that never look complete, and that two runs never write at once."""

import errno
import os
import multiprocessing
from pathlib import Path

import pytest

from keyframe.errors import KeyframeError
from keyframe.io import staged_dir
from keyframe.io.atomic import exclusive, write_bytes


def _hold(out: str, started, release) -> None:
    with staged_dir(out) as stage:
        (stage / "a.txt").write_text("first run")
        started.set()
        release.wait(30)


def test_a_second_run_into_an_output_another_run_is_writing_is_refused_and_mixes_nothing(tmp_path):
    # Two `frames extract` into one folder used to share its .partial: the second wiped the first's files as it
    # wrote them, and published some of them as its own.
    out = tmp_path / "frames"
    context = multiprocessing.get_context("spawn")
    started, release = context.Event(), context.Event()
    first = context.Process(target=_hold, args=(str(out), started, release))
    first.start()
    try:
        assert started.wait(60)
        with pytest.raises(KeyframeError, match="frames: is being written by another keyframe run now"):
            with staged_dir(out) as stage:
                (stage / "a.txt").write_text("second run")
    finally:
        release.set()
        first.join(60)
    assert first.exitcode == 0 and (out / "a.txt").read_text() == "first run"
    assert not (tmp_path / ".frames.lock").exists()  # nothing left beside the output
    with staged_dir(out) as stage:  # and the output is free again
        (stage / "a.txt").write_text("third run")
    assert (out / "a.txt").read_text() == "third run"


def test_a_lock_left_by_a_killed_run_holds_nothing(tmp_path):
    (tmp_path / ".model.kfm.lock").write_text("")  # a run killed with -9 leaves its lock file, not its lock
    with exclusive(tmp_path / "model.kfm"):
        pass
    assert not (tmp_path / ".model.kfm.lock").exists()


def test_a_full_disk_names_the_output_not_its_temporary_name(tmp_path, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        write_bytes(tmp_path / "model.kfm", b"x")
    assert caught.value.filename == str(tmp_path / "model.kfm")
    assert not list(tmp_path.iterdir())  # no temporary file left


def test_a_movement_model_on_a_full_disk_is_an_os_error_naming_it(tmp_path, monkeypatch):
    # torch.save into a file reports a full disk as a RuntimeError ("unexpected pos"), which the CLI printed as a
    # traceback after all the training; the model is now serialised in memory and written as bytes.
    from keyframe.motion import learn
    from keyframe.motion.learn import LearnConfig
    from keyframe.motion.predictor import NetConfig
    from keyframe.sample import make_sample

    model = learn(make_sample("wave", frames=24, size=(48, 48)).frames, LearnConfig(net=NetConfig(epochs=1)))
    written = model.save(tmp_path / "wave.kfm")
    assert written.is_file()

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as caught:
        model.save(tmp_path / "again.kfm")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "again.kfm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wave.kfm"]


def test_a_video_left_half_written_by_a_killed_run_is_swept_when_the_output_is_written_again(tmp_path):
    import numpy as np

    from keyframe.io import write_video

    # A run killed with -9 cannot remove its temporary file: it stayed beside the output for good.
    gone = 2**22 + 1  # above the highest process id Linux gives (PID_MAX_LIMIT), and macOS's: no such process
    dead = tmp_path / f".clip.{gone}-0a1b2c3d.tmp.mp4"
    live = tmp_path / f".clip.{os.getpid()}-0a1b2c3d.tmp.mp4"  # a run still writing it
    other = tmp_path / f".clips.{gone}-0a1b2c3d.tmp.mp4"  # another output's
    dated = tmp_path / f".clip.2024-05-01.{gone}-0a1b2c3d.tmp.mp4"  # clip.2024-05-01.mp4's, not clip.mp4's
    recent = tmp_path / f".clip.{gone}-1a1b2c3d.tmp.mp4"  # written a moment ago: a run elsewhere?
    for path in (dead, live, other, dated, recent):
        path.write_bytes(b"half a video")
        if path != recent:
            os.utime(path, (0, 0))
    write_video([np.zeros((16, 16, 3), np.uint8)] * 2, tmp_path / "clip.mp4", fps=10)
    assert not dead.exists() and live.exists() and other.exists() and dated.exists() and recent.exists()
    assert (tmp_path / "clip.mp4").stat().st_size > 0


def test_a_lock_file_removed_as_it_was_taken_is_taken_again(tmp_path, monkeypatch):
    # The run that held the lock removes its file as it ends: a run that opened the file just before locks a file
    # no one else finds, and a third run could then lock a new one beside it. It must take the file there now.
    import builtins

    from keyframe.io import atomic

    opened = []

    def open_then_lose_it(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        opened.append(handle)
        if len(opened) == 1:
            Path(path).unlink()  # the run before ends between this run's open and its lock
        return handle

    monkeypatch.setattr(atomic, "open", open_then_lose_it, raising=False)
    with exclusive(tmp_path / "frames"):
        lock = tmp_path / ".frames.lock"
        assert len(opened) == 2 and lock.exists()
        assert os.fstat(opened[1].fileno()).st_ino == lock.stat().st_ino
    assert not lock.exists()


def test_a_full_disk_while_a_video_is_encoded_names_the_video(tmp_path):
    import numpy as np

    from keyframe.io import VideoWriter

    writer = VideoWriter(tmp_path / "clip.mp4", fps=10)
    writer.write(np.zeros((16, 16, 3), np.uint8))
    encoding = writer._container

    class FFmpegError(OSError):  # as PyAV's errors: their file name cannot be changed
        @property
        def filename(self):
            return str(writer._tmp)

    class FullDisk:  # the container as FFmpeg reports a full disk: on the temporary file
        def mux(self, packets):
            raise FFmpegError(errno.ENOSPC, "No space left on device")

        def close(self):
            encoding.close()

    writer._container = FullDisk()
    with pytest.raises(OSError) as caught:
        writer.write(np.zeros((16, 16, 3), np.uint8))
    # It named the hidden .clip.<pid>-<hex>.tmp.mp4, and then, with PyAV's own error, ended in an AttributeError.
    assert caught.value.filename == str(tmp_path / "clip.mp4") and caught.value.errno == errno.ENOSPC
    writer.abort()
    assert not list(tmp_path.iterdir())


def test_a_run_refused_or_stopped_before_it_wrote_leaves_no_folder_its_lock_made(tmp_path):
    with pytest.raises(KeyframeError):
        with exclusive(tmp_path / "new" / "deeper" / "wave.kfm"):
            raise KeyframeError("the clip is too short")  # as learn says before any work
    assert not (tmp_path / "new").exists()
    with exclusive(tmp_path / "new" / "deeper" / "wave.kfm"):
        write_bytes(tmp_path / "new" / "deeper" / "wave.kfm", b"model")
    assert (tmp_path / "new" / "deeper" / "wave.kfm").read_bytes() == b"model"


def test_ctrl_c_while_outputs_replace_earlier_ones_waits_for_the_moves_then_stops(tmp_path, monkeypatch):
    # A Ctrl-C a moment into the moves left the folder with new outputs and old ones mixed under the final name.
    import signal

    out = tmp_path / "frames"
    with staged_dir(out) as stage:
        for index in range(4):
            (stage / f"{index}.png").write_text("old")
    real_replace, moves = os.replace, []

    def replace_then_ctrl_c(source, target):
        moves.append(target)
        if len(moves) == 2:
            signal.raise_signal(signal.SIGINT)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        with staged_dir(out) as stage:
            for index in range(4):
                (stage / f"{index}.png").write_text("new")
    assert sorted(path.read_text() for path in out.glob("*.png")) == ["new"] * 4
    assert not (tmp_path / "frames.partial").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
