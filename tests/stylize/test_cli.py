import numpy as np

from keyframe.io import open_frames, write_image, write_mask
from keyframe.stylize.filters import stylization
from tests.conftest import run_cli


def test_stylize_and_composite_from_the_command_line(tmp_path, small_sample):
    stems = small_sample.stems[:4]
    for stem, frame, mask in zip(stems, small_sample.frames, small_sample.masks):
        write_image(tmp_path / "frames" / f"{stem}.png", frame)
        write_mask(tmp_path / "masks" / f"{stem}.png", mask)
    write_image(tmp_path / "keys" / f"{stems[1]}.png", stylization(small_sample.frames[1]))
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "bg", "--iterations", "3",
                   "--video", tmp_path / "bg.mp4")
    assert done.returncode == 0, done.stderr
    assert "4 frames" in done.stdout and len(open_frames(tmp_path / "bg")) == 4 and (tmp_path / "bg.mp4").is_file()

    for stem in stems:
        write_image(tmp_path / "fig" / f"{stem}.png", np.full((120, 160, 3), 255, np.uint8))
    done = run_cli("composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer", f"255={tmp_path / 'fig'}",
                   "--layer", f"0={tmp_path / 'bg'}", "--out", tmp_path / "final", "--video", tmp_path / "final.mp4")
    assert done.returncode == 0, done.stderr
    assert len(open_frames(tmp_path / "final")) == 4 and (tmp_path / "final.mp4").is_file()


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, small_sample):
    write_image(tmp_path / "frames" / "000000.png", small_sample.frames[0])
    write_image(tmp_path / "keys" / "000000.png", small_sample.frames[0][:50])
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "000000.png" in done.stderr and "is 160x50 but frame" in done.stderr
    done = run_cli("composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer", "fg", "--out", tmp_path / "o")
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--layer: expected SEGMENT_ID=DIR" in done.stderr


def test_bad_values_and_a_late_wrong_mask_stop_before_any_work(tmp_path, small_sample):
    stems = small_sample.stems[:4]
    for stem, frame, mask in zip(stems, small_sample.frames, small_sample.masks):
        write_image(tmp_path / "frames" / f"{stem}.png", frame)
        write_mask(tmp_path / "masks" / f"{stem}.png", mask)
        write_image(tmp_path / "fig" / f"{stem}.png", frame)
    write_image(tmp_path / "keys" / f"{stems[1]}.png", stylization(small_sample.frames[1]))
    composite = ["composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer", f"255={tmp_path / 'fig'}",
                 "--out", tmp_path / "out"]
    stylize = ["stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out", "--iterations", "2"]
    for args, fragment in [(composite + ["--feather", "nan"], "--feather must be a number >= 0, got nan"),
                           (composite + ["--feather", "-3"], "--feather must be a number >= 0, got -3"),
                           (stylize + ["--seed", "-1"], "--seed must be 0 or more")]:
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert fragment in done.stderr.strip().splitlines()[-1]
    write_mask(tmp_path / "masks" / f"{stems[3]}.png", np.zeros((60, 80), np.uint8))  # the last frame's mask is too small
    done = run_cli(*composite)
    assert done.returncode == 2 and f"{stems[3]}.png: is 80x60 but the frames are 160x120" in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
