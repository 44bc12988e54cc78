import av
import cv2
import numpy as np
import pytest
from PIL import Image

from keyframe.io.png import encode_png
from keyframe.io.video import to_rgb
from keyframe.metrics import psnr


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image[..., ::-1] if image.ndim == 3 else image


@pytest.mark.parametrize("level", range(10))
@pytest.mark.parametrize("shape", [(37, 61, 3), (300, 301, 3), (45, 29)])  # 300x301x3 spans several stored blocks
def test_every_level_is_lossless(level, shape):
    rng = np.random.default_rng(level)
    smooth = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), shape[1::-1])
    image = smooth if len(shape) == 3 else smooth[..., 0]
    image = np.ascontiguousarray(image + rng.integers(0, 3, image.shape, dtype=np.uint8))
    data = encode_png(image, level)
    np.testing.assert_array_equal(decode(data), image)
    with Image.open(__import__("io").BytesIO(data)) as pil:  # a second, independent decoder
        np.testing.assert_array_equal(np.asarray(pil), image)


def test_levels_trade_size_for_time():
    image = cv2.resize(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8), (256, 192))
    sizes = [len(encode_png(image, level)) for level in (0, 1, 9)]
    assert sizes[0] > image.nbytes  # stored: the pixels plus framing
    assert sizes[0] > 2 * sizes[1] > 2 * sizes[2]


def test_bad_levels_and_types_are_refused():
    with pytest.raises(ValueError, match="level"):
        encode_png(np.zeros((4, 4, 3), np.uint8), 10)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4, 3), np.float32))


def _frame(rgb: np.ndarray, fmt: str) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt)


def test_fast_420_conversion_agrees_with_swscale(small_sample):
    frame = _frame(small_sample.frames[5], "yuv420p")
    fast, reference = to_rgb(frame), frame.to_ndarray(format="rgb24")
    assert fast.shape == reference.shape and fast.dtype == np.uint8
    assert psnr(fast, reference) > 40.0
    original = small_sample.frames[5]  # 4:2:0 loses colour detail either way; the fast path loses no more
    assert psnr(fast, original) >= psnr(reference, original) - 0.1


@pytest.mark.parametrize("fmt, size", [("yuv444p", (64, 48)), ("yuvj420p", (64, 48)), ("yuv420p", (63, 47))])
def test_other_layouts_fall_back_to_swscale(small_sample, fmt, size):
    rgb = cv2.resize(small_sample.frames[5], size)
    frame = _frame(rgb, fmt)
    np.testing.assert_array_equal(to_rgb(frame), frame.to_ndarray(format="rgb24"))
