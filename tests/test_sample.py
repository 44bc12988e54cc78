import os

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames, read_masks
from keyframe.sample import MOVEMENTS, make_sample
from tests.conftest import run_cli


def test_same_seed_same_clip_and_exact_binary_masks():
    a = make_sample("squat", frames=6, size=(96, 72), seed=3)
    b = make_sample("squat", frames=6, size=(96, 72), seed=3)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert set(np.unique(a.masks)) == {0, 255}
    assert 0.02 < (a.masks > 0).mean() < 0.25


def test_masks_cover_exactly_the_figure():
    clip = make_sample("wave", frames=2, size=(120, 90), seed=1)
    other = make_sample("wave", frames=2, size=(120, 90), seed=1)
    # Outside the mask the frame is the (noisy) background; inside, the figure's clothes differ from it.
    figure = clip.masks[0] > 0
    background = np.abs(clip.frames[0].astype(int) - other.frames[0].astype(int)).max()
    assert background == 0 and figure.any()


def test_movements_differ():
    moves = {m: make_sample(m, frames=30, size=(96, 72), seed=2).masks.astype(float) for m in MOVEMENTS}
    motion = {m: np.abs(np.diff(v, axis=0)).mean() for m, v in moves.items()}
    assert all(value > 0 for value in motion.values())
    assert not np.array_equal(moves["wave"], moves["squat"])


def test_bad_arguments():
    with pytest.raises(KeyframeError, match="unknown movement"):
        make_sample("moonwalk")
    with pytest.raises(KeyframeError):
        make_sample("wave", frames=0)


def test_sample_cli_writes_frames_masks_and_video(tmp_path):
    result = run_cli("sample", tmp_path / "s", "--movement", "jumping_jack", "--frames", "5", "--size", "80x64")
    assert result.returncode == 0, result.stderr
    assert len(open_frames(tmp_path / "s" / "frames")) == 5
    assert len(read_masks(tmp_path / "s" / "masks")) == 5
    assert len(open_frames(tmp_path / "s" / "video.mp4")) == 5


def test_an_interrupted_sample_is_not_mixed_into_another(tmp_path, monkeypatch):
    import keyframe.sample as sample_module
    from keyframe.io import list_images
    from keyframe.sample import make_sample, write_sample

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sample_module, "VideoWriter", interrupted)  # stopped once the frames and masks are written
    with pytest.raises(KeyboardInterrupt):
        write_sample(tmp_path / "s", make_sample("wave", frames=12, size=(64, 64)))
    monkeypatch.undo()
    write_sample(tmp_path / "s", make_sample("squat", frames=5, size=(64, 64)))
    assert len(list_images(tmp_path / "s" / "frames")) == 5 and len(list_images(tmp_path / "s" / "masks")) == 5


def test_a_sample_written_again_is_left_as_it_is_unless_a_file_is_missing(tmp_path):
    # Written again, a sample's new file times made every run's kept work from it look stale: a demo stopped in its
    # stylize part trained afresh.
    from keyframe.sample import make_sample, write_sample

    clip = make_sample("wave", frames=6, size=(48, 32))
    write_sample(tmp_path / "s", clip)
    frame = tmp_path / "s" / "frames" / "000003.png"
    os.utime(frame, ns=(0, 0))  # a time no write makes, however coarse the file system's clock
    before = frame.stat().st_mtime_ns
    write_sample(tmp_path / "s", clip)
    assert frame.stat().st_mtime_ns == before
    (tmp_path / "s" / "masks" / "000002.png").unlink()
    write_sample(tmp_path / "s", clip)
    assert (tmp_path / "s" / "masks" / "000002.png").is_file()  # made again, with the rest of the sample
    assert frame.stat().st_mtime_ns == before  # whose files come out the same, and are left as they were
    write_sample(tmp_path / "s", make_sample("wave", frames=6, size=(48, 32), seed=1))  # other pixels: written
    assert frame.stat().st_mtime_ns != before


def test_making_and_writing_a_sample_report_their_progress(tmp_path):
    from keyframe.sample import make_sample, write_sample

    steps = []
    clip = make_sample("march", frames=3, size=(48, 32), progress=lambda done, total, note: steps.append((note, done, total)))
    write_sample(tmp_path / "s", clip, progress=lambda done, total, note: steps.append((note, done, total)))
    assert [step for step in steps if step[1] == 3] == [("drawing", 3, 3), ("writing frames and masks", 3, 3),
                                                         ("encoding video.mp4", 3, 3)]


def test_the_sample_s_frames_name_its_video_so_no_output_overwrites_it(tmp_path):
    import shutil

    from keyframe.sample import make_sample, write_sample
    from keyframe.stylize import stylize

    write_sample(tmp_path / "s", make_sample("wave", frames=4, size=(48, 32)))
    shutil.move(tmp_path / "s", tmp_path / "moved")  # named relative to the frames: it moves with them
    assert open_frames(tmp_path / "moved" / "frames").origin.resolve() == (tmp_path / "moved" / "video.mp4").resolve()
    before = (tmp_path / "moved" / "video.mp4").read_bytes()
    with pytest.raises(KeyframeError, match="video.mp4: is also an input; the output would overwrite it"):
        stylize(tmp_path / "moved" / "frames", tmp_path / "keys", tmp_path / "out", video=tmp_path / "moved" / "video.mp4")
    assert (tmp_path / "moved" / "video.mp4").read_bytes() == before



def test_an_output_folder_in_the_way_is_refused_before_the_sample_is_drawn(tmp_path, monkeypatch, capsys):
    import sys

    import keyframe.sample
    from keyframe import cli

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own")
    drawn = []
    monkeypatch.setattr(keyframe.sample, "make_sample", lambda *args, **kwargs: drawn.append(args))
    monkeypatch.setattr(sys, "argv", ["keyframe", "sample", str(out)])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    error = capsys.readouterr().err
    assert ended.value.code == 2 and "mine" in error and not drawn, error
    assert (out / "notes.txt").read_text() == "the user's own"
