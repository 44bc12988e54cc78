import numpy as np

from keyframe.io import file_stamp, open_frames, write_image, write_mask
from keyframe.stylize.filters import stylization
from tests.conftest import run_cli


def frames_and_masks(root, sample, count: int) -> list[str]:
    """The sample's first ``count`` frames and masks in ``root/frames`` and ``root/masks``; their stems."""
    stems = sample.stems[:count]
    for stem, frame, mask in zip(stems, sample.frames, sample.masks):
        write_image(root / "frames" / f"{stem}.png", frame)
        write_mask(root / "masks" / f"{stem}.png", mask)
    return stems


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
    assert "training " in done.stdout and "no training" not in done.stdout

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
    (tmp_path / "keys" / "000000.png").unlink()
    for segment in ("255", "0255"):
        write_image(tmp_path / "keys" / segment / "000000.png", small_sample.frames[0])
    write_mask(tmp_path / "masks" / "000000.png", small_sample.masks[0])
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--masks", tmp_path / "masks",
                   "--out", tmp_path / "out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "255: is segment 255 again, as 0255/ is; keep one folder per segment" in done.stderr, done.stderr


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
    for args, fragment in [(composite + ["--feather", "nan"], "--feather must be a finite number >= 0, got nan"),
                           (composite + ["--feather", "-3"], "--feather must be a number >= 0, got -3"),
                           (composite + ["--feather", "1e6"], "--feather must be a number <= 100 (pixels), got 1e+06"),
                           (stylize + ["--feather", "101"], "--feather must be a number <= 100 (pixels), got 101"),
                           (stylize + ["--seed", "-1"], "--seed must be from 0 to 4294967295")]:
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert fragment in done.stderr.strip().splitlines()[-1]
    write_mask(tmp_path / "masks" / f"{stems[3]}.png", np.zeros((60, 80), np.uint8))  # the last frame's mask is too small
    done = run_cli(*composite)
    assert done.returncode == 2 and f"{stems[3]}.png: is 80x60 but the frames are 160x120" in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_paths_are_printed_as_given_and_wrong_keyframe_folders_are_named(tmp_path, small_sample):
    stems = frames_and_masks(tmp_path, small_sample, 3)
    out = tmp_path / "take[/]x"  # rich markup, were it read as such
    done = run_cli("composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer", f"255={tmp_path / 'frames'}",
                   "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"3 frames -> {out}" in done.stdout and "Traceback" not in done.stderr
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "painted[v2]", "--out", tmp_path / "o")
    assert done.returncode == 2 and f"{tmp_path / 'painted[v2]'}: no such folder of keyframes" in done.stderr
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "frames" / f"{stems[0]}.png", "--out", tmp_path / "o")
    assert done.returncode == 2 and "is a file, not a folder of keyframes" in done.stderr
    write_image(tmp_path / "keys" / f"{stems[1]}.png", small_sample.frames[1])
    write_image(tmp_path / "keys" / f"{stems[1]}.jpg", 255 - small_sample.frames[1])
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "o")
    assert done.returncode == 2 and f"several images with the stem '{stems[1]}'" in done.stderr


def test_a_jpeg_mask_is_refused_before_any_work_and_leaves_nothing(tmp_path, small_sample):
    import cv2

    stems = frames_and_masks(tmp_path, small_sample, 3)
    write_image(tmp_path / "keys" / "255" / f"{stems[0]}.png", small_sample.frames[0])
    (tmp_path / "masks" / f"{stems[2]}.png").unlink()
    cv2.imwrite(str(tmp_path / "masks" / f"{stems[2]}.jpg"), small_sample.masks[2])
    for command in (["composite", tmp_path / "frames", "--layer", f"255={tmp_path / 'frames'}"],
                    ["stylize", tmp_path / "frames", "--keys", tmp_path / "keys"]):
        done = run_cli(*command, "--masks", tmp_path / "masks", "--out", tmp_path / "out")
        assert done.returncode == 2 and f"{stems[2]}.jpg: is a JPEG; masks must be lossless" in done.stderr, done.stderr
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_a_layer_binary_masks_cannot_hold_and_a_video_inside_the_output_are_refused_before_any_work(tmp_path, small_sample):
    frames_and_masks(tmp_path, small_sample, 3)
    composite = ["composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--out", tmp_path / "out"]
    done = run_cli(*composite, "--layer", f"1={tmp_path / 'frames'}")
    assert done.returncode == 2 and "segment 1" in done.stderr and "the foreground is 255" in done.stderr
    done = run_cli(*composite, "--layer", f"255={tmp_path / 'frames'}", "--video", tmp_path / "out" / "x.mp4")
    assert done.returncode == 2 and "lies inside the output folder" in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_a_rerun_with_every_frame_already_drawn_reports_no_rate_of_nothing(tmp_path, small_sample):
    from keyframe.stylize import stylize

    frames_and_masks(tmp_path, small_sample, 3)
    write_image(tmp_path / "keys" / "000001.png", stylization(small_sample.frames[1]))

    def stop_after_the_last_frame(done, total, note):
        if note == "rendering" and done == total:
            raise KeyboardInterrupt

    try:  # the settings the command line uses, so that it resumes this run
        stylize(tmp_path / "frames", tmp_path / "keys", tmp_path / "out", iterations=3, progress=stop_after_the_last_frame)
    except KeyboardInterrupt:
        pass
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                   "--iterations", "3")
    assert done.returncode == 0, done.stderr
    assert "nan" not in done.stdout and "every frame kept from an earlier run" in done.stdout
    assert "the models kept, no training" in done.stdout  # the model had trained as far as asked: no training time
    assert len(open_frames(tmp_path / "out")) == 3
    # Finished now, and run again from the same frames and keys (as after a stop while encoding --video): nothing is
    # drawn again, the frames stay, and the video is made of them.
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").glob("*.png")}
    stamp = file_stamp(tmp_path / "out")
    again = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                    "--iterations", "3", "--video", tmp_path / "out.mp4")
    assert again.returncode == 0, again.stderr
    assert "every frame kept from an earlier run" in again.stdout and len(open_frames(tmp_path / "out.mp4")) == 3
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").glob("*.png")} == before
    assert file_stamp(tmp_path / "out") == stamp  # untouched: a composite of this layer keeps its work too
    assert not (tmp_path / "out.partial").exists()
    (tmp_path / "out" / f"{small_sample.stems[1]}.png").unlink()  # one frame gone: that one is drawn again
    one = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                  "--iterations", "3")
    assert one.returncode == 0, one.stderr
    assert "rendering 1 of them, the others kept from an earlier run" in one.stdout
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").glob("*.png")} == before
    first, last = (tmp_path / "frames" / f"{stem}.png" for stem in (small_sample.stems[0], small_sample.stems[2]))
    for old, new in ((first, tmp_path / "swap.png"), (last, first), (tmp_path / "swap.png", last)):  # same totals
        old.rename(new)
    swapped = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                      "--iterations", "3")
    assert swapped.returncode == 0, swapped.stderr
    assert "kept from an earlier run" not in swapped.stdout  # other frames: drawn again, none kept
    assert (tmp_path / "out" / first.name).read_bytes() == before[last.name]
    # More iterations train the model on: every frame is drawn again.
    more = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                   "--iterations", "4")
    assert more.returncode == 0, more.stderr
    assert "rendering" in more.stdout and "kept from an earlier run" not in more.stdout


def test_a_bad_feather_without_masks_is_the_only_line(tmp_path, small_sample):
    frames_and_masks(tmp_path, small_sample, 2)
    write_image(tmp_path / "keys" / "000001.png", stylization(small_sample.frames[1]))
    done = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                   "--feather", "-1")
    # No note on what the feather would do comes before the error that ends the run.
    assert done.returncode == 2 and done.stderr.strip().splitlines() == ["error: --feather must be a number >= 0, got -1.0"]
    assert not (tmp_path / "out").exists()


def test_a_video_another_run_is_writing_is_refused_at_the_start(tmp_path, small_sample):
    # Two runs into other folders but one --video both ran to the end, and the last one's video silently won.
    import subprocess
    import sys

    frames_and_masks(tmp_path, small_sample, 3)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom keyframe.io.atomic import exclusive\n"
                               f"with exclusive({str(tmp_path / 'shared.mp4')!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = run_cli("composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer",
                       f"255={tmp_path / 'frames'}", "--out", tmp_path / "final", "--video", tmp_path / "shared.mp4")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2 and "shared.mp4: is being written by another keyframe run now" in done.stderr, done.stderr
    assert not (tmp_path / "final").exists() and not (tmp_path / "shared.mp4").exists()


def test_grow_reaches_composite_and_stylize_from_the_command_line_and_a_bad_one_is_one_line(tmp_path, small_sample):
    from keyframe.io import grow_segments, read_image, read_mask

    stems = frames_and_masks(tmp_path, small_sample, 2)
    grey = np.full((*small_sample.frames[0].shape[:2], 3), 128, np.uint8)
    for stem in stems:
        write_image(tmp_path / "layer" / f"{stem}.png", grey)
    write_image(tmp_path / "keys" / "255" / f"{stems[1]}.png", stylization(small_sample.frames[1]))
    done = run_cli("composite", tmp_path / "frames", "--masks", tmp_path / "masks", "--layer", f"255={tmp_path / 'layer'}",
                   "--out", tmp_path / "final", "--feather", "0", "--grow", "5")
    assert done.returncode == 0, done.stderr
    mask = read_mask(tmp_path / "masks" / f"{stems[1]}.png")
    out = read_image(tmp_path / "final" / f"{stems[1]}.png")
    assert ((out == 128).all(-1) == (grow_segments(mask, 5) == 255)).mean() > 0.999  # the layer on the grown figure
    bad = run_cli("stylize", tmp_path / "frames", "--keys", tmp_path / "keys", "--out", tmp_path / "out",
                  "--masks", tmp_path / "masks", "--grow", "60")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: --grow must be a number <= 50 (pixels), got 60"]
    assert not (tmp_path / "out").exists()
