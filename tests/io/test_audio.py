"""The sound of a video carried into videos keyframe writes: copied or re-encoded, from where the frames begin."""

import av
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import ExtractOptions, encode_frames, extract_frames
from tests.conftest import run_cli, sound_in, write_video_with_sound

FRAMES = [np.full((48, 64, 3), 4 * k, np.uint8) for k in range(50)]  # 2 s at 25 frames/s


@pytest.mark.parametrize("name, codec", [("clip.mp4", "aac"), ("clip.mkv", "pcm_s16le")])
def test_encode_carries_the_sound_from_where_the_frames_begin(tmp_path, name, codec):
    clip = tmp_path / name  # AAC is copied as it is; PCM, which MP4 does not hold, is re-encoded as AAC
    write_video_with_sound(clip, FRAMES, codec=codec)
    extract_frames(clip, tmp_path / "all")
    encode_frames(tmp_path / "all", tmp_path / "all.mp4", audio=clip)
    seconds, pitch, made = sound_in(tmp_path / "all.mp4")
    assert seconds == pytest.approx(2.0, abs=0.05) and pitch == pytest.approx(440, abs=10) and made == "aac"
    with av.open(str(tmp_path / "all.mp4")) as written:
        assert [stream.type for stream in written.streams] == ["video", "audio"]
    late = extract_frames(clip, tmp_path / "late", ExtractOptions(start=25))  # frames from 1 s on
    assert late["start_seconds"] == pytest.approx(1.0)
    encode_frames(tmp_path / "late", tmp_path / "late.mp4", audio=clip)
    seconds, pitch, _ = sound_in(tmp_path / "late.mp4")
    assert seconds == pytest.approx(1.0, abs=0.05) and pitch == pytest.approx(880, abs=10)


def test_a_video_without_sound_is_refused_before_any_work(tmp_path, sample_video):
    extract_frames(sample_video, tmp_path / "frames")
    with pytest.raises(KeyframeError, match="has no audio stream to take the sound from"):
        encode_frames(tmp_path / "frames", tmp_path / "out.mp4", audio=sample_video)
    with pytest.raises(KeyframeError, match="--audio-start must be 0 or more seconds"):
        encode_frames(tmp_path / "frames", tmp_path / "out.mp4", audio=sample_video, audio_start=-1.0)
    assert not (tmp_path / "out.mp4").exists()


def test_sound_asked_for_past_its_end_or_over_the_video_it_comes_from_is_refused_before_any_work(tmp_path, caplog):
    clip = tmp_path / "clip.mp4"
    write_video_with_sound(clip, FRAMES)  # 2 s
    extract_frames(clip, tmp_path / "frames")
    before = clip.read_bytes()
    with pytest.raises(KeyframeError, match=r"clip.mp4: its sound ends 2.0\d s after its first frame, so there is none from 2.5 s on"):
        encode_frames(tmp_path / "frames", tmp_path / "out.mp4", audio=clip, audio_start=2.5)
    with pytest.raises(KeyframeError, match="clip.mp4: is also an input; the output would overwrite it"):
        encode_frames(tmp_path / "frames", clip, audio=clip)
    assert clip.read_bytes() == before and not (tmp_path / "out.mp4").exists()
    done = run_cli("frames", "encode", tmp_path / "frames", tmp_path / "out.mp4", "--audio", clip, "--audio-start", "3")
    assert done.returncode == 2 and "so there is none from 3 s on" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_given_for_the_sound_is_named_as_a_folder_not_as_missing(tmp_path, sample_video):
    extract_frames(sample_video, tmp_path / "frames")
    with pytest.raises(KeyframeError, match="frames: is a folder; the sound is taken from a video file"):
        encode_frames(tmp_path / "frames", tmp_path / "out.mp4", audio=tmp_path / "frames")
    assert not (tmp_path / "out.mp4").exists()


def test_frames_that_begin_after_the_sound_ends_get_a_video_without_sound_and_a_warning(tmp_path, caplog):
    from keyframe.io.frames import open_frames, sound_of

    clip = tmp_path / "clip.mp4"
    write_video_with_sound(clip, FRAMES + FRAMES)  # 4 s
    extract_frames(clip, tmp_path / "late", ExtractOptions(start=75))  # frames from 3 s on
    assert sound_of(open_frames(tmp_path / "late")) == clip
    write_video_with_sound(clip, FRAMES)  # the clip is cut to 2 s, sound and all
    assert sound_of(open_frames(tmp_path / "late")) is None
    assert "before these frames begin (3 s); the video gets no sound" in caplog.text


def test_a_sound_lost_with_its_clip_is_pointed_out_and_a_silent_clip_is_not(tmp_path, caplog, sample_video):
    from keyframe.io.frames import open_frames, sound_of

    clip = tmp_path / "clip.mp4"
    write_video_with_sound(clip, FRAMES)
    extract_frames(clip, tmp_path / "frames")
    clip.write_bytes(clip.read_bytes()[:300])  # damaged since: cut short
    assert sound_of(open_frames(tmp_path / "frames")) is None
    assert "clip.mp4: not a readable video (given for the sound); the video gets no sound" in caplog.text
    clip.unlink()  # gone
    caplog.clear()
    assert sound_of(open_frames(tmp_path / "frames")) is None
    assert "clip.mp4: the video these frames were taken from is gone; the video gets no sound" in caplog.text
    extract_frames(sample_video, tmp_path / "silent")  # a clip without sound: nothing to point out
    caplog.clear()
    assert sound_of(open_frames(tmp_path / "silent")) is None and sound_of(open_frames(sample_video)) is None
    assert "sound" not in caplog.text


def test_cli_encode_with_sound(tmp_path):
    clip = tmp_path / "clip.mp4"
    write_video_with_sound(clip, FRAMES)
    extract_frames(clip, tmp_path / "frames")
    done = run_cli("frames", "encode", tmp_path / "frames", tmp_path / "out.mp4", "--audio", clip, "--audio-start", "1")
    assert done.returncode == 0, done.stderr
    seconds, pitch, _ = sound_in(tmp_path / "out.mp4")  # the sound from 1 s on, for as long as the frames last
    assert seconds == pytest.approx(1.0, abs=0.05) and pitch == pytest.approx(880, abs=10)
    alone = run_cli("frames", "encode", tmp_path / "frames", tmp_path / "x.mp4", "--audio-start", "1")
    assert alone.returncode == 2 and "--audio-start needs --audio" in alone.stderr
    missing = run_cli("frames", "encode", tmp_path / "frames", tmp_path / "x.mp4", "--audio", tmp_path / "none.mp4")
    assert missing.returncode == 2 and "none.mp4: no such file (given for the sound)" in missing.stderr
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("layout, sample_format", [("stereo", "s16"), ("stereo", "fltp"), ("mono", "s16")])
def test_sound_before_the_start_is_cut_to_the_sample(layout, sample_format):
    from fractions import Fraction

    from keyframe.io.audio import _from_time

    channels = 2 if layout == "stereo" else 1
    ramp = np.arange(1000)  # sample k holds k (in every channel)
    samples = (np.repeat(ramp, channels)[None] if sample_format == "s16" else np.repeat(ramp[None], channels, axis=0))
    frame = av.AudioFrame.from_ndarray(samples.astype(np.int16 if sample_format == "s16" else np.float32),
                                       format=sample_format, layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = 1000, 2000, Fraction(1, 1000)  # samples of 2.0-3.0 s
    cut = _from_time(frame, 2.25)
    assert cut.samples == 750 and cut.to_ndarray().ravel()[0] == 250
    assert _from_time(frame, 1.5) is frame and _from_time(frame, 3.0) is None


def test_frames_made_from_a_folder_or_an_array_lose_no_sound_and_say_none(tmp_path, caplog):
    import shutil

    from keyframe.io import ArrayFrames
    from keyframe.io.frames import open_frames, sound_of, write_manifest
    from keyframe.io.images import write_image

    (tmp_path / "frames").mkdir()
    for index, frame in enumerate(FRAMES[:3]):
        write_image(tmp_path / "frames" / f"{index:06d}.png", frame)
    (tmp_path / "frames" / "video.json").write_text('{"fps": 25}')
    for name, source in (("from_folder", open_frames(tmp_path / "frames")), ("from_array", ArrayFrames(np.stack(FRAMES[:3]), fps=25))):
        made = tmp_path / name
        made.mkdir()
        write_image(made / "000000.png", FRAMES[0])
        write_manifest(made, source)  # as segment and stylize record what their output was made from
        assert sound_of(open_frames(made)) is None
    shutil.rmtree(tmp_path / "frames")  # a folder moved away took no sound with it either
    assert sound_of(open_frames(tmp_path / "from_folder")) is None
    assert "gone" not in caplog.text
