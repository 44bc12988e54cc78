"""`keyframe segment preview`: the frames with their masks drawn over them, as a video."""

import cv2
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames, write_mask
from keyframe.segment import overlay, preview
from keyframe.segment.preview import segment_colour
from tests.conftest import run_cli, sound_in, write_video_with_sound


def test_overlay_tints_and_outlines_each_segment_in_its_colour():
    frame = np.full((9, 9, 3), 100, np.uint8)
    labels = np.zeros((9, 9), np.uint8)
    labels[1:4, 1:4], labels[5:8, 5:8] = 1, 2
    out = overlay(frame, labels)
    assert out[0, 0].tolist() == [100, 100, 100]  # background as it is
    assert out[1, 1].tolist() == segment_colour(1).tolist() and out[5, 5].tolist() == segment_colour(2).tolist()
    assert out[2, 2].tolist() == np.rint(0.55 * 100 + 0.45 * segment_colour(1)).tolist()
    assert segment_colour(255).tolist() == segment_colour(1).tolist()  # a binary mask's foreground
    with pytest.raises(ValueError, match="do not match the frame"):
        overlay(frame, labels[:5])
    outlined = overlay(frame, labels, alpha=0)  # outlines alone: the edge is judged on the frame itself
    assert outlined[2, 2].tolist() == [100, 100, 100] and outlined[1, 1].tolist() == segment_colour(1).tolist()
    for wrong in (-0.1, 1.5, float("nan")):
        with pytest.raises(KeyframeError, match="overlay's alpha must be"):
            overlay(frame, labels, alpha=wrong)


def test_overlay_refuses_a_frame_that_is_not_uint8_rgb():
    labels = np.zeros((6, 6), np.uint8)
    labels[2:4, 2:4] = 1
    frame = np.full((6, 6, 3), 200, np.uint8)
    for wrong in (frame / 255.0, frame[..., 0], np.dstack([frame, frame[..., :1]])):  # it whitened a float frame
        with pytest.raises(ValueError, match="overlay's frame must be a uint8 RGB image"):
            overlay(wrong, labels)


def test_every_segment_of_a_label_map_has_a_colour_of_its_own():
    colours = np.array([segment_colour(label) for label in range(1, 255)])
    gaps = np.abs(colours[:, None] - colours[None]).max(axis=-1) + 1000 * np.eye(len(colours))
    assert gaps.min() >= 1 and np.abs(segment_colour(9) - segment_colour(1)).max() > 60  # 9 was drawn as 1


def test_preview_draws_the_masks_given_and_keeps_the_sound(tmp_path, small_sample):
    clip = tmp_path / "clip.mp4"
    write_video_with_sound(clip, small_sample.frames)
    for index in (0, 10):  # hand-made masks of two frames: the others are shown as they are
        write_mask(tmp_path / "masks" / f"{index:06d}.png", small_sample.masks[index])
    assert preview(clip, tmp_path / "masks", tmp_path / "preview.mp4") == 24
    shown, original = open_frames(tmp_path / "preview.mp4"), open_frames(clip)
    assert len(shown) == 24
    inside = small_sample.masks[0] > 0
    red = lambda image: image[..., 0].astype(float) - image[..., 2].astype(float)  # noqa: E731
    assert red(shown.read(0))[inside].mean() > red(original.read(0))[inside].mean() + 30  # tinted red
    assert np.abs(shown.read(5).astype(float) - original.read(5)).mean() < 3  # no mask: the frame itself
    seconds, pitch, _ = sound_in(tmp_path / "preview.mp4")
    assert seconds == pytest.approx(24 / 25, abs=0.05) and pitch == pytest.approx(440, abs=10)


def test_a_preview_over_the_video_the_frames_came_from_is_refused(tmp_path, small_sample):
    from keyframe.io import extract_frames, write_video

    clip = tmp_path / "clip.mp4"  # silent: the check for the sound's source does not catch it
    write_video(iter(small_sample.frames), clip, fps=25)
    write_mask(tmp_path / "masks" / "000000.png", small_sample.masks[0])
    extract_frames(clip, tmp_path / "frames")
    before = clip.read_bytes()
    with pytest.raises(KeyframeError, match="clip.mp4: is also an input"):
        preview(tmp_path / "frames", tmp_path / "masks", clip)
    assert clip.read_bytes() == before


def test_cli_segment_preview(tmp_path, small_sample, sample_video):
    for index in (0, 23):
        write_mask(tmp_path / "masks" / f"{index:06d}.png", small_sample.masks[index])
    done = run_cli("segment", "preview", sample_video, "--masks", tmp_path / "masks", "-o", tmp_path / "p.mp4")
    assert done.returncode == 0, done.stderr
    assert "24 frames with their masks" in done.stdout and len(open_frames(tmp_path / "p.mp4")) == 24
    write_mask(tmp_path / "other" / "frame_a.png", small_sample.masks[0])
    wrong = run_cli("segment", "preview", sample_video, "--masks", tmp_path / "other", "-o", tmp_path / "q.mp4")
    assert wrong.returncode == 2 and "has no mask named as a frame" in wrong.stderr and "Traceback" not in wrong.stderr
    assert not (tmp_path / "q.mp4").exists()
    named = run_cli("segment", "preview", sample_video, "--masks", tmp_path / "masks", "-o", tmp_path / "p.avi")
    assert named.returncode == 2 and "p.avi" in named.stderr
    outlines = run_cli("segment", "preview", sample_video, "--masks", tmp_path / "masks", "-o", tmp_path / "o.mp4", "--tint", "0")
    assert outlines.returncode == 0, outlines.stderr
    inside = cv2.erode((small_sample.masks[0] > 0).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # off the outline
    assert inside.sum() > 50
    shown, original = open_frames(tmp_path / "o.mp4").read(0), open_frames(sample_video).read(0)
    assert np.abs(shown.astype(float) - original)[inside].mean() < 10 < np.abs(  # 4 (compression) against 64
        open_frames(tmp_path / "p.mp4").read(0).astype(float) - original)[inside].mean()
    for tint in ("2", "-1", "nan"):  # one range, said the same way on either side
        bad = run_cli("segment", "preview", sample_video, "--masks", tmp_path / "masks", "-o", tmp_path / "r.mp4", "--tint", tint)
        assert bad.returncode == 2 and "--tint must be from 0 (outlines only) to 1 (segments painted over)" in bad.stderr
    assert not (tmp_path / "r.mp4").exists()


@pytest.mark.parametrize("case, fragment", [("stem", "has no frame of that name"), ("size", "is 80x60 but its frame is 160x120")])
def test_preview_refuses_a_stray_or_misfit_mask_before_any_work(tmp_path, small_sample, sample_video, case, fragment):
    # A mask named as no frame was left out without a word; a wrong size stopped the run only at its frame.
    for index in (0, 10):
        write_mask(tmp_path / "masks" / f"{index:06d}.png", small_sample.masks[index])
    if case == "stem":
        write_mask(tmp_path / "masks" / "000099.png", small_sample.masks[5])
    else:
        write_mask(tmp_path / "masks" / "000020.png", small_sample.masks[20][::2, ::2])
    calls = []
    with pytest.raises(KeyframeError, match=fragment) as raised:
        preview(sample_video, tmp_path / "masks", tmp_path / "p.mp4", progress=lambda *args: calls.append(args))
    assert ("000099" if case == "stem" else "000020") in str(raised.value)
    assert not calls and not (tmp_path / "p.mp4").exists()
