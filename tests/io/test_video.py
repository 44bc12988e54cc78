import json
import re
import shutil

import av
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import (ExtractOptions, SteppedFrames, VideoWriter, describe, encode_frames, extract_frames, open_frames,
                         probe, write_image, write_video)
from keyframe.io.atomic import partial_dir
from keyframe.io.frames import write_manifest
from keyframe.metrics import psnr
from tests.conftest import run_cli, stop_moves_after, write_vfr_video


def test_round_trip_extract_encode_extract(tmp_path, sample_video):
    first = extract_frames(sample_video, tmp_path / "a")
    encode_frames(tmp_path / "a", tmp_path / "b.mp4")
    second = extract_frames(tmp_path / "b.mp4", tmp_path / "c")
    assert first["frame_count"] == second["frame_count"] == 24
    assert (second["width"], second["height"]) == (160, 120)
    a, c = open_frames(tmp_path / "a"), open_frames(tmp_path / "c")
    scores = [psnr(x.rgb, y.rgb) for x, y in zip(a, c)]
    assert min(scores) > 35.0
    assert json.loads((tmp_path / "c" / "video.json").read_text())["fps"] == pytest.approx(25.0)


def test_extract_options_select_and_transform(tmp_path, sample_video):
    manifest = extract_frames(sample_video, tmp_path / "o", ExtractOptions(every=3, start=2, end=20, max_side=80, gamma=2.0))
    files = sorted((tmp_path / "o").glob("*.png"))
    assert [f.stem for f in files] == [f"{i:06d}" for i in range(6)]  # frames 2, 5, ..., 17
    assert manifest["fps"] == pytest.approx(25 / 3)
    source = open_frames(tmp_path / "o")
    assert source.size == (60, 80)
    original = open_frames(sample_video).read(2).astype(float).mean()
    assert source.read(0).astype(float).mean() > original + 20  # gamma 2 brightens


def test_an_end_past_the_last_frame_extracts_to_the_end_with_a_warning(tmp_path, sample_video, caplog):
    manifest = extract_frames(sample_video, tmp_path / "o", ExtractOptions(start=20, end=400))
    assert manifest["frame_count"] == 4 and "--end 400 is past its last frame (24 frames)" in caplog.text
    caplog.clear()
    extract_frames(sample_video, tmp_path / "p", ExtractOptions(start=20, end=24))
    assert "past its last frame" not in caplog.text


def test_verbose_logs_say_what_is_read_and_written(tmp_path, sample_video, caplog):
    with caplog.at_level("INFO", logger="keyframe"):
        extract_frames(sample_video, tmp_path / "o", ExtractOptions(every=3, start=2, end=20))
        encode_frames(tmp_path / "o", tmp_path / "o.mp4")
    assert "160x120 at 25 fps, 24 frames by its header; writing 6 of them (from frame 2, every 3)" in caplog.text
    assert "o.mp4: writing evenly spaced frames at 8.33333 fps, crf 18" in caplog.text


def test_a_file_keyframe_did_not_write_is_never_replaced_by_a_video(tmp_path, sample_video):
    own, theirs, notes = tmp_path / "own.mp4", tmp_path / "theirs.mp4", tmp_path / "notes.mp4"
    write_vfr_video(theirs, [np.zeros((16, 16, 3), np.uint8)] * 3, [0, 40, 80])  # a video, but not one keyframe wrote
    notes.write_text("my notes")
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    write_video(frames, own, fps=25)
    write_video(frames + 9, own, fps=25)  # keyframe's own video is replaced
    assert open_frames(own).read(0).mean() > 5
    for path in (theirs, notes):
        before = path.read_bytes()
        with pytest.raises(KeyframeError, match=f"{path.name}: exists and keyframe did not write it, so it is not replaced"):
            write_video(frames, path, fps=25)
        assert path.read_bytes() == before
    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / ".settings.json").write_text("{}")  # a .partial folder keyframe is building: all its own
    (tmp_path / "stage" / "half.mp4").write_text("cut short")
    write_video(frames, tmp_path / "stage" / "half.mp4", fps=25)
    extract_frames(sample_video, tmp_path / "frames")
    done = run_cli("frames", "encode", tmp_path / "frames", theirs)
    assert done.returncode == 2 and "theirs.mp4: exists and keyframe did not write it" in done.stderr


def test_frames_without_a_rate_are_encoded_at_25_saying_how_to_set_another(tmp_path, caplog):
    for index in range(3):
        write_image(tmp_path / "frames" / f"{index}.png", np.zeros((16, 16, 3), np.uint8))
    encode_frames(tmp_path / "frames", tmp_path / "a.mp4")
    assert 'encoding at 25 fps (a video.json there holding {"fps": N} sets another' in caplog.text
    (tmp_path / "frames" / "video.json").write_text('{"fps": 10}')  # as the warning says
    encode_frames(tmp_path / "frames", tmp_path / "b.mp4")
    assert probe(tmp_path / "a.mp4").fps == 25 and probe(tmp_path / "b.mp4").fps == 10


def _interrupted_extract(video, out, options=ExtractOptions()):
    """Run extract_frames into ``out`` and stop it after its third frame, as Ctrl-C would."""

    def stop(done, total, note=""):
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_frames(video, out, options, progress=stop)


def test_extract_resumes_from_partial_folder(tmp_path, sample_video, monkeypatch):
    import keyframe.io.video

    _interrupted_extract(sample_video, tmp_path / "r")
    stage = partial_dir(tmp_path / "r")
    from keyframe.io import write_image

    write_image(stage / "000000.png", np.zeros((120, 160, 3), np.uint8))  # an earlier run's output is kept, not redone
    kept = len(list(stage.glob("*.png")))
    starts, iter_video = [], keyframe.io.video.iter_video
    monkeypatch.setattr(keyframe.io.video, "iter_video", lambda path, start, *rest, **options: starts.append(start)
                        or iter_video(path, start, *rest, **options))
    first_missing = next(index for index in range(24) if not (stage / f"{index:06d}.png").exists())
    manifest = extract_frames(sample_video, tmp_path / "r")
    assert starts == [first_missing] and first_missing >= 3  # the frames written are not decoded again
    assert manifest["resumed_frames"] == kept >= 1  # and it says how many
    assert "resumed_frames" not in json.loads((tmp_path / "r" / "video.json").read_text())
    assert not stage.exists()
    assert open_frames(tmp_path / "r").read(0).max() == 0
    assert len(list((tmp_path / "r").glob("*.png"))) == 24


def test_extract_with_other_options_starts_afresh(tmp_path, sample_video):
    _interrupted_extract(sample_video, tmp_path / "r")
    from keyframe.io import write_image

    write_image(partial_dir(tmp_path / "r") / "000000.png", np.zeros((120, 160, 3), np.uint8))
    manifest = extract_frames(sample_video, tmp_path / "r", ExtractOptions(every=5))
    assert "resumed_frames" not in manifest
    files = sorted((tmp_path / "r").glob("*.png"))
    assert manifest["frame_count"] == len(files) == 5
    assert np.array_equal(open_frames(tmp_path / "r").read(1), open_frames(sample_video).read(5))
    assert open_frames(tmp_path / "r").read(0).max() > 0


def test_rerun_replaces_the_earlier_outputs_and_keeps_other_files(tmp_path, sample_video):
    out = tmp_path / "r"
    extract_frames(sample_video, out)
    (out / "notes.txt").write_text("mine")
    extract_frames(sample_video, out, ExtractOptions(every=10))
    assert sorted(p.name for p in out.glob("*.png")) == ["000000.png", "000001.png", "000002.png"]
    assert (out / "notes.txt").read_text() == "mine"
    assert len(open_frames(out)) == 3


def test_odd_size_is_padded_to_even(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (41, 67, 3), dtype=np.uint8) for _ in range(3)]
    write_video(frames, tmp_path / "odd.mp4", fps=10)
    info = probe(tmp_path / "odd.mp4")
    assert (info.width, info.height, info.frame_count) == (68, 42, 3)


def test_written_videos_say_how_their_colours_are_stored(tmp_path):
    """Tagged, players convert them back with the matrix used (BT.601); untagged HD video they take as BT.709."""
    image = np.empty((720, 1280, 3), np.uint8)
    image[:] = (200, 60, 30)
    write_video([image], tmp_path / "hd.mp4", fps=10)
    with av.open(str(tmp_path / "hd.mp4")) as container:
        frame = next(container.decode(video=0))
    assert (frame.colorspace, frame.color_range, frame.color_primaries, frame.color_trc) == (6, 1, 1, 1)
    assert abs(int(frame.to_ndarray()[360, 640]) - 101) <= 1  # the orange's Y' in BT.601, limited range
    assert np.abs(next(iter(open_frames(tmp_path / "hd.mp4"))).rgb[360, 640].astype(int) - (200, 60, 30)).max() <= 3


def test_writer_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "x.mp4", fps=10) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_a_frame_of_another_size(tmp_path):
    with pytest.raises(KeyframeError, match="16x16"):
        with VideoWriter(tmp_path / "x.mp4", fps=10) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            writer.write(np.zeros((18, 16, 3), np.uint8))
    assert not (tmp_path / "x.mp4").exists()


def test_a_timed_writer_needs_rising_times(tmp_path):
    with pytest.raises(KeyframeError, match="frame 1 is shown at 0.5 s, not after the frame before it"):
        with VideoWriter(tmp_path / "x.mp4", fps=10, timed=True) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8), 0.5)
            writer.write(np.zeros((16, 16, 3), np.uint8), 0.5)
    with pytest.raises(ValueError, match="a timed writer needs each frame's seconds"):
        with VideoWriter(tmp_path / "y.mp4", fps=10, timed=True) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [{"every": 0}, {"start": -1}, {"start": 5, "end": 5}])
def test_bad_extract_options(tmp_path, sample_video, bad):
    with pytest.raises(KeyframeError):  # when made
        ExtractOptions(**bad)
    changed = ExtractOptions()
    for name, value in bad.items():  # and when changed after
        object.__setattr__(changed, name, value)
    with pytest.raises(KeyframeError):
        extract_frames(sample_video, tmp_path / "x", changed)


def test_a_hand_edited_output_list_never_removes_files_outside_the_folder(tmp_path, sample_video):
    import json

    out = tmp_path / "r"
    extract_frames(sample_video, out, ExtractOptions(every=10))
    victim, absolute = tmp_path / "victim.txt", tmp_path / "absolute.txt"
    victim.write_text("keep")
    absolute.write_text("keep")
    listed = ["../victim.txt", str(absolute), "000000.png", "000001.png", "000002.png", "video.json"]
    (out / ".keyframe-outputs.json").write_text(json.dumps({"files": listed}))
    extract_frames(sample_video, out, ExtractOptions(every=12))
    assert victim.read_text() == "keep" and absolute.read_text() == "keep"
    assert len(open_frames(out)) == 2


def test_an_output_folder_that_holds_or_lies_in_an_input_is_refused(tmp_path, sample_video):
    from keyframe.errors import KeyframeError

    folder = tmp_path / "clips"
    folder.mkdir()
    video = folder / "holiday.mp4"
    video.write_bytes(sample_video.read_bytes())
    for out in (folder, tmp_path, folder / "holiday.mp4" / "x"):
        with pytest.raises(KeyframeError, match="give an output folder apart from the inputs"):
            extract_frames(video, out)
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.mp4"]


def test_folders_keyframe_did_not_make_are_never_used_or_removed(tmp_path, sample_video):
    from keyframe.errors import KeyframeError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "000003.png").write_text("my photo")
    with pytest.raises(KeyframeError, match="mine: holds files keyframe did not write"):
        extract_frames(sample_video, mine)
    stage = partial_dir(tmp_path / "out")
    stage.mkdir()
    (stage / "thesis.txt").write_text("important")
    with pytest.raises(KeyframeError, match="out.partial: was not made by this version of keyframe"):
        extract_frames(sample_video, tmp_path / "out")
    assert (mine / "000003.png").read_text() == "my photo" and (stage / "thesis.txt").read_text() == "important"


def test_a_file_in_the_way_stops_publishing_before_anything_moves_and_the_rerun_resumes(tmp_path, sample_video):
    import json

    from keyframe.errors import KeyframeError

    out = tmp_path / "r"
    extract_frames(sample_video, out, ExtractOptions(every=10))
    (out / ".keyframe-outputs.json").write_text(json.dumps({"files": ["000000.png", "000001.png", "000002.png", "a\u0000b", "x" * 300, "sub"]}))
    (out / "video.json").unlink()
    (out / "video.json").mkdir()  # a folder where the manifest goes
    with pytest.raises(KeyframeError, match="video.json: is in the way of an output"):
        extract_frames(sample_video, out, ExtractOptions(every=10))
    assert partial_dir(out).is_dir() and len(list(out.glob("*.png"))) == 3  # nothing moved yet
    (out / "video.json").rmdir()
    extract_frames(sample_video, out, ExtractOptions(every=10))
    assert len(open_frames(out)) == 3 and not partial_dir(out).exists()


def test_another_command_s_outputs_are_not_replaced_and_an_interrupted_publish_resumes(tmp_path, monkeypatch):
    from keyframe.errors import KeyframeError
    from keyframe.io import staged_dir

    out = tmp_path / "o"
    with staged_dir(out, kind="stylize") as stage:
        (stage / "models").mkdir()
        (stage / "models" / "style.pt").write_text("weights")
    with pytest.raises(KeyframeError, match="holds the outputs of `keyframe stylize`"):
        with staged_dir(out, kind="segment"):
            pass
    renamed = tmp_path / "cut"  # a folder of cut-outs listed by an earlier version, under the name it used
    renamed.mkdir()
    (renamed / ".keyframe-outputs.json").write_text('{"kind": "cutout", "files": []}')
    with staged_dir(renamed, kind="segment cutout") as stage:
        (stage / "000000.png").write_text("x")
    with pytest.raises(KeyframeError, match="holds the outputs of `keyframe segment cutout`"):
        with staged_dir(renamed, kind="composite"):
            pass
    moves = stop_moves_after(2, monkeypatch)  # the publish is stopped after the interim listing and its first move
    with pytest.raises(KeyboardInterrupt):
        with staged_dir(out, key="k", kind="stylize") as stage:
            for name in ("a.png", "b.png"):
                (stage / name).write_text("new")
    monkeypatch.undo()
    assert [p.name for p in moves] == [".keyframe-outputs.json", "a.png"]
    with staged_dir(out, key="k", kind="stylize") as stage:  # the same run again: its stage is still its own
        assert (stage / "b.png").is_file()
        (stage / "a.png").write_text("new")  # made again, as a resumed command does: a.png out there is its own
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a.png", "b.png"]

    (out / "c.png").write_text("mine")  # put there by hand, under the name of a next output
    with pytest.raises(KeyframeError, match="c.png: is in the way of an output and keyframe did not write it"):
        with staged_dir(out, key="k2", kind="stylize") as stage:
            (stage / "c.png").write_text("new")
    assert (out / "c.png").read_text() == "mine" and (out / "a.png").is_file()


def test_files_put_beside_the_outputs_are_kept_and_named(tmp_path, caplog):
    from keyframe.io import staged_dir

    out = tmp_path / "o"
    with staged_dir(out, kind="stylize") as stage:
        (stage / "a.png").write_text("new")
    for name in ("notes.txt", "z1.txt", "z2.txt", "z3.txt"):
        (out / name).write_text("mine")
    with caplog.at_level("WARNING"), staged_dir(out, key="k", kind="stylize") as stage:
        (stage / "a.png").write_text("newer")
    assert "kept notes.txt, z1.txt, z2.txt and 1 more, which keyframe did not write there" in caplog.text
    assert (out / "z3.txt").read_text() == "mine" and (out / "a.png").read_text() == "newer"


@pytest.mark.parametrize("earlier", [False, True])
def test_a_private_folder_of_the_stage_is_never_published(tmp_path, earlier):
    from keyframe.io import partial_dir, staged_dir

    out = tmp_path / "o"
    if earlier:  # published into a folder that exists: file by file, the private work kept until the end
        with staged_dir(out, kind="segment") as stage:
            (stage / "a.png").write_text("old")
    with staged_dir(out, key="k", kind="segment", private=(".work",)) as stage:
        (stage / ".work" / "1").mkdir(parents=True)
        (stage / ".work" / "1" / "done.json").write_text("{}")
        (stage / "a.png").write_text("new")
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == ["a.png"]
    assert (out / "a.png").read_text() == "new" and not (out / ".work").exists() and not partial_dir(out).exists()


def test_late_reads_of_a_variable_frame_rate_video_give_the_right_frames(tmp_path):
    path = tmp_path / "vfr.mkv"
    grey = [np.full((48, 64, 3), 4 * k, np.uint8) for k in range(60)]  # frame k is grey level 4k
    write_vfr_video(path, grey, [k * 100 if k < 20 else 2000 + (k - 20) * 20 for k in range(60)])  # 10, then 50 frames/s
    source = open_frames(path)
    assert [round(source.read(k).mean() / 4) for k in (48, 50, 59)] == [48, 50, 59]
    assert [(f.index, round(f.rgb.mean() / 4)) for f in source.iter_frames(50, 53)] == [(50, 50), (51, 51), (52, 52)]
    np.testing.assert_allclose(source.seconds()[[0, 1, 19, 20, 21, 59]], [0, 0.1, 1.9, 2.0, 2.02, 2.78])
    np.testing.assert_allclose(SteppedFrames(source, 20).seconds(), [0, 2.0, 2.4])


def _cut_without_reencoding(source, out, first: int, fps: int = 25) -> None:
    """``ffmpeg -ss first/fps -i source -c copy out``: the packets from the keyframe before ``first`` are copied,
    and an MP4 edit list hides the frames before ``first`` (stored, decoded, never shown)."""
    import av

    with av.open(str(source)) as reader, av.open(str(out), "w") as writer:
        stream = reader.streams.video[0]
        copy = writer.add_stream_from_template(stream)
        per_frame = round(1 / (stream.time_base * fps))
        packets = [packet for packet in reader.demux(stream) if packet.pts is not None]
        keyframe = max(packet.pts for packet in packets if packet.is_keyframe and packet.pts <= first * per_frame)
        for packet in (packet for packet in packets if packet.pts >= keyframe):
            packet.pts -= first * per_frame
            packet.dts -= first * per_frame
            packet.stream = copy
            writer.mux(packet)


def _grey_video(path, count: int, options: dict, size: tuple[int, int] = (64, 48), first: int = 0) -> None:
    """An H.264 video of ``size`` at 25 frames/s whose frame k is grey level 3 (``first`` + k) (up to 85), with x264
    ``options``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = options
        for k in range(first, first + count):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 3 * k, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _grey_levels(source, indices) -> list[int]:
    return [round(source.read(k).mean() / 3) for k in indices]


def test_a_variable_frame_rate_is_kept_from_video_to_frames_to_video(tmp_path, sample_video, caplog):
    path = tmp_path / "phone.mkv"
    shown = [k * 100 if k < 20 else 2000 + (k - 20) * 20 for k in range(40)]  # 10 frames/s, then 50
    write_vfr_video(path, [np.full((48, 64, 3), 4 * k, np.uint8) for k in range(40)], shown)
    expected = np.array(shown) / 1000
    manifest = extract_frames(path, tmp_path / "frames")
    np.testing.assert_allclose(manifest["frame_seconds"], expected)
    np.testing.assert_allclose(open_frames(tmp_path / "frames").seconds(), expected)
    encode_frames(tmp_path / "frames", tmp_path / "again.mp4")
    np.testing.assert_allclose(open_frames(tmp_path / "again.mp4").seconds(), expected, atol=1e-3)
    every = extract_frames(path, tmp_path / "every", ExtractOptions(every=2, start=10))
    np.testing.assert_allclose(every["frame_seconds"], (np.array(shown[10::2]) - shown[10]) / 1000)
    # Frames made from the video (a stylized or masked copy) keep its timing in their video.json.
    styled = tmp_path / "styled"
    shutil.copytree(tmp_path / "frames", styled)
    (styled / "video.json").unlink()
    write_manifest(styled, open_frames(path))
    np.testing.assert_allclose(open_frames(styled).seconds(), expected)
    # A rate asked for makes it steady; a steady video records no times.
    encode_frames(tmp_path / "frames", tmp_path / "steady.mp4", fps=10)
    np.testing.assert_allclose(open_frames(tmp_path / "steady.mp4").seconds(), np.arange(40) / 10, atol=1e-3)
    assert "frame_seconds" not in extract_frames(sample_video, tmp_path / "steady")
    # Frames added or removed since: timed at the rate, with a warning.
    (styled / "000039.png").unlink()
    np.testing.assert_allclose(open_frames(styled).seconds(), np.arange(39) / open_frames(styled).fps)
    assert "frame_seconds time 40 frames, the folder has 39" in caplog.text


@pytest.mark.parametrize("recorded", ['[0, "a"]', "[0, 0.5, 0.2]", "[0, true]", '"0.5"', "[[0, 1]]"])
def test_damaged_frame_times_are_named(tmp_path, recorded):
    for k in range(3):
        write_image(tmp_path / f"{k:06d}.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "video.json").write_text(f'{{"fps": 10, "frame_seconds": {recorded}}}')
    with pytest.raises(KeyframeError, match="video.json: is damaged: frame_seconds must be increasing numbers"):
        open_frames(tmp_path)


def test_a_video_cut_without_reencoding_shows_only_its_frames(tmp_path):
    source, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    _grey_video(source, 80, {"g": "10", "bf": "0", "crf": "0"})
    _cut_without_reencoding(source, cut, first=13)  # from the keyframe at 10; 10-12 are hidden
    assert probe(cut).frame_count == 67
    frames = open_frames(cut)
    assert len(frames) == 67 and len(frames.read_range(0, 67)) == 67  # not "truncated"
    assert _grey_levels(frames, (0, 1, 60, 66)) == [13, 14, 73, 79]  # 60: read after a seek
    manifest = extract_frames(cut, tmp_path / "frames")
    assert manifest["frame_count"] == 67 and len(list((tmp_path / "frames").glob("*.png"))) == 67


@pytest.mark.parametrize("keyframe_every", ["12", "250"])
def test_late_reads_of_an_mpeg_ts_give_the_right_frames(tmp_path, keyframe_every):
    path = tmp_path / "camera.ts"  # no index: a seek may land on a later keyframe than the one asked for
    _grey_video(path, 80, {"g": keyframe_every})
    frames = open_frames(path)
    assert len(frames) == 80
    assert _grey_levels(frames, (48, 50, 60, 79)) == [48, 50, 60, 79]
    assert [(f.index, round(f.rgb.mean() / 3)) for f in frames.iter_frames(50, 53)] == [(50, 50), (51, 51), (52, 52)]


def test_frames_after_a_change_of_resolution_get_the_video_s_size(tmp_path, caplog):
    first, second, joined = tmp_path / "a.ts", tmp_path / "b.ts", tmp_path / "joined.ts"
    _grey_video(first, 30, {}, size=(64, 48))
    _grey_video(second, 30, {}, size=(80, 60), first=30)
    joined.write_bytes(first.read_bytes() + second.read_bytes())  # as a camera or a stream recorder would switch
    frames = open_frames(joined)
    assert frames.size == (48, 64) and frames.read_range(0, 60).shape == (60, 48, 64, 3)
    assert abs(frames.read(45).mean() - 3 * 45) < 3
    assert "joined.ts: frame 30 is 80x60, not 64x48 as the video's header says" in caplog.text
    frames.read_range(50, 60)  # another pass over the change says nothing more of it
    assert caplog.text.count("as the video's header says") == 1
    extract_frames(joined, tmp_path / "frames")
    assert {open_frames(tmp_path / "frames").read(k).shape for k in (0, 59)} == {(48, 64, 3)}


def test_damaged_data_is_passed_over_as_players_do(tmp_path, caplog):
    whole, damaged = tmp_path / "whole.mp4", tmp_path / "damaged.mp4"
    _grey_video(whole, 60, {"g": "10", "bf": "0"})
    with av.open(str(whole)) as container:
        packets = [(packet.pos, packet.size) for packet in container.demux(container.streams.video[0]) if packet.size]
    data = bytearray(whole.read_bytes())
    position, size = packets[21]
    data[position:position + size] = bytes(size)  # frame 21's data zeroed, as a bad sector or a broken upload would
    damaged.write_bytes(bytes(data))
    frames = open_frames(damaged)
    assert len(frames.read_range(0, 60)) == 60  # not "decoding failed after 21 frames"
    assert re.search(r"damaged\.mp4: damaged data near 0\.[89] s could not be decoded", caplog.text)  # frame 21 at 0.84 s
    frames.read_range(0, 60)  # another pass, as detection makes one to crop and one to score
    assert caplog.text.count("damaged data") == 1  # said once per video, not once per pass
    assert _grey_levels(frames, (20, 21, 30, 59)) == [20, 20, 30, 59]  # frame 20 stands in; 30 is a keyframe
    assert _grey_levels(frames, (50,)) == [50]  # read after a seek past the damage
    manifest = extract_frames(damaged, tmp_path / "frames")
    assert manifest["frame_count"] == 60


def test_a_phone_video_s_rotation_is_applied(tmp_path):
    import av

    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(-90)  # shown a quarter turn clockwise, as a phone held upright records it
        for _ in range(3):
            image = np.zeros((48, 64, 3), np.uint8)
            image[:8, :8] = 255  # top left as stored: top right as shown
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    source = open_frames(path)
    shown = source.read(0)
    assert source.size == (64, 48) and shown.shape == (64, 48, 3)
    assert shown[:8, -8:].mean() > 200 and shown[:8, :8].mean() < 50
    manifest = extract_frames(path, tmp_path / "frames")
    assert (manifest["width"], manifest["height"]) == (48, 64) and open_frames(tmp_path / "frames").size == (64, 48)


@pytest.mark.parametrize("colorspace, color_range, luma", [(1, 1, 91), (1, 2, 88), (5, 2, 98), (6, 1, 101)],
                         ids=["BT.709 limited", "BT.709 full", "BT.601 full", "BT.601 limited"])
def test_sdr_colours_are_read_with_the_matrix_and_range_they_are_tagged_with(tmp_path, colorspace, color_range, luma):
    """The orange (200, 60, 30) stored with each tag; ``luma`` is its Y' in that matrix and range."""
    path = tmp_path / "tagged.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.colorspace, stream.codec_context.color_range = colorspace, color_range
        stream.options = {"qp": "0"}
        image = np.empty((32, 32, 3), np.uint8)
        image[:] = (200, 60, 30)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=colorspace, dst_color_range=color_range)
        frame.colorspace, frame.color_range = colorspace, color_range
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with av.open(str(path)) as container:
        assert abs(int(next(container.decode(video=0)).to_ndarray()[16, 16]) - luma) <= 1  # stored as tagged
    read = next(iter(open_frames(path))).rgb[16, 16].astype(int)
    assert np.abs(read - (200, 60, 30)).max() <= 3


@pytest.mark.parametrize("aspect, stored, shown_width", [((4, 3), (144, 108), 192), ((8, 9), (180, 120), 160)],
                         ids=["HDV 4:3", "DV 8:9"])
def test_non_square_pixels_are_kept_and_so_is_their_shape_in_videos_made_from_them(tmp_path, aspect, stored,
                                                                                   shown_width):
    """Frames keep the stored pixels (as ffmpeg and OpenCV give them, so masks made there fit), and videos made of
    them are shown as wide as the original."""
    from fractions import Fraction

    width, height = stored
    path = tmp_path / "anamorphic.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(*aspect)
        frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 90, np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    text = f"{aspect[0]}:{aspect[1]}"
    info = probe(path)
    assert (info.width, info.height, info.pixel_aspect) == (width, height, text)
    assert next(iter(open_frames(path))).rgb.shape == (height, width, 3)
    assert extract_frames(path, tmp_path / "frames")["pixel_aspect"] == text
    assert open_frames(tmp_path / "frames").pixel_aspect == Fraction(*aspect)
    described = describe(tmp_path / "frames")
    assert (described["pixel_aspect"], described["shown_width"]) == (text, shown_width)
    styled = tmp_path / "styled"  # frames made from the video (a stylized copy) record its pixels too
    shutil.copytree(tmp_path / "frames", styled)
    (styled / "video.json").unlink()
    write_manifest(styled, open_frames(path))
    for made_from in (tmp_path / "frames", path, styled):
        encode_frames(made_from, tmp_path / "again.mp4")
        assert probe(tmp_path / "again.mp4").pixel_aspect == text
        with av.open(str(tmp_path / "again.mp4")) as container:
            assert container.streams.video[0].display_aspect_ratio == Fraction(shown_width, height)


def test_a_damaged_pixel_aspect_is_refused(tmp_path, sample_video):
    extract_frames(sample_video, tmp_path / "frames", ExtractOptions(end=2))
    manifest = json.loads((tmp_path / "frames" / "video.json").read_text())
    (tmp_path / "frames" / "video.json").write_text(json.dumps({**manifest, "pixel_aspect": "4/3"}))
    with pytest.raises(KeyframeError, match='video.json: is damaged: pixel_aspect must read like "4:3"'):
        open_frames(tmp_path / "frames")


def test_square_pixels_say_nothing_of_their_shape(sample_video):
    assert probe(sample_video).pixel_aspect is None


def test_frames_larger_than_h264_allows_are_written_with_a_warning(tmp_path, caplog):
    # Level 6.2 ends at 8192x4320 pixels: libx264 writes larger frames, which hardware decoders may refuse.
    with VideoWriter(tmp_path / "huge.mp4", 25, preset="ultrafast") as writer:
        writer.write(np.zeros((4352, 8194, 3), np.uint8))
    assert "8194x4352 frames are larger than H.264 allows at its highest level" in caplog.text
    caplog.clear()
    with VideoWriter(tmp_path / "limit.mp4", 25, preset="ultrafast") as writer:
        writer.write(np.zeros((4352, 8192, 3), np.uint8))  # 139264 macroblocks exactly: within the level
    assert "larger than H.264" not in caplog.text
