import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.stylize import FILTERS, ColorTransfer, apply_filter, lab_stats, reinhard_transfer


def test_reinhard_gives_the_target_statistics():
    rng = np.random.default_rng(0)
    source = rng.integers(40, 200, (32, 32, 3)).astype(np.uint8)
    target = np.clip(source[..., ::-1] * 0.6 + 60, 0, 255).astype(np.uint8)
    out = reinhard_transfer(source, source, target)
    mean, std = lab_stats(out)
    want_mean, want_std = lab_stats(target)
    np.testing.assert_allclose(mean, want_mean, atol=1.5)
    np.testing.assert_allclose(std, want_std, atol=1.5)


def test_fit_many_on_one_pair_equals_fit():
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (16, 16, 3)).astype(np.uint8) for _ in range(2))
    one, many = ColorTransfer.fit(a, b), ColorTransfer.fit_many([(a, b)])
    np.testing.assert_allclose(one.source_mean, many.source_mean, rtol=1e-5)
    np.testing.assert_allclose(one.target_std, many.target_std, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_are_deterministic_and_keep_size(name, small_sample):
    frame = small_sample.frames[0]
    out = apply_filter(name, frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, apply_filter(name, frame))
    assert np.abs(out.astype(int) - frame).mean() > 3  # it does change the look


def test_unknown_filter_is_a_clear_error():
    with pytest.raises(KeyframeError, match="unknown filter"):
        apply_filter("oil", np.zeros((4, 4, 3), np.uint8))


def _image(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (32, 32, 3)).astype(np.uint8)


RGB_MISTAKES = {"float in [0, 1]": lambda image: (image / 255.0).astype(np.float32), "grey": lambda image: image[..., 0],
                "RGBA": lambda image: np.dstack([image, image[..., :1]])}


@pytest.mark.parametrize("mistake", sorted(RGB_MISTAKES))
def test_colour_transfer_refuses_what_is_not_a_uint8_rgb_image(mistake):
    image = _image()
    wrong = RGB_MISTAKES[mistake](image)
    for call, name in [(lambda: reinhard_transfer(wrong, image, image), "image"),
                       (lambda: reinhard_transfer(image, wrong, image), "source"),
                       (lambda: reinhard_transfer(image, image, wrong), "target"),
                       (lambda: ColorTransfer.fit(image, image).apply(wrong), "rgb"),
                       (lambda: ColorTransfer.fit_many([(image, wrong)]), r"pairs\[0\] target"),
                       (lambda: lab_stats(wrong), "rgb")]:
        with pytest.raises(ValueError, match=f"^{name} must be a uint8 RGB image"):
            call()


@pytest.mark.parametrize("mistake", sorted(RGB_MISTAKES))
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_refuse_what_is_not_a_uint8_rgb_image(name, mistake):
    # Before: stylization and pencil drew a float frame all black or white, the rest were OpenCV errors.
    with pytest.raises(ValueError, match="rgb must be a uint8 RGB image"):
        apply_filter(name, RGB_MISTAKES[mistake](_image()))


def test_masks_of_colour_transfer_are_checked():
    image, darker = _image(), (_image() * 0.5).astype(np.uint8)
    figure = np.zeros((32, 32), bool)
    figure[8:24, 8:24] = True
    with pytest.raises(ValueError, match=r"masks has 1 mask\(s\) for 2 pair\(s\)"):  # zip dropped the second pair
        ColorTransfer.fit_many([(image, image), (image, darker)], masks=[figure])
    with pytest.raises(ValueError, match="every mask selects no pixel"):  # NaN statistics before
        ColorTransfer.fit_many([(image, image)], masks=[np.zeros((32, 32), bool)])
    with pytest.raises(ValueError, match="mask selects no pixel"):
        ColorTransfer.fit(image, image, np.zeros((32, 32), bool))
    with pytest.raises(ValueError, match="pairs is empty"):
        ColorTransfer.fit_many([])
    with pytest.raises(ValueError, match=r"mask \(10, 10\) and image \(32, 32\) differ in size"):  # an IndexError before
        reinhard_transfer(image, image, image, mask=np.ones((10, 10), bool))
    with pytest.raises(ValueError, match=r"masks\[1\] \(10, 10\) and image \(32, 32\) differ in size"):
        ColorTransfer.fit_many([(image, image), (image, darker)], masks=[figure, np.ones((10, 10), bool)])


def test_fit_many_with_masks_pools_the_pixels_inside_them():
    image, darker = _image(), (_image(1) * 0.5).astype(np.uint8)
    figure = np.zeros((32, 32), bool)
    figure[8:24, 8:24] = True
    empty = np.zeros((32, 32), bool)
    one = ColorTransfer.fit(image, darker, figure)
    # A pair whose mask is empty adds no pixel; None is the whole frame; [] is no masks at all.
    many = ColorTransfer.fit_many([(image, darker), (darker, image)], masks=[figure, empty])
    np.testing.assert_allclose(many.target_mean, one.target_mean, rtol=1e-5)
    whole = ColorTransfer.fit_many([(image, darker)], masks=[None])
    np.testing.assert_allclose(whole.source_std, ColorTransfer.fit_many([(image, darker)], masks=[]).source_std)
