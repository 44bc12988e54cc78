"""HDR (PQ, HLG) and BT.2020 videos are read as an SDR display would show them."""

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from keyframe.io import describe, extract_frames, open_frames, probe
from keyframe.io.hdr import HLG, PQ, REFERENCE_WHITE, roll_off, to_sdr
from tests.conftest import run_cli

# Linear BT.709 RGB to linear BT.2020 RGB (ITU-R BT.2087), the inverse of what reading undoes.
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])

# SDR colours whose largest channel is under 80 % of white in light, which HDR reading passes unchanged.
MID_TONES = np.array([[200, 60, 30], [40, 150, 90], [120, 120, 120], [30, 40, 210], [10, 10, 10]], np.uint8)


def pq_signal(nits):
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = (np.asarray(nits, np.float64) / 10000) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def hlg_signal(nits):
    """The HLG signal that a 1000 cd/m2 display shows as ``nits`` (BT.2020 RGB): inverse OOTF, then the OETF."""
    nits = np.asarray(nits, np.float64)
    shown = nits @ np.array([0.2627, 0.6780, 0.0593])
    scene_luminance = (shown / 1000) ** (1 / 1.2)
    scene = nits / (1000 * np.maximum(scene_luminance, 1e-9) ** 0.2)[..., None]
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(scene <= 1 / 12, np.sqrt(3 * scene), a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)


def sdr_nits_in_bt2020(colours):
    """Where each SDR colour (gamma 2.4, BT.709) sits in HDR light: white at the reference white, BT.2020 primaries."""
    light = (np.asarray(colours, np.float64) / 255) ** 2.4
    return REFERENCE_WHITE * light @ BT709_TO_BT2020.T


def write_hdr_video(path, signals, color_trc, size=32):
    """A lossless 10-bit video (FFV1 in Matroska) tagged BT.2020 with ``color_trc``, each frame flat in one R'G'B' signal (0-1)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p10le"
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc, context.color_range = 9, 9, color_trc, 1
        for index, signal in enumerate(signals):
            image = np.empty((size, size, 3), np.uint16)
            image[:] = np.round(np.clip(signal, 0, 1) * 65535)
            frame = av.VideoFrame.from_ndarray(image, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace="bt2020", dst_color_range=1)
            frame.colorspace, frame.color_range, frame.color_trc, frame.color_primaries = 9, 1, color_trc, 9
            frame.pts, frame.time_base = index, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def centres(path):
    return np.array([frame.rgb[16, 16] for frame in open_frames(path).iter_frames()], np.int64)


@pytest.mark.parametrize("transfer, signal", [(PQ, pq_signal), (HLG, hlg_signal)], ids=["PQ", "HLG"])
def test_mid_tones_read_as_the_sdr_colours_they_were_made_from(tmp_path, transfer, signal):
    video = write_hdr_video(tmp_path / "hdr.mkv", signal(sdr_nits_in_bt2020(MID_TONES)), transfer)
    assert np.abs(centres(video) - MID_TONES).max() <= 2


def test_without_mapping_the_same_video_reads_grey_and_flat(tmp_path):
    """What reading gave before: the PQ signal of SDR white is 58 % grey."""
    video = write_hdr_video(tmp_path / "hdr.mkv", pq_signal(sdr_nits_in_bt2020([[255, 255, 255]])), PQ)
    with av.open(str(video)) as container:
        unmapped = next(container.decode(video=0)).to_ndarray(format="rgb24")[16, 16]
    assert 140 <= unmapped.min() <= 155
    assert centres(video)[0].min() >= 240  # reference white is shown near SDR white


def test_highlights_roll_off_to_the_peak_in_order_with_their_hue(tmp_path):
    greys = np.array([203, 300, 500, 700, 1000, 4000], np.float64)
    orange = np.array([[900.0, 450.0, 90.0]]) @ np.array(
        [[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]]).T
    signals = np.concatenate([pq_signal(np.repeat(greys[:, None], 3, axis=1)), pq_signal(orange)])
    read = centres(write_hdr_video(tmp_path / "hdr.mkv", signals, PQ))
    grey_levels = read[:len(greys), 0]
    assert np.all(np.diff(grey_levels[:5]) > 0) and grey_levels[4] == 255 and grey_levels[5] == 255
    light = (read[-1] / 255) ** 2.4
    assert read[-1, 1] < 230  # the bright orange is not clipped towards yellow-white
    assert light[1] / light[0] == pytest.approx(0.5, abs=0.03) and light[2] / light[0] == pytest.approx(0.1, abs=0.03)


def test_roll_off_passes_light_below_the_knee_and_lands_the_peak_on_white():
    light = np.array([[0.3, 0.2, 0.1], [0.79, 0.5, 0.0], [5.0, 5.0, 5.0], [9.0, 1.0, 0.0]], np.float32)
    rolled = roll_off(light, peak=5.0)
    assert np.allclose(rolled[:2], light[:2])
    assert np.allclose(rolled[2], 1.0, atol=1e-3)
    assert rolled[3, 0] == pytest.approx(1.0) and rolled[3, 1] == pytest.approx(1 / 9, rel=1e-3)  # above the peak: clipped, hue kept


def test_sdr_transfer_with_bt2020_primaries_only_converts_the_gamut():
    colours = MID_TONES[None].astype(np.float64)
    signal = ((colours / 255) ** 2.4 @ BT709_TO_BT2020.T) ** (1 / 2.4)
    read = to_sdr(np.round(signal * 65535).astype(np.uint16), color_trc=14).astype(np.int64)
    assert np.abs(read - colours).max() <= 1


def test_info_and_extraction_say_the_video_is_hdr(tmp_path):
    video = write_hdr_video(tmp_path / "hdr.mkv", hlg_signal(sdr_nits_in_bt2020(MID_TONES[:2])), HLG)
    assert probe(video).hdr == "HLG" and describe(video)["hdr"] == "HLG"
    manifest = extract_frames(video, tmp_path / "frames")
    assert manifest["source_hdr"] == "HLG"
    assert json.loads((tmp_path / "frames" / "video.json").read_text())["source_hdr"] == "HLG"
    assert np.abs(centres(tmp_path / "frames") - MID_TONES[:2]).max() <= 2


def test_sdr_video_says_nothing_of_hdr(sample_video):
    assert probe(sample_video).hdr is None and "hdr" not in describe(sample_video)


def test_frames_info_names_the_transfer(tmp_path):
    video = write_hdr_video(tmp_path / "hdr.mkv", pq_signal(sdr_nits_in_bt2020(MID_TONES[:1])), PQ)
    result = run_cli("frames", "info", video)
    assert result.returncode == 0 and "HDR (PQ, read as SDR)" in result.stdout
