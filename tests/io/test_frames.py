import json

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import ArrayFrames, SteppedFrames, open_frames, read_image, read_mask, read_masks, write_image, write_mask
from tests.conftest import run_cli, shared, write_vfr_video


def test_folder_frames_come_in_natural_stem_order(tmp_path):
    for i in (10, 2, 1):
        write_image(tmp_path / f"f{i}.png", np.full((8, 9, 3), i, np.uint8))
    source = open_frames(tmp_path)
    assert source.stems == ["f1", "f2", "f10"]
    assert [int(f.rgb[0, 0, 0]) for f in source] == [1, 2, 10]
    assert source.size == (8, 9) and len(source) == 3
    assert source.index_of("f10") == 2
    assert source.seconds() is None  # no video.json: no frame rate to time them by
    (tmp_path / "video.json").write_text('{"fps": 4}')
    np.testing.assert_allclose(open_frames(tmp_path).seconds(), [0, 0.25, 0.5])


def test_video_source_matches_sequential_decode(sample_video, small_sample):
    source = open_frames(sample_video)
    assert len(source) == 24 and source.size == (120, 160) and source.fps == pytest.approx(25)
    frames = source.read_range()
    assert frames.shape == (24, 120, 160, 3)
    np.testing.assert_array_equal(source.read(7), frames[7])
    assert [f.index for f in source.iter_frames(3, 12, 4)] == [3, 7, 11]
    assert source.stems[:2] == ["000000", "000001"]
    np.testing.assert_allclose(source.seconds(), np.arange(24) / 25, atol=1e-9)


def test_image_and_mask_helpers_round_trip(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), image)
    mask = np.zeros((5, 7), np.uint8)
    mask[1:3, 2:5] = 3
    write_mask(tmp_path / "m" / "a.png", mask)
    assert read_masks(tmp_path / "m")["a"].tolist() == mask.tolist()
    white = np.zeros((5, 7, 3), np.uint8)
    white[1:3, 2:5] = 255
    write_image(tmp_path / "white.png", white)  # a colour mask, white on black, reads as one segment
    assert read_mask(tmp_path / "white.png").tolist() == (mask // 3 * 255).tolist()


def test_write_mask_refuses_values_it_would_wrap_or_truncate_and_writes_booleans_as_255(tmp_path):
    write_mask(tmp_path / "bool.png", np.eye(3) > 0)
    assert read_mask(tmp_path / "bool.png").tolist() == (np.eye(3) * 255).tolist()
    write_mask(tmp_path / "int.png", np.array([[0, 7], [255, 1]]))  # int64 labels in range are fine
    assert read_mask(tmp_path / "int.png").tolist() == [[0, 7], [255, 1]]
    write_mask(tmp_path / "float.png", np.array([[0.0, 255.0]]))  # and whole numbers in floats
    assert read_mask(tmp_path / "float.png").tolist() == [[0, 255]]
    for mask, message in [(np.array([[0, 256]]), "values from 0 to 256"), (np.array([[-1, 0]]), "values from -1 to 0"),
                          (np.full((2, 2), 0.9), "got float64 with fractions; write a probability map"),
                          (np.full((2, 2), np.nan), "got float64 with fractions"),
                          (np.zeros((2, 2, 3), np.uint8), r"2-D \(H, W\), got shape \(2, 2, 3\)")]:
        with pytest.raises(ValueError, match=message):
            write_mask(tmp_path / "bad.png", mask)
    assert not (tmp_path / "bad.png").exists()
    for lossy in ("m.jpg", "m.JPEG", "m.webp"):  # what read_mask would refuse is not written
        with pytest.raises(ValueError, match=f"{lossy}: a mask is written losslessly"):
            write_mask(tmp_path / lossy, np.eye(3) > 0)
    write_mask(tmp_path / "m.bmp", np.eye(3) > 0)
    assert read_mask(tmp_path / "m.bmp").tolist() == (np.eye(3) * 255).tolist()
    with pytest.raises(ValueError, match=r"f\.xyz: an image is written as \.png"):  # not OpenCV's "could not find encoder"
        write_image(tmp_path / "f.xyz", np.zeros((2, 2, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bool.png", "float.png", "int.png", "m.bmp"]


def test_swapped_arguments_of_the_writers_are_named_in_one_line(tmp_path):
    for write, image in ((write_mask, np.eye(300) > 0), (write_image, np.zeros((300, 300, 3), np.uint8))):
        with pytest.raises(TypeError, match=f"^{write.__name__}\\(path, image\\) takes the path first, got an array and then '.*m.png'$"):
            write(image, str(tmp_path / "m.png"))
    assert list(tmp_path.iterdir()) == []


def test_frames_in_memory_open_as_a_source_and_every_source_refuses_ranges_from_the_end(sample_video, tmp_path):
    frames = np.arange(5 * 4 * 6 * 3, dtype=np.uint8).reshape(5, 4, 6, 3)
    source = open_frames(frames)
    assert isinstance(source, ArrayFrames) and len(source) == 5 and source.fps is None
    np.testing.assert_array_equal(source.read_range(3), frames[3:])
    with pytest.raises(TypeError, match=r"got list of 5 items \(frames\? np.stack them"):
        open_frames(list(frames))
    for index, rgb in enumerate(frames):
        write_image(tmp_path / f"{index}.png", rgb)
    for each in (source, open_frames(tmp_path), open_frames(sample_video), SteppedFrames(open_frames(sample_video), 2)):
        assert [frame.index for frame in each.iter_frames(1, 4, 2)] == [1, 3]
        with pytest.raises(ValueError, match="the start frame is an index from the start, a whole number, 0 or more, got -3"):
            each.read_range(-3)  # it used to read from frame 0: a whole video where the last 3 frames were meant
        with pytest.raises(ValueError, match="the stop frame is an index from the start, a whole number, 0 or more, got -1"):
            list(each.iter_frames(0, -1))
        with pytest.raises(ValueError, match="a whole number, 0 or more, got 'a'$"):  # no word of negatives
            each.read_range("a", 3)
        with pytest.raises(ValueError, match="the step between frames must be a whole number, 1 or more, got 0"):
            list(each.iter_frames(0, None, 0))


def test_mixed_sizes_are_named(tmp_path):
    write_image(tmp_path / "0.png", np.zeros((8, 8, 3), np.uint8))
    write_image(tmp_path / "1.png", np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(KeyframeError, match=r"1\.png.*mixed sizes"):
        open_frames(tmp_path)


def test_unreadable_and_empty_inputs(tmp_path):
    with pytest.raises(KeyframeError, match="contains no image files"):
        open_frames(tmp_path)
    (tmp_path / "0.png").write_bytes(b"not a png")
    with pytest.raises(KeyframeError, match=r"0\.png: not a readable image"):
        open_frames(tmp_path)
    with pytest.raises(KeyframeError, match="no such file"):
        open_frames(tmp_path / "missing.mp4")
    for read in (read_image, read_mask):  # it exists, and is no file to read: not "no such file"
        with pytest.raises(KeyframeError, match="/dev/null: is a device or a pipe, not a file"):
            read("/dev/null")
    with pytest.raises(KeyframeError, match="is a folder, not a file"):
        read_mask(tmp_path)
    with pytest.raises(KeyframeError, match="<frames>: has no frames"):  # not an IndexError where it is used
        open_frames(np.zeros((0, 12, 16, 3), np.uint8))
    from keyframe.io import frame_seconds
    from keyframe.io.images import list_images

    # One line naming the path, not FFmpeg's or pathlib's exceptions.
    (tmp_path / "notes.txt").write_text("not a video")
    for path, message in ((tmp_path / "missing.mp4", "missing.mp4: no such file"),
                          (tmp_path, "is a folder, not a video file"),
                          (tmp_path / "notes.txt", "notes.txt: not a readable video")):
        with pytest.raises(KeyframeError, match=message):
            frame_seconds(path)
    with pytest.raises(KeyframeError, match="nope: no such folder"):
        list_images(tmp_path / "nope")
    with pytest.raises(KeyframeError, match="notes.txt: is a file, not a folder of images"):
        list_images(tmp_path / "notes.txt")


def test_real_videos_decode_completely():
    for name, count, size in (("mmaction2-demo.mp4", 280, (256, 340)), ("exercise.avi", 393, (288, 384))):
        source = open_frames(shared("videos", name))
        assert (len(source), source.size) == (count, size)
        assert sum(1 for _ in source.iter_frames()) == count


def test_late_ranges_seek_and_match_sequential_decode(tmp_path):
    from keyframe.io import VideoWriter

    rng = np.random.default_rng(5)
    with VideoWriter(tmp_path / "long.mp4", fps=30, crf=20) as writer:
        for value in range(130):
            frame = rng.integers(0, 40, (48, 64, 3), dtype=np.uint8)
            frame[:16, :16] = value  # a per-frame stamp that survives compression
            writer.write(frame)
    source = open_frames(tmp_path / "long.mp4")
    everything = source.read_range()
    for start in (50, 99, 127):
        got = list(source.iter_frames(start, start + 2))
        assert [f.index for f in got] == list(range(start, min(start + 2, 130)))
        for frame in got:
            np.testing.assert_array_equal(frame.rgb, everything[frame.index])
            assert abs(int(frame.rgb[4:12, 4:12].mean()) - frame.index) <= 2


@pytest.mark.parametrize("block", [1, 7, 64])
def test_a_video_read_backwards_block_by_block_gives_its_frames_last_first(sample_video, block):
    from keyframe.io.frames import backward_frames

    source = open_frames(sample_video)
    forwards = source.read_range(3, 20)
    backwards = list(backward_frames(source, 3, 20, block=block))
    assert [index for index, _ in backwards] == list(range(19, 2, -1))
    for (index, rgb), expected in zip(backwards, forwards[::-1]):
        np.testing.assert_array_equal(rgb, expected)
    assert [index for index, _ in backward_frames(source, 20, 20)] == []


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_s_exif_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    from PIL import Image, ImageOps

    from keyframe.io import image_size

    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:10, :10] = 255  # a mark in the top left corner as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    with Image.open(tmp_path / "photo.jpg") as photo:
        shown = np.asarray(ImageOps.exif_transpose(photo).convert("RGB"))
    assert np.array_equal(read_image(tmp_path / "photo.jpg"), shown)
    assert image_size(tmp_path / "photo.jpg") == shown.shape[:2]


def test_frames_in_memory_are_a_frame_source_every_command_takes(tmp_path):
    from keyframe.io import encode_frames, open_frames
    from keyframe.motion import ArrayFrames as ReExported
    from keyframe.sample import make_sample

    assert ReExported is ArrayFrames
    clip = make_sample("wave", frames=6, size=(64, 48))
    source = ArrayFrames(clip.frames, fps=10)
    assert open_frames(source) is source and source.index_of("000003") == 3 and len(list(source)) == 6
    assert [frame.index for frame in source.iter_frames(0, 3)] == [0, 1, 2]
    np.testing.assert_array_equal(source.read_range(1, 3), clip.frames[1:3])
    assert encode_frames(source, tmp_path / "clip.mp4") == 6 and open_frames(tmp_path / "clip.mp4").fps == 10


def test_describe_says_what_a_video_or_folder_holds(tmp_path, sample_video):
    from keyframe.io import describe

    steady = describe(sample_video)
    assert steady == {"path": str(sample_video), "kind": "video", "frames": 24, "width": 160, "height": 120,
                      "fps": pytest.approx(25), "duration": pytest.approx(0.96), "variable_rate": False, "codec": "h264"}
    phone = tmp_path / "phone.mkv"
    write_vfr_video(phone, [np.full((48, 64, 3), 4 * k, np.uint8) for k in range(40)],
                    [k * 100 if k < 20 else 2000 + (k - 20) * 20 for k in range(40)])  # 10 frames/s, then 50
    varying = describe(phone)
    assert varying["variable_rate"] and varying["fps_range"] == [10, 50] and varying["duration"] == pytest.approx(2.4)
    for k in range(3):
        write_image(tmp_path / "frames" / f"{k:06d}.png", np.zeros((4, 6, 3), np.uint8))
    assert describe(tmp_path / "frames") == {"path": str(tmp_path / "frames"), "kind": "frames", "frames": 3,
                                             "width": 6, "height": 4, "fps": None}


def test_cli_frames_info(tmp_path, sample_video):
    report = tmp_path / "info.json"
    result = run_cli("frames", "info", sample_video, tmp_path / "nope.mp4", "--json", report)
    assert result.returncode == 1, result.stderr
    assert f"{sample_video}: video, 24 frames, 160x120, 25 fps, 0.96 s, h264" in result.stdout
    assert "nope.mp4: no such file" in result.stderr and "Traceback" not in result.stderr
    assert [info["frames"] for info in json.loads(report.read_text())["inputs"]] == [24]
    assert run_cli("frames", "info", tmp_path / "nope.mp4").returncode == 2
    # With nothing described, the JSON written before is kept, not emptied.
    assert run_cli("frames", "info", tmp_path / "nope.mp4", "--json", report).returncode == 2
    assert [info["frames"] for info in json.loads(report.read_text())["inputs"]] == [24]


def test_frames_read_in_order_are_streamed_and_read_out_of_order_still_right(sample_video):
    from keyframe.io.frames import InOrder, VideoSource

    class Seeks(VideoSource):
        calls = 0

        def iter_frames(self, start=0, stop=None, step=1):
            Seeks.calls += 1
            return super().iter_frames(start, stop, step)

    source = Seeks(sample_video)
    reader, every = InOrder(source), source.read_range()
    Seeks.calls = 0
    for index in range(24):  # composite reads a video layer so: it sought and decoded from a keyframe each frame
        np.testing.assert_array_equal(reader.read(index), every[index])
    assert Seeks.calls == 1
    np.testing.assert_array_equal(reader.read(5), every[5])  # back: read again from there
    np.testing.assert_array_equal(reader.read(7), every[7])
    assert Seeks.calls == 2
    with pytest.raises(IndexError):
        reader.read(24)


def test_frames_at_reads_only_the_stretches_that_hold_them_and_bridges_a_video_s_short_gaps(sample_video, tmp_path):
    from keyframe.io.frames import FolderSource, InOrder, VideoSource, frames_at

    class Counted(VideoSource):
        decoded: list = []

        def iter_frames(self, start=0, stop=None, step=1):
            for frame in super().iter_frames(start, stop, step):
                self.decoded.append(frame.index)
                yield frame

    video = Counted(sample_video)
    every = video.read_range()
    video.decoded = []
    got = list(frames_at(video, [20, 3, 5, 5]))
    assert [f.index for f in got] == [3, 5, 20]
    for frame in got:
        np.testing.assert_array_equal(frame.rgb, every[frame.index])
    assert video.decoded == list(range(3, 21))  # gaps under a seek's cost are decoded through, nothing before or after
    video.read_through, video.decoded = 1, []
    assert [f.index for f in frames_at(video, [3, 5, 20])] == [3, 5, 20]
    assert video.decoded == [3, 4, 5, 20]

    for index in range(6):
        write_image(tmp_path / f"{index:03d}.png", np.full((4, 4, 3), index * 10, np.uint8))
    folder = FolderSource(tmp_path)
    (tmp_path / "002.png").write_bytes(b"not an image")  # read only if the gap were read through
    assert [(f.stem, int(f.rgb[0, 0, 0])) for f in frames_at(folder, [1, 3, 4])] == [("001", 10), ("003", 30), ("004", 40)]
    assert list(frames_at(folder, [])) == []
    reader = InOrder(folder)  # as composite reads a layer folder along the frames a resumed run still makes
    assert [int(reader.read(index)[0, 0, 0]) for index in (0, 1, 3, 4)] == [0, 10, 30, 40]


def test_unwritten_frames_skips_the_written_ones_and_counts_them_as_done(tmp_path):
    from keyframe.io.frames import unwritten_frames

    source = ArrayFrames(np.arange(5, dtype=np.uint8).repeat(12).reshape(5, 2, 2, 3))
    for stem in ("000000", "000001", "000003"):
        write_image(tmp_path / f"{stem}.png", np.zeros((2, 2, 3), np.uint8))
    reports = []
    made = []
    for frame in unwritten_frames(source, tmp_path, lambda done, total, note: reports.append((done, total, note)), "x"):
        made.append((frame.stem, int(frame.rgb[0, 0, 0])))
        assert reports[-1][0] == 3 + len(made) - 1  # this frame is counted once it is done, not before
    assert made == [("000002", 2), ("000004", 4)]
    assert reports == [(3, 5, "x"), (4, 5, "x"), (5, 5, "x")]
    for stem in ("000002", "000004"):
        write_image(tmp_path / f"{stem}.png", np.zeros((2, 2, 3), np.uint8))
    reports.clear()
    assert list(unwritten_frames(source, tmp_path, lambda *report: reports.append(report), "x")) == []
    assert reports == [(5, 5, "x")]
