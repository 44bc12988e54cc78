"""Interlaced video is read without comb teeth, and still parts keep their detail."""

import av
import numpy as np
import pytest

from keyframe.io import ExtractOptions, describe, extract_frames, open_frames, probe
from keyframe.io.interlace import comb_mask, deinterlace
from keyframe.metrics import psnr
from tests.conftest import run_cli

HEIGHT, WIDTH = 96, 128


def write_interlaced(path, frames, first_field="top"):
    """An interlaced H.264 video of ``frames``, coded losslessly, saying that ``first_field`` comes first."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        order = "tff=1" if first_field == "top" else "bff=1"
        stream.options = {"x264-params": f"interlaced=1:{order}", "qp": "0"}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def bar_at(left, size=(HEIGHT, WIDTH), width=12):
    image = np.full((*size, 3), 40, np.uint8)
    image[:, left:left + width] = 220
    return image


def moving_bar(count=6, first_field="top"):
    """Frames whose first field shows a bar at 16 k and whose second field, a field later, shows it 8 pixels on."""
    second = 1 if first_field == "top" else 0
    frames = []
    for k in range(count):
        image = bar_at(16 * k)
        image[second::2] = bar_at(16 * k + 8)[second::2]
        frames.append(image)
    return frames


def test_a_moving_edge_loses_its_comb_teeth_and_shows_the_top_field(tmp_path):
    video = write_interlaced(tmp_path / "bar.mp4", moving_bar())
    with av.open(str(video)) as container:
        raw = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(np.diff(raw[:, :, 0].astype(int), axis=0)).max() > 150  # combed as decoded
    for k, frame in enumerate(open_frames(video).iter_frames()):
        column_spread = np.ptp(frame.rgb[:, :, 1].astype(int), axis=0)
        assert column_spread.max() <= 8, k
        assert np.abs(frame.rgb[HEIGHT // 2].astype(int) - bar_at(16 * k)[HEIGHT // 2]).max() <= 8


def test_bottom_field_first_video_keeps_its_bottom_field(tmp_path):
    video = write_interlaced(tmp_path / "bff.mp4", moving_bar(first_field="bottom"), first_field="bottom")
    assert probe(video).first_field == "bottom" and describe(video)["first_field"] == "bottom"
    for k, frame in enumerate(open_frames(video).iter_frames()):
        assert np.ptp(frame.rgb[:, :, 1].astype(int), axis=0).max() <= 8, k
        # The bar where the bottom field saw it, a field before the top one: no half-field lag.
        assert np.abs(frame.rgb[HEIGHT // 2].astype(int) - bar_at(16 * k)[HEIGHT // 2]).max() <= 8, k
    manifest = extract_frames(video, tmp_path / "frames")
    assert manifest["source_first_field"] == "bottom"
    assert "bottom field first" in run_cli("frames", "info", video).stdout


def test_raw_dv_reads_at_its_frame_rate_with_its_bottom_field(tmp_path):
    """Raw DV (as dvgrab captures it) says neither its frame rate (its average rate is its time base, 60000) nor
    that it is interlaced in its stream header; DV is filmed bottom field first."""
    height, width = 576, 720

    def bar(left):
        return bar_at(left, (height, width), 48)

    path = tmp_path / "capture.dv"
    with av.open(str(path), "w", format="dv") as container:
        stream = container.add_stream("dvvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k in range(3):
            image = bar(64 * k + 16)  # the top field, filmed second
            image[1::2] = bar(64 * k)[1::2]
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    info = probe(path)
    assert (info.fps, info.interlaced, info.first_field) == (25.0, True, "bottom")
    assert "25 fps, 0.12 s, dvvideo, interlaced, bottom field first" in run_cli("frames", "info", path).stdout
    for k, frame in enumerate(open_frames(path).iter_frames()):
        assert np.abs(frame.rgb[height // 2].astype(int) - bar(64 * k)[height // 2]).max() <= 8, k


def test_either_field_can_be_kept_at_the_frame_edges():
    frame = np.full((7, 4, 3), 50, np.uint8)  # an odd number of lines: the last one is of the top field
    frame[0::2, :2] = 250
    assert (deinterlace(frame, first_field="bottom")[:, 0, 0] == 50).all()
    assert (deinterlace(frame, first_field="top")[:, 0, 0] == 250).all()
    assert comb_mask(frame[:, :, 0], first_field="bottom")[0::2, 0].all()


def test_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="first_field"):
        deinterlace(np.zeros((6, 4, 3), np.uint8), first_field="left")


def test_still_detail_is_kept(tmp_path):
    rng = np.random.default_rng(0)
    grey = np.repeat(np.repeat(rng.integers(60, 200, (HEIGHT // 2, WIDTH // 4)), 2, axis=0), 4, axis=1).astype(np.uint8)
    grey[40] = 250  # thin horizontal lines, on an even row and on an odd one
    grey[61] = 10
    texture = np.dstack([grey] * 3)
    video = write_interlaced(tmp_path / "still.mp4", [texture] * 3)
    with av.open(str(video)) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    read = next(iter(open_frames(video))).rgb
    assert np.abs(read.astype(int) - decoded).max() <= 1  # nothing combs, so nothing is mended (1: rounding)
    assert psnr(read, texture) > 40
    assert read[40].min() >= 240 and read[61].max() <= 25


def test_shrinking_mends_the_fields_first(tmp_path):
    video = write_interlaced(tmp_path / "bar.mp4", moving_bar(2))
    manifest = extract_frames(video, tmp_path / "small", ExtractOptions(max_side=64))
    assert manifest["source_interlaced"] is True
    small = next(iter(open_frames(tmp_path / "small"))).rgb
    # Shrunk from the mended frame, the bar is as solid as the top field's: no half-bright ghost of the other field.
    assert np.ptp(small[:, :, 1].astype(int), axis=0).max() <= 8


def test_comb_mask_leaves_progressive_pictures_alone():
    grey = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    grey[20:30, 10:20] = 255
    assert not comb_mask(grey).any()
    rgb = np.dstack([grey] * 3)
    assert deinterlace(rgb) is rgb


def test_info_says_interlaced_and_progressive_says_nothing(tmp_path, sample_video):
    video = write_interlaced(tmp_path / "bar.mp4", moving_bar(2))
    assert probe(video).interlaced and describe(video)["interlaced"] is True
    assert not probe(sample_video).interlaced and "interlaced" not in describe(sample_video)
    result = run_cli("frames", "info", video)
    assert result.returncode == 0 and "interlaced, top field first (fields mended when read)" in result.stdout
