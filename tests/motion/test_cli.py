"""`keyframe movement learn / detect` as a user runs them, bad input included."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from keyframe.io import write_image, write_video
from keyframe.motion import load_model
from keyframe.sample import make_sample, write_sample
from tests.conftest import KEYFRAME, run_cli


def assert_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


def test_learn_then_detect(tmp_path):
    clip = tmp_path / "wave"
    write_sample(clip, make_sample("wave", frames=40, size=(96, 96), seed=3))
    squat = tmp_path / "squat.mp4"
    write_video(iter(make_sample("squat", frames=30, size=(96, 96), seed=4).frames), squat, fps=25)
    model = tmp_path / "wave.kfm"
    learned = run_cli("movement", "learn", clip / "frames", "-o", model, "--negatives", squat)
    assert learned.returncode == 0, learned.stderr
    assert "threshold" in learned.stdout and "relative to 1 model of the negatives" in " ".join(learned.stdout.split())
    assert model.is_file()

    report, plot = tmp_path / "out.json", tmp_path / "out.png"
    found = run_cli("movement", "detect", model, clip / "video.mp4", "--json", report, "--plot", plot)
    assert found.returncode == 0, found.stderr
    data = json.loads(report.read_text())
    assert set(data) >= {"score", "detected", "threshold", "frame_scores", "intervals", "interval_seconds"}
    assert len(data["frame_scores"]) == 40 and len(data["intervals"]) > 0
    for (first, last), (start, end) in zip(data["intervals"], data["interval_seconds"], strict=True):
        assert (start, end) == (round(first / 25, 3), round((last + 1) / 25, 3))
        assert f"frames {first}-{last}  ({start:.2f}-{end:.2f} s)" in found.stdout
    assert ("detected" in found.stdout) and plot.stat().st_size > 1000
    assert data["region"] is None, "by default each frame is cut to what moves around it, not one crop"
    assert "each frame cropped to what moves within 5 s" in " ".join(learned.stdout.split())
    assert "note:" not in found.stderr, "the video has the training clip's frame rate"
    fast = tmp_path / "fast.mp4"  # the same frames at three times the rate: the movement three times as fast
    write_video(iter(make_sample("wave", frames=40, size=(96, 96), seed=3).frames), fast, fps=75)
    stepped = run_cli("movement", "detect", model, fast, "--json", tmp_path / "fast.json")
    assert stepped.returncode == 0 and "this video has 75: one frame in 3 was scored" in stepped.stderr, stepped.stderr
    assert json.loads((tmp_path / "fast.json").read_text())["step"] == 3
    noted = run_cli("movement", "detect", model, fast, "--keep-rate")
    assert noted.returncode == 0 and "this video has 75" in noted.stderr and "score one frame in 3, as detect does without --keep-rate" in " ".join(noted.stderr.split()), noted.stderr
    # A reader that closes the pipe before the results are printed (`| head -1`) does not cost the JSON.
    closed = tmp_path / "closed.json"
    reader = subprocess.Popen([*KEYFRAME, "movement", "detect", str(model),
                               str(clip / "video.mp4"), "--json", str(closed)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reader.stdout.close()
    reader.wait(timeout=300)
    assert json.loads(closed.read_text())["score"] == data["score"]
    # Outputs replace only their own kind: an earlier detection's JSON, a PNG; not a model, a video or notes.
    again = run_cli("movement", "detect", model, clip / "video.mp4", "--json", report, "--plot", plot)
    assert again.returncode == 0 and json.loads(report.read_text())["score"] == data["score"], again.stderr
    notes, fake, other_model = tmp_path / "notes.txt", tmp_path / "fake.png", tmp_path / "other.kfm"
    notes.write_text("mine")
    fake.write_text("mine")
    other_model.write_bytes(model.read_bytes())
    photo = tmp_path / "photo.png"  # a picture of the user's, named as a plot by mistake
    write_image(photo, make_sample("wave", frames=1, size=(96, 96), seed=3).frames[0])
    for option, victim, says in (("--json", other_model, "is not a detection's JSON"), ("--json", notes, "is not a detection's JSON"),
                                 ("--plot", fake, "is not a PNG image"), ("--plot", photo, "is not a plot keyframe wrote")):
        before = victim.read_bytes()
        assert_error(run_cli("movement", "detect", model, clip / "video.mp4", option, victim), str(victim), says)
        assert victim.read_bytes() == before
    following = run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "following.kfm", "--crop-seconds", "0.5",
                        "--start", "2", "--end", "38")
    assert following.returncode == 0, following.stderr
    assert "each frame cropped to what moves within 0.5 s from 36 frames" in " ".join(following.stdout.split())
    following_model = load_model(tmp_path / "following.kfm")
    assert following_model.features.crop_seconds == 0.5
    assert following_model.info["clips"] == [f"{clip / 'frames'} frames 2-37"]
    one = run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "one.kfm", "--crop-seconds", "0")
    assert one.returncode == 0 and "one crop per clip" in one.stdout, one.stderr
    assert load_model(tmp_path / "one.kfm").features.crop_seconds is None
    found = run_cli("movement", "detect", tmp_path / "one.kfm", clip / "video.mp4", "--json", tmp_path / "f.json")
    assert found.returncode == 0 and json.loads((tmp_path / "f.json").read_text())["region"]["side"] > 0, found.stderr

    fused = run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "fused.kfm", "--features", "pixels+cnn")
    assert fused.returncode == 0, fused.stderr
    assert "learned pixels+cnn (fusion min, weights pixels 0." in " ".join(fused.stdout.split())

    # Bad input: one line naming the file, exit 2 (more cases go through the Python API in test_learn_detect).
    short = tmp_path / "short.mp4"
    write_video(iter(np.zeros((5, 32, 32, 3), np.uint8)), short, fps=25)
    assert_error(run_cli("movement", "detect", model, short), "short.mp4", "has 5 frames")
    assert_error(run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "x.kfm", "--features", "pose",
                         "--pose-frame", "side"), "--pose-frame must be one of body, image, got 'side'")
    assert_error(run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "x.kfm", "--features", "pixels+cnn",
                         "--fusion", "max"), "--fusion must be one of min, mean, got 'max'")
    assert_error(run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "x.kfm", "--crop-seconds", "0.1"),
                 "--crop-seconds must be between 0.2 and 30 seconds, or 0 for one crop per clip (None in FeatureConfig), got 0.1")
    assert_error(run_cli("movement", "learn", clip / "frames", "-o", tmp_path / "x.kfm", "--start", "30", "--end", "60"),
                 "frames: has 40 frames; no stretch from frame 30 to 60")
    damaged = tmp_path / "damaged.kfm"
    damaged.write_bytes(model.read_bytes()[:500])
    assert_error(run_cli("movement", "detect", damaged, short), "damaged.kfm", "not a readable movement model")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, and `kill` or a job scheduler
def test_ctrl_c_during_a_search_says_how_to_resume_and_a_rerun_finishes(tmp_path, stop):
    clip, other = tmp_path / "wave.mp4", tmp_path / "squat.mp4"
    write_video(iter(make_sample("wave", frames=60, size=(96, 96), seed=0).frames), clip, fps=25)
    write_video(iter(make_sample("squat", frames=60, size=(96, 96), seed=1).frames), other, fps=25)
    model, journal = tmp_path / "wave.kfm", tmp_path / "wave.kfm.partial"
    command = [*KEYFRAME, "movement", "learn", str(clip), "-o", str(model),
               "--negatives", str(other), "--trials", "4"]
    # A run started in the background (`make test &`, some CI runners) inherits SIGINT ignored, and Python then
    # leaves it ignored: the child gets Ctrl-C's default back, as a terminal would give it.
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not journal.exists() and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running.send_signal(stop)
    _, stderr = running.communicate(timeout=120)
    assert running.returncode == 130, stderr
    assert "interrupted; no output was made to look complete" in stderr and "Traceback" not in stderr
    assert journal.exists() and not model.exists()

    rerun = run_cli(*command[len(KEYFRAME):])
    assert rerun.returncode == 0, rerun.stderr
    assert model.is_file() and not journal.exists()


def test_a_bad_fusion_is_one_error_line_without_a_note_first(tmp_path):
    """The note that --fusion does nothing with one kind must not come before the error that it is unknown."""
    result = run_cli("movement", "learn", tmp_path / "clip.mp4", "-o", tmp_path / "m.kfm", "--fusion", "max")
    assert_error(result, "--fusion must be one of min, mean, got 'max'")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_stretches_that_pass_in_a_clip_not_detected_are_labelled(capsys):
    from types import SimpleNamespace

    from keyframe import cli

    result = SimpleNamespace(detected=False, score=-0.004, threshold=0.059, extra={}, intervals=[(46, 59)],
                             interval_seconds=[(1.84, 2.40)])
    cli._print_detection("clip.mp4", result)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "clip.mp4: not detected (score -0.004, threshold 0.059)"
    assert lines[1] == "  at or above the threshold, too briefly for the clip's score:" and "frames 46-59" in lines[2]
    cli._print_detection("clip.mp4", SimpleNamespace(**{**vars(result), "detected": True, "score": 0.1}))
    assert "too briefly" not in capsys.readouterr().out
    cli._print_detection("a/video.mp4", SimpleNamespace(**{**vars(result), "extra": {"plot": "plots/video-2.png"}}))
    assert capsys.readouterr().out.splitlines()[1] == "  plot: plots/video-2.png"  # which plot is whose
