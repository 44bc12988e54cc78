"""Every bad input: one line naming the file and the problem, exit code 2, no complete-looking output."""

from pathlib import Path

import numpy as np
import pytest

from keyframe.io import write_image
from tests.conftest import run_cli


def assert_usage_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in message, message


def test_missing_path(tmp_path):
    result = run_cli("frames", "extract", tmp_path / "nope.mp4", tmp_path / "out")
    assert_usage_error(result, "nope.mp4", "no such file")
    assert not (tmp_path / "out").exists()


def test_file_that_is_not_a_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("hello, I am text")
    result = run_cli("frames", "extract", fake, tmp_path / "out")
    assert_usage_error(result, "notes.mp4", "not a readable video")
    assert not (tmp_path / "out").exists()


def test_truncated_video(tmp_path, sample_video):
    data = sample_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = run_cli("frames", "extract", cut, tmp_path / "out")
    assert_usage_error(result, "cut.mp4", "truncated")
    assert not (tmp_path / "out").exists()


def test_a_video_that_ends_before_its_first_frame_says_it_has_no_frames(tmp_path):
    import av

    with av.open(str(tmp_path / "five.mkv"), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    data = (tmp_path / "five.mkv").read_bytes()
    (tmp_path / "header.mkv").write_bytes(data[: data.find(bytes.fromhex("1F43B675"))])  # cut at the first cluster
    assert_usage_error(run_cli("frames", "info", tmp_path / "header.mkv"), "header.mkv: has no frames: it ends before its first frame")


def test_a_truncated_video_is_refused_before_any_frame_is_decoded(tmp_path, sample_video):
    # `info` must not announce the header's frame count for a file that holds fewer, and `extract` must not
    # decode (and keep in OUT.partial) the frames before the cut: the index shows the cut up front.
    data = sample_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert_usage_error(run_cli("frames", "info", cut), "cut.mp4", "truncated", f"holds {len(data) * 2 // 3} bytes")
    assert_usage_error(run_cli("frames", "extract", cut, tmp_path / "out"), "cut.mp4", "truncated")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_an_avi_cut_short_is_refused_before_any_frame_is_decoded(tmp_path):
    # An AVI's index (idx1) is written last: cut short, the file keeps the header's count and loses the index.
    import av

    whole = tmp_path / "whole.avi"
    with av.open(str(whole), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        noise = np.random.default_rng(0)
        for _ in range(40):
            frame = av.VideoFrame.from_ndarray(noise.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    assert run_cli("frames", "info", whole).stdout.count("40 frames") == 1
    assert_usage_error(run_cli("frames", "info", cut), "cut.avi", "truncated: its header counts 40 frames, but it holds")
    assert_usage_error(run_cli("frames", "extract", cut, tmp_path / "out"), "cut.avi", "truncated")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("frames", "encode", tmp_path / "empty", tmp_path / "x.mp4")
    assert_usage_error(result, "empty", "contains no image files")
    assert not (tmp_path / "x.mp4").exists()


def test_frames_of_mixed_sizes(tmp_path):
    folder = tmp_path / "frames"
    write_image(folder / "000000.png", np.zeros((16, 16, 3), np.uint8))
    write_image(folder / "000001.png", np.zeros((16, 18, 3), np.uint8))
    result = run_cli("frames", "encode", folder, tmp_path / "x.mp4")
    assert_usage_error(result, "000001.png", "mixed sizes")
    assert not (tmp_path / "x.mp4").exists()


def test_unreadable_image(tmp_path):
    folder = tmp_path / "frames"
    write_image(folder / "000000.png", np.zeros((16, 16, 3), np.uint8))
    (folder / "000001.png").write_bytes(b"\x89PNG broken")
    result = run_cli("frames", "encode", folder, tmp_path / "x.mp4")
    assert_usage_error(result, "000001.png", "not a readable image")
    assert not (tmp_path / "x.mp4").exists()


def test_a_float_image_given_as_a_keyframe_says_how_to_save_it(tmp_path):
    import cv2

    frames, keys = tmp_path / "frames", tmp_path / "keys"
    write_image(frames / "000000.png", np.zeros((16, 16, 3), np.uint8))
    keys.mkdir()
    cv2.imwrite(str(keys / "000000.tif"), np.full((16, 16, 3), 0.5, np.float32))  # as compositing apps export
    result = run_cli("stylize", frames, "--keys", keys, "--out", tmp_path / "out", "--iterations", "1")
    assert_usage_error(result, "000000.tif", "holds float32 samples; save it with 8 or 16 bits per channel")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    # Given as a frame, it gets the same words (PIL, which reads the frames' sizes, cannot open it).
    assert_usage_error(run_cli("frames", "info", keys), "000000.tif", "holds float32 samples; save it with 8 or 16 bits")


@pytest.mark.parametrize("args", [["frames", "extract"], ["sample", "x", "--movement", "moonwalk"], ["frames", "encode", ".", "x.mp4", "--crf", "99"]])
def test_usage_errors_exit_2(tmp_path, args):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["frames", "extract", "VIDEO", "o", "--gamma", "0"], "--gamma must be a number > 0, got 0"),
    (["frames", "extract", "VIDEO", "o", "--gamma", "nan"], "--gamma must be a finite number > 0, got nan"),
    (["frames", "encode", "VIDEO", "x.mp4", "--fps", "0"], "--fps must be between 0.01 and 1000, got 0"),
    (["frames", "encode", "VIDEO", "x.mp4", "--fps", "1e9"], "--fps must be between 0.01 and 1000, got 1e+09"),
    (["frames", "encode", "VIDEO", "x.avi"], "x.avi: the output must be a .mp4 video"),
    (["sample", "x", "--seed", "-1"], "--seed must be from 0 to 4294967295, got -1"),
    (["sample", "x", "--seed", "4294967296"], "--seed must be from 0 to 4294967295, got 4294967296"),
    (["sample", "x", "--size", "100000x100000"], "--size must be at most 16,000,000 pixels, got 100000x100000"),
    (["sample", "x", "--frames", "1000000000"], "--frames must be at most 13981 at 320x240 (the sample is made in memory)"),
])
def test_nonsense_values_are_usage_errors(tmp_path, sample_video, args, fragment):
    result = run_cli(*[sample_video if arg == "VIDEO" else arg for arg in args], cwd=tmp_path)
    assert_usage_error(result, fragment)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a /proc file system")
def test_a_place_the_permission_bits_allow_but_the_file_system_refuses(sample_video):
    # /proc takes no new files, even from root, for whom the permission bits allow everything.
    assert_usage_error(run_cli("frames", "encode", sample_video, "/proc/x.mp4"), "/proc/x.mp4: cannot be written in /proc")


def test_a_jpeg_mask_is_refused(tmp_path):
    from keyframe.errors import KeyframeError
    from keyframe.io import read_mask

    write_image(tmp_path / "m.jpg", np.full((8, 8, 3), 255, np.uint8))
    with pytest.raises(KeyframeError, match="m.jpg: is a JPEG; masks must be lossless"):
        read_mask(tmp_path / "m.jpg")


def test_lossy_masks_are_refused_by_their_contents_and_lossless_webp_is_read(tmp_path):
    import cv2

    from keyframe.errors import KeyframeError
    from keyframe.io import read_mask
    from keyframe.io.images import mask_size

    mask = np.zeros((16, 24), np.uint8)
    mask[4:12, 6:18] = 255
    cv2.imwrite(str(tmp_path / "lossy.webp"), mask, [cv2.IMWRITE_WEBP_QUALITY, 50])
    cv2.imwrite(str(tmp_path / "lossless.webp"), mask, [cv2.IMWRITE_WEBP_QUALITY, 101])
    cv2.imwrite(str(tmp_path / "named.jpg"), mask)
    (tmp_path / "named.png").write_bytes((tmp_path / "named.jpg").read_bytes())  # a JPEG renamed
    for name, kind in (("lossy.webp", "lossy WebP"), ("named.png", "JPEG")):
        for read in (read_mask, mask_size):
            with pytest.raises(KeyframeError, match=f"{name}: is a {kind}; masks must be lossless"):
                read(tmp_path / name)
    assert np.array_equal(read_mask(tmp_path / "lossless.webp"), mask) and mask_size(tmp_path / "lossless.webp") == (16, 24)


@pytest.mark.parametrize("colour", [0, 255, None])
def test_a_matte_with_its_shape_in_the_alpha_channel_reads_as_that_shape(tmp_path, colour):
    import cv2
    from PIL import Image

    from keyframe.io import read_mask

    shape = np.zeros((16, 24), np.uint8)
    shape[4:12, 6:18] = 255
    if colour is None:  # a cut-out's colour outside the shape is hidden: transparent pixels are background
        rgb = np.dstack([np.where(shape > 0, 255, 90).astype(np.uint8)] * 3)
    else:  # a matte exported with transparency: the same colour everywhere
        rgb = np.full((16, 24, 3), colour, np.uint8)
    cv2.imwrite(str(tmp_path / "matte.png"), np.dstack([rgb, shape]))
    assert np.array_equal(read_mask(tmp_path / "matte.png"), shape)
    grey_and_alpha = tmp_path / "grey_alpha.png"
    Image.fromarray(np.dstack([np.full_like(shape, 255), shape]), "LA").save(grey_and_alpha)
    assert np.array_equal(read_mask(grey_and_alpha), shape)


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, sample_video):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    # An output file named by an existing folder, and outputs under a file.
    assert_usage_error(run_cli("frames", "encode", sample_video, tmp_path), str(tmp_path), "is a folder; give a file name")
    assert_usage_error(run_cli("frames", "extract", sample_video, blocker / "frames"), "cannot be written", "a_file is a file")
    assert_usage_error(run_cli("movement", "learn", sample_video, "-o", blocker / "m.kfm"), "m.kfm: cannot be written")
    assert_usage_error(run_cli("sample", blocker), "a_file: exists and is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_check_writable_accepts_new_places(tmp_path):
    from keyframe.io import check_writable

    assert check_writable(tmp_path / "new" / "deeper" / "out.json") == tmp_path / "new" / "deeper" / "out.json"
    assert check_writable(tmp_path, folder=True) == tmp_path
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_an_earlier_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, monkeypatch):
    import os

    from keyframe.errors import KeyframeError
    from keyframe.io import staged_dir

    out = tmp_path / "out"
    out.mkdir()  # writable beside it, but not inside it (a read-only folder; root would pass the bits, so mocked)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != out and real_access(path, mode))
    with pytest.raises(KeyframeError, match="out: cannot be written: .*out is not writable"):
        with staged_dir(out):
            raise AssertionError("no work may start")
    assert not (tmp_path / "out.partial").exists()


@pytest.mark.parametrize("args, fragment", [
    (["segment", "run", "x", "--masks", "m", "--out", "o", "--trials", "-1"], "keyframe segment run: Invalid value for '--trials'"),
    (["frames", "encode", "a", "b.mp4", "--fps", "abc"], "keyframe frames encode: Invalid value for '--fps'"),
    (["nosuch"], "keyframe: No such command 'nosuch'"),
    (["movement", "learn", "x.mp4", "-o", "m.kfm", "--seed", "-1"], "--seed must be from 0 to 4294967295, got -1"),
    (["movement", "learn", "x.mp4", "-o", "m.kfm", "--window", "100000000"], "--window must be from 2 to 1000 frames, got 100000000"),
    (["movement", "learn", "x.mp4", "-o", "m.kfm", "--seed", str(2**64)], f"--seed must be from 0 to 4294967295, got {2**64}"),
])
def test_option_errors_are_one_line_too(tmp_path, args, fragment):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr


def test_colour_palette_masks_read_as_indices_and_folding_colours_are_refused(tmp_path):
    import cv2
    from PIL import Image

    from keyframe.errors import KeyframeError
    from keyframe.io import read_image, read_mask

    indices = np.zeros((20, 20), np.uint8)
    indices[2:6], indices[8:12], indices[14:18] = 1, 2, 3
    palette = Image.fromarray(indices, "P")
    palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * 756)  # DAVIS 2017's colours
    palette.save(tmp_path / "objects.png")
    assert np.array_equal(read_mask(tmp_path / "objects.png"), indices)
    grey = Image.fromarray((indices > 0).astype(np.uint8), "P")
    grey.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)  # a grey palette reads as its grey values
    grey.save(tmp_path / "binary.png")
    assert set(np.unique(read_mask(tmp_path / "binary.png"))) == {0, 255}
    colours = np.zeros((20, 20, 3), np.uint8)
    colours[2:6], colours[8:12] = (0, 0, 255), (0, 255, 0)  # red and green objects (OpenCV's order is BGR)
    cv2.imwrite(str(tmp_path / "rgb.png"), colours)
    with pytest.raises(KeyframeError, match=r"rgb.png: holds 2 colours but only 1 segment value \(a colour's value is its brightest channel"):
        read_mask(tmp_path / "rgb.png")
    cv2.imwrite(str(tmp_path / "frame.jpg"), colours)
    data = (tmp_path / "frame.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 6 // 10])
    assert read_image(tmp_path / "frame.jpg").shape == (20, 20, 3)
    with pytest.raises(KeyframeError, match="cut.jpg: is truncated"):
        read_image(tmp_path / "cut.jpg")


def test_palette_masks_read_the_same_in_every_frame_and_odd_jpegs_are_read(tmp_path):
    import cv2
    from PIL import Image

    from keyframe.io import read_image, read_mask

    voc = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128, 128, 128, 128, 128]
    for name, values in (("only7.png", (7,)), ("seven_and_one.png", (7, 1))):
        indices = np.zeros((20, 20), np.uint8)
        for row, value in enumerate(values):
            indices[2 + 8 * row : 6 + 8 * row] = value
        image = Image.fromarray(indices, "P")
        image.putpalette(voc + [0] * (768 - len(voc)))  # index 7 is grey (128, 128, 128) in this palette
        image.save(tmp_path / name)
    assert set(np.unique(read_mask(tmp_path / "only7.png"))) == {0, 7}
    assert set(np.unique(read_mask(tmp_path / "seven_and_one.png"))) == {0, 1, 7}
    picture = np.full((20, 20, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "photo.jpg"), picture)
    (tmp_path / "motion.jpg").write_bytes((tmp_path / "photo.jpg").read_bytes() + b"\0" * 4096)  # a phone's trailer
    cv2.imwrite(str(tmp_path / "named.png"), picture)
    (tmp_path / "named.jpg").write_bytes((tmp_path / "named.png").read_bytes())  # a PNG under a .jpg name
    for name in ("motion.jpg", "named.jpg"):
        assert abs(read_image(tmp_path / name).astype(int).mean() - 90) < 3


def test_the_command_line_refuses_an_output_folder_among_the_inputs_before_any_work(tmp_path, sample_video):
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(sample_video.read_bytes())
    assert_usage_error(run_cli("frames", "extract", folder / "clip.mp4", folder), "holds or is the input")
    assert [p.name for p in folder.iterdir()] == ["clip.mp4"]
    frames, masks = tmp_path / "frames", tmp_path / "masks"
    write_image(frames / "000000.png", np.zeros((16, 16, 3), np.uint8))
    write_image(masks / "000000.png", np.full((16, 16, 3), 255, np.uint8))
    assert_usage_error(run_cli("segment", frames, "--masks", masks, "--out", frames / "x"), "lies inside the input")
    assert sorted(p.name for p in frames.iterdir()) == ["000000.png"]


def test_a_truncated_png_is_refused_from_its_header_check_and_two_images_of_one_stem_too(tmp_path):
    from keyframe.errors import KeyframeError
    from keyframe.io import image_size, list_images, open_frames, read_image, read_mask

    folder = tmp_path / "frames"
    for index in range(3):
        write_image(folder / f"{index:06d}.png", np.full((16, 16, 3), 40 * index, np.uint8))
    data = (folder / "000002.png").read_bytes()
    (folder / "000002.png").write_bytes(data[: len(data) - 20])
    for read in (image_size, read_image, read_mask):
        with pytest.raises(KeyframeError, match="000002.png: is truncated \\(its PNG data has no end\\)"):
            read(folder / "000002.png")
    assert_usage_error(run_cli("frames", "encode", folder, tmp_path / "x.mp4"), "000002.png", "is truncated")
    with pytest.raises(KeyframeError, match="000002.png: is truncated"):
        open_frames(folder)  # when the folder is opened, before any work
    (folder / "000002.png").write_bytes(data)
    (folder / "000001.jpg").write_bytes(b"")
    for use in (list_images, open_frames):
        with pytest.raises(KeyframeError, match="several images with the stem '000001' \\(000001.jpg, 000001.png\\)"):
            use(folder)


def test_a_damaged_png_is_refused_in_one_line_before_libpng_speaks(tmp_path):
    import struct
    import zlib

    from keyframe.errors import KeyframeError
    from keyframe.io import read_image, read_mask

    folder = tmp_path / "frames"
    for index in range(3):
        write_image(folder / f"{index:06d}.png", np.random.default_rng(index).integers(0, 255, (32, 32, 3), np.uint8))
    data = bytearray((folder / "000001.png").read_bytes())
    data[60] ^= 0xFF  # a byte of the compressed pixels: the IDAT chunk's CRC no longer matches
    (folder / "000001.png").write_bytes(bytes(data))
    for read in (read_image, read_mask):
        with pytest.raises(KeyframeError, match="000001.png: is damaged \\(a CRC error in its IDAT chunk\\)"):
            read(folder / "000001.png")
    result = run_cli("frames", "encode", folder, tmp_path / "x.mp4", "--fps", "10")
    assert_usage_error(result, "000001.png", "is damaged")
    assert "libpng" not in result.stderr
    # A damaged ancillary chunk (a text note) is what libpng drops and decodes past: the image still reads.
    good = (folder / "000002.png").read_bytes()
    note = b"tEXt" + b"Comment\x00hello"
    bad_text = struct.pack(">I", len(note) - 4) + note + struct.pack(">I", zlib.crc32(note) ^ 1)
    (folder / "000002.png").write_bytes(good[:33] + bad_text + good[33:])
    assert read_image(folder / "000002.png").shape == (32, 32, 3)


def test_an_image_is_not_taken_for_a_video(tmp_path):
    write_image(tmp_path / "still.png", np.zeros((16, 16, 3), np.uint8))
    assert_usage_error(run_cli("frames", "extract", tmp_path / "still.png", tmp_path / "out"), "still.png",
                       "is an image, not a video")
    assert not (tmp_path / "out").exists()


def test_sixteen_bit_masks_of_eight_bit_values_read_and_others_say_what_to_do(tmp_path):
    import cv2

    from keyframe.errors import KeyframeError
    from keyframe.io import read_mask

    binary = np.zeros((8, 8), np.uint16)
    binary[2:6, 2:6] = 65535
    cv2.imwrite(str(tmp_path / "binary16.png"), binary)
    assert set(np.unique(read_mask(tmp_path / "binary16.png"))) == {0, 255}
    binary[0, 0] = 1000
    cv2.imwrite(str(tmp_path / "odd16.png"), binary)
    with pytest.raises(KeyframeError, match="odd16.png: mask values up to 65535 do not fit 8 bits; save masks as 8-bit"):
        read_mask(tmp_path / "odd16.png")


def test_a_damaged_frame_rate_record_is_refused_naming_it(tmp_path):
    import re

    from keyframe.errors import KeyframeError
    from keyframe.io import open_frames

    folder = tmp_path / "frames"
    write_image(folder / "000000.png", np.zeros((16, 16, 3), np.uint8))
    for record, fragment in [('{"fps": -5}', "records a frame rate of -5"), ('{"fps": 1e9}', "records a frame rate of 1e+09"),
                             ('{"fps": "abc"}', "is damaged"), ('{"fps": true}', "is damaged"), ('{"fps": 25', "is damaged"), ('{"rate": 25}', "is damaged")]:
        (folder / "video.json").write_text(record)
        with pytest.raises(KeyframeError, match=re.escape(f"video.json: {fragment}")):
            open_frames(folder)
    (folder / "video.json").write_text('{"fps": 12.5}')
    assert open_frames(folder).fps == 12.5
    assert "has no frame called '000007' (its one frame is called '000000')" in str(
        pytest.raises(KeyframeError, open_frames(folder).index_of, "000007").value)


def test_the_library_refuses_an_encoded_video_among_its_frames(tmp_path):
    from keyframe.errors import KeyframeError
    from keyframe.io import encode_frames

    folder = tmp_path / "frames"
    write_image(folder / "000000.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(KeyframeError, match="lies inside the input folder"):
        encode_frames(folder, folder / "x.mp4")
    assert [p.name for p in folder.iterdir()] == ["000000.png"]


def test_options_of_the_wrong_type_are_named(tmp_path, sample_video):
    import numpy as np

    from keyframe.io import extract_frames
    from keyframe.motion.plot import draw_scores
    from keyframe.motion.render import Renderer
    from keyframe.stylize import composite

    with pytest.raises(TypeError, match="options must be an ExtractOptions, got dict"):
        extract_frames(sample_video, tmp_path / "out", {"every": 2})
    with pytest.raises(TypeError, match="options must be a RenderOptions, got NoneType"):
        Renderer(None, None)
    with pytest.raises(TypeError, match="layers must map segment ids to folders"):
        composite(tmp_path, ["styled/"], tmp_path, tmp_path / "final")
    with pytest.raises(ValueError, match="size must be between 160x120 and 8192x8192 pixels, got 0x0"):
        draw_scores(np.zeros(5), 0.0, [], size=(0, 0))
    assert not (tmp_path / "out").exists() and not (tmp_path / "final").exists()


def test_an_output_refused_inside_an_input_leaves_that_input_untouched(tmp_path):
    import os
    import time

    for folder in ("frames", "masks"):
        write_image(tmp_path / folder / "000000.png", np.zeros((8, 8, 3), np.uint8))
    before = os.stat(tmp_path / "frames").st_mtime_ns
    time.sleep(0.01)
    done = run_cli("segment", tmp_path / "frames", "--masks", tmp_path / "masks", "-o", tmp_path / "frames" / "sub")
    assert done.returncode == 2 and "lies inside the input" in done.stderr
    assert os.stat(tmp_path / "frames").st_mtime_ns == before  # no probe file was written there and removed


@pytest.mark.parametrize("options, message", [
    ({"every": 0}, "--every must be at least 1, got 0"),
    ({"every": 1.5}, "--every must be a whole number, got 1.5"),
    ({"start": 5, "end": 2}, r"--end \(2\) must be greater than --start \(5\)"),
    ({"gamma": float("nan")}, "--gamma"),
    ({"png_level": 10}, "--png-level must be between 0 and 9, got 10"),
    ({"max_side": 0}, "--max-side must be at least 2, got 0"),
])
def test_extract_options_are_checked_when_made(options, message):
    from keyframe.errors import KeyframeError
    from keyframe.io import ExtractOptions

    with pytest.raises(KeyframeError, match=message):  # not only once extract_frames starts
        ExtractOptions(**options)
