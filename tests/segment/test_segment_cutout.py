"""`keyframe segment cutout`: the segmented subject on a transparent background (RGBA PNGs or ProRes 4444)."""

import json
import shutil
import sys

import av
import cv2
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import read_image, write_image
from keyframe.segment import cutout, write_cutouts
from tests.conftest import run_cli


def rgba(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)


def test_cutout_keeps_the_chosen_segments_opaque_and_softens_the_edge_when_asked():
    frame = np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    labels = np.zeros((20, 20), np.uint8)
    labels[2:10, 2:10], labels[12:18, 12:18] = 1, 2
    cut = cutout(frame, labels)
    assert np.array_equal(cut[..., :3], frame) and np.array_equal(cut[..., 3], np.where(labels > 0, 255, 0))
    only_two = cutout(frame, labels, segments=[2])[..., 3]
    assert only_two[5, 5] == 0 and only_two[15, 15] == 255
    soft = cutout(frame, labels, feather=3)[..., 3]
    assert soft[5, 5] >= 245 and soft[0, 19] == 0 and 60 < soft[2, 5] < 200  # the edge is between
    with pytest.raises(ValueError, match="do not match the frame"):
        cutout(frame, labels[:5])


def test_cutout_checks_its_frame_and_reads_segments_as_write_cutouts_does():
    frame = np.full((6, 6, 3), 9, np.uint8)
    labels = np.zeros((6, 6), np.uint8)
    labels[1:3, 1:3], labels[4:, 4:] = 3, 255
    every = cutout(frame, labels)[..., 3]
    assert np.array_equal(cutout(frame, labels, segments=[])[..., 3], every)  # no segment chosen: all, as in the CLI
    assert np.array_equal(cutout(frame, labels, segments=255)[..., 3], np.where(labels == 255, 255, 0))
    with pytest.raises(ValueError, match="cutout's frame must be a uint8 RGB image"):
        cutout(frame / 255.0, labels)  # it gave RGB in 0-1 beside alpha in 0-255
    with pytest.raises(ValueError, match="cutout's frame must be a uint8 RGB image"):
        cutout(frame[..., 0], labels)
    with pytest.raises(KeyframeError, match="must be a segment's mask value, 1 to 255"):
        cutout(frame, labels, segments=[0])  # the background made opaque
    with pytest.raises(KeyframeError, match="segments are mask values 1 to 255, e.g. \\[255\\], got '255'"):
        cutout(frame, labels, segments="255")  # read as the characters '2' and '5'


def test_a_folder_of_rgba_pngs_with_the_frames_timing(tmp_path, sample_dirs, small_sample):
    frames, truth = sample_dirs
    (frames / "video.json").write_text(json.dumps({"fps": 12.5}))
    try:
        assert write_cutouts(frames, truth, tmp_path / "cut") == 24
    finally:
        (frames / "video.json").unlink()
    for index in (0, 17):
        image = rgba(tmp_path / "cut" / f"{small_sample.stems[index]}.png")
        assert np.array_equal(image[..., 3], np.where(small_sample.masks[index] > 0, 255, 0))
        assert np.array_equal(image[..., :3], small_sample.frames[index])
    assert json.loads((tmp_path / "cut" / "video.json").read_text())["fps"] == 12.5
    assert read_image(tmp_path / "cut" / "000000.png").shape == (120, 160, 3)  # keyframe reads them as frames


def test_an_interrupted_folder_of_cutouts_keeps_the_frames_it_cut(tmp_path, sample_dirs, monkeypatch):
    module = sys.modules["keyframe.segment.cutout"]  # the package's `cutout` function shadows the module's name

    frames, truth = sample_dirs
    write_cutouts(frames, truth, tmp_path / "straight")

    def interrupt(done, total, note):
        if note == "cutting out" and done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_cutouts(frames, truth, tmp_path / "cut", progress=interrupt)
    written = []
    monkeypatch.setattr(module, "write_image", lambda path, image: written.append(path) or write_image(path, image))
    assert write_cutouts(frames, truth, tmp_path / "cut") == 24
    assert len(written) == 24 - 5  # it cut every frame again
    for path in sorted((tmp_path / "straight").glob("*.png")):
        assert np.array_equal(rgba(path), rgba(tmp_path / "cut" / path.name))


def test_cutouts_of_other_frames_after_an_interruption_keep_nothing_of_the_first(tmp_path, sample_dirs, sample_video):
    from keyframe.io import ArrayFrames, SteppedFrames, open_frames

    frames, truth = sample_dirs

    def interrupt(done, total, note):
        if note == "cutting out" and done == 2:
            raise KeyboardInterrupt

    dark, light = (np.full((24, 120, 160, 3), level, np.uint8) for level in (10, 200))
    with pytest.raises(KeyboardInterrupt):  # frames in memory were all "<frames>" to the kept work
        write_cutouts(ArrayFrames(dark), truth, tmp_path / "cut", progress=interrupt)
    write_cutouts(ArrayFrames(light), truth, tmp_path / "cut")
    assert {int(rgba(path)[0, 0, 0]) for path in (tmp_path / "cut").glob("*.png")} == {200}
    stepped = sorted(open_frames(sample_video).stems)
    with pytest.raises(KeyboardInterrupt):  # one frame in 2, then one in 3: the same video to the kept work
        write_cutouts(SteppedFrames(open_frames(sample_video), 2), truth, tmp_path / "steps", progress=interrupt)
    assert write_cutouts(SteppedFrames(open_frames(sample_video), 3), truth, tmp_path / "steps") == 8
    assert sorted(path.stem for path in (tmp_path / "steps").glob("*.png")) == stepped[::3]


def test_a_prores_4444_movie_keeps_the_transparency(tmp_path, sample_video, sample_dirs, small_sample):
    _, truth = sample_dirs
    assert write_cutouts(sample_video, truth, tmp_path / "cut.mov", feather=1.0) == 24
    with av.open(str(tmp_path / "cut.mov")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores" and stream.average_rate == 25
        decoded = [frame.to_ndarray(format="rgba") for frame in container.decode(stream)]
    assert len(decoded) == 24
    inside = cv2.erode((small_sample.masks[5] > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    outside = cv2.dilate((small_sample.masks[5] > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert decoded[5][..., 3][inside].min() >= 254 and decoded[5][..., 3][outside].max() <= 1


def test_a_movie_keeps_every_pixel_of_the_transparency_at_a_width_that_is_not_a_multiple_of_16(tmp_path):
    # The bundled swscale's threaded conversion to ProRes's yuva444p10le wrote grey, half-transparent bars over the
    # first 8 pixels of rows 160 and 320 of about a third of such frames (two threads or more); one frame is enough
    # to show a bar in an editor, so every pixel of every frame is compared.
    from keyframe.io import write_image, write_mask

    rng = np.random.default_rng(0)
    for index in range(40):
        write_image(tmp_path / "f" / f"{index:06d}.png", rng.integers(0, 256, (480, 40, 3), dtype=np.uint8))
        labels = np.zeros((480, 40), np.uint8)
        labels[100 + 5 * index:400, 20:] = 1
        write_mask(tmp_path / "m" / f"{index:06d}.png", labels)
    assert write_cutouts(tmp_path / "f", tmp_path / "m", tmp_path / "cut.mov") == 40
    with av.open(str(tmp_path / "cut.mov")) as container:
        alphas = [frame.to_ndarray(format="rgba")[..., 3] for frame in container.decode(video=0)]
    assert len(alphas) == 40
    for index, alpha in enumerate(alphas):
        expected = np.zeros((480, 40), np.uint8)
        expected[100 + 5 * index:400, 20:] = 255
        assert np.array_equal(alpha, expected), (index, np.argwhere(alpha != expected)[:3].tolist())


def test_every_frame_needs_its_mask_and_the_output_its_transparency(tmp_path, sample_dirs):
    frames, truth = sample_dirs
    partial = tmp_path / "partial"
    shutil.copytree(truth, partial)
    (partial / "000007.png").unlink()
    with pytest.raises(KeyframeError, match="has no mask for frame '000007'"):
        write_cutouts(frames, partial, tmp_path / "cut")
    unusable = tmp_path / "unusable"
    shutil.copytree(truth, unusable)
    colours = np.zeros((120, 160, 3), np.uint8)
    colours[10:40], colours[60:90] = (0, 0, 255), (0, 255, 0)  # red and green objects that fold into one value
    cv2.imwrite(str(unusable / "000011.png"), colours)
    with pytest.raises(KeyframeError, match="000011.png: holds 2 colours"):
        write_cutouts(frames, unusable, tmp_path / "cut")
    with pytest.raises(KeyframeError, match="a .mp4 video cannot hold their transparency"):
        write_cutouts(frames, truth, tmp_path / "cut.mp4")
    with pytest.raises(KeyframeError, match="--segment: must be a segment's mask value"):
        write_cutouts(frames, truth, tmp_path / "cut", segments=[0])
    with pytest.raises(KeyframeError, match=r"--segment: 3 occurs in no mask of .*truth \(its segments: 255\); the "
                                            "cut-outs would be empty"):
        write_cutouts(frames, truth, tmp_path / "cut", segments=[255, 3])
    assert not any(tmp_path.glob("cut*"))  # not even a partial folder: every mask is read before any frame


def test_a_movie_over_the_video_the_frames_came_from_is_refused_before_any_work(tmp_path, sample_video, sample_dirs):
    from keyframe.io import extract_frames

    _, truth = sample_dirs
    movie = tmp_path / "source.mov"  # an MP4 read as a QuickTime movie: one container family
    shutil.copy(sample_video, movie)
    extract_frames(movie, tmp_path / "frames")
    before = movie.read_bytes()
    with pytest.raises(KeyframeError, match="source.mov: is also an input"):
        write_cutouts(tmp_path / "frames", truth, movie)
    assert movie.read_bytes() == before


def test_a_feather_wider_than_the_limit_is_refused_before_any_work(tmp_path, sample_dirs):
    frames, truth = sample_dirs
    with pytest.raises(KeyframeError, match=r"--feather must be a number <= 100 \(pixels\), got 101"):
        write_cutouts(frames, truth, tmp_path / "cut", feather=101)
    with pytest.raises(KeyframeError, match="--feather must be a number <= 100"):
        cutout(np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), np.uint8), feather=1e6)
    assert not any(tmp_path.glob("cut*"))
    done = run_cli("segment", "cutout", frames, "--masks", truth, "-o", tmp_path / "cut", "--feather", "1e6")
    assert done.returncode == 2 and "--feather must be a number <= 100 (pixels), got 1e+06" in done.stderr
    assert "Traceback" not in done.stderr and not any(tmp_path.glob("cut*"))


def test_cli_segment_cutout(tmp_path, sample_dirs):
    frames, truth = sample_dirs
    done = run_cli("segment", "cutout", frames, "--masks", truth, "-o", tmp_path / "cut.mov", "--feather", "1")
    assert done.returncode == 0, done.stderr
    assert "24 cut-outs" in done.stdout and (tmp_path / "cut.mov").is_file()
    wrong = run_cli("segment", "cutout", frames, "--masks", truth, "-o", tmp_path / "cut.webm")
    assert wrong.returncode == 2 and "cannot hold their transparency" in wrong.stderr and "Traceback" not in wrong.stderr


@pytest.mark.parametrize("name", ["mine.mov", "mine"])
def test_an_output_keyframe_may_not_replace_is_refused_before_the_masks_are_read(tmp_path, sample_dirs, name):
    frames, truth = sample_dirs
    out = tmp_path / name
    if out.suffix:
        out.write_text("a user's own movie")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("a user's own notes")
    steps = []
    with pytest.raises(KeyframeError, match=f"{name}: (exists and keyframe did not write it|holds files keyframe did not write)"):
        write_cutouts(frames, truth, out, progress=lambda done, total, note: steps.append(note))
    assert steps == []  # no mask was read through first
