import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import structural_similarity

from keyframe.metrics import mse, psnr, ssim, ssim_loss, ssim_torch


def noisy(image, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def reference(a, b, **kw):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, **kw)


@pytest.mark.parametrize("sigma", [5, 30])
def test_ssim_matches_skimage_colour_and_grey(sigma):
    a = data.astronaut()[::2, ::2]
    b = noisy(a, sigma)
    assert abs(ssim(a, b) - reference(a, b, channel_axis=2, data_range=255)) < 1e-4
    assert abs(ssim(a[..., 1], b[..., 1]) - reference(a[..., 1], b[..., 1], data_range=255)) < 1e-4


def test_ssim_float_images_use_unit_range():
    a = data.camera()[::4, ::4].astype(np.float64) / 255
    b = noisy(data.camera()[::4, ::4], 20).astype(np.float64) / 255
    assert abs(ssim(a, b) - reference(a, b, data_range=1.0)) < 1e-4


def test_mse_and_psnr_by_hand():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16  # squared error 256 over 16 pixels
    assert mse(a, b) == 16.0
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 16))
    assert psnr(a, a) == float("inf")
    with pytest.raises(ValueError):
        mse(a, np.zeros((3, 4)))
    empty = np.zeros((0, 4), np.uint8)
    for metric in (mse, psnr):  # NaN with numpy's RuntimeWarnings before
        with pytest.raises(ValueError, match=r"images are empty: shape \(0, 4\)"):
            metric(empty, empty)


def test_torch_ssim_matches_numpy_and_is_differentiable():
    a = data.astronaut()[::4, ::4]
    b = noisy(a, 25)
    x = torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255
    y = torch.from_numpy(b).permute(2, 0, 1)[None].double() / 255
    assert ssim_torch(x, y).item() == pytest.approx(ssim(a, b), abs=1e-6)
    y.requires_grad_(True)
    loss = ssim_loss(x, y)
    loss.backward()
    assert loss.item() > 0 and y.grad.abs().sum() > 0
    batch = ssim_torch(torch.cat([x, x]), torch.cat([x, y.detach()]))
    assert batch.shape == (2,) and batch[0] == pytest.approx(1.0)


def test_ssim_and_ssim_torch_refuse_images_smaller_than_the_window_alike():
    small = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="SSIM needs images of at least 11x11"):
        ssim(small, small)
    tensor = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"SSIM needs images of at least 11x11, got \(8, 8\)"):
        ssim_torch(tensor, tensor)


# Audit of user mistakes: each is refused with a message naming the argument and the way out.


def pair_of_images():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    other = np.clip(image.astype(int) + rng.integers(-60, 60, image.shape), 0, 255)  # int64, as numpy gives
    return image, other


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_integer_types_but_uint8_and_uint16_need_data_range(metric):
    image, other = pair_of_images()
    # Their dtype's full span (2**64 for int64) made psnr 355 dB and ssim 1.0.
    with pytest.raises(ValueError, match=r"a is int64 \(what a list of ints becomes\).*give data_range"):
        metric(image.astype(np.int64), other)
    with pytest.raises(ValueError, match=r"a is int64 .*give data_range"):
        metric(image.tolist(), other.tolist())
    with pytest.raises(ValueError, match=r"b is int16, .*give data_range"):
        metric(image, other.astype(np.int16))
    expected = metric(image, other.astype(np.uint8))
    assert metric(image.astype(np.int64), other, data_range=255) == pytest.approx(expected)
    assert metric(image.tolist(), other.tolist(), data_range=255) == pytest.approx(expected)


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_uint16_keeps_its_span_and_floats_of_two_widths_mix(metric):
    image, other = pair_of_images()
    wide, wide_other = image.astype(np.uint16) * 257, other.astype(np.uint16) * 257  # 0..255 -> 0..65535
    assert metric(wide, wide_other) == pytest.approx(metric(image, other.astype(np.uint8)), abs=1e-3)
    unit, unit_other = image / 255.0, (other / 255.0).astype(np.float32)
    assert metric(unit, unit_other) == pytest.approx(metric(unit, unit_other.astype(np.float64)))


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_a_uint8_image_and_a_float_one_are_refused_without_data_range(metric):
    image, _ = pair_of_images()
    with pytest.raises(ValueError, match=r"a is uint8 \(span 255\) but b is float64 \(span 1\);.*give data_range"):
        metric(image, image / 255.0)
    with pytest.raises(ValueError, match=r"a is uint8 \(span 255\) but b is uint16 \(span 65535\)"):
        metric(image, image.astype(np.uint16))
    # With the span given, both are read in it: the same values score as identical.
    assert metric(image, image.astype(np.float64), data_range=255) in (1.0, float("inf"))


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_boolean_masks_are_sent_to_the_mask_metrics(metric):
    masks = np.zeros((32, 32), bool)
    with pytest.raises(ValueError, match=r"a is a boolean mask, not an image: score masks with jaccard or boundary_f"):
        metric(masks, ~masks)
    assert metric(masks, masks, data_range=1) in (1.0, float("inf"))  # a span given is taken, as before


def test_complex_images_are_refused_as_not_pixel_values():
    image = np.zeros((16, 16), np.complex128)
    with pytest.raises(TypeError, match="a has dtype complex128, not pixel values"):
        psnr(image, image, data_range=1)


def test_float_images_beyond_unit_range_name_the_argument():
    image = np.full((16, 16), 0.5)
    with pytest.raises(ValueError, match=r"b is a float image, taken to span \[0, 1\], but reaches 200; give data_range"):
        ssim(image, np.full((16, 16), 200.0))


def test_ssim_refuses_channels_first_batches_and_1d_input():
    with pytest.raises(ValueError, match=r"channels-first, \(C, H, W\) = \(3, 32, 32\), but ssim takes \(H, W\) or \(H, W, C\)"):
        ssim(np.zeros((3, 32, 32)), np.zeros((3, 32, 32)))
    batch = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=r"a batch of shape \(2, 32, 32, 3\).*one by one, or use ssim_torch"):
        ssim(batch, batch)
    with pytest.raises(ValueError, match=r"1-D, \(100,\), but ssim takes an image, \(H, W\) or \(H, W, C\)"):
        ssim(np.zeros(100), np.zeros(100))
    with pytest.raises(ValueError, match="5-D"):
        ssim(np.zeros((1, 1, 32, 32, 3)), np.zeros((1, 1, 32, 32, 3)))
    wide = np.zeros((32, 32, 16))  # many channels, last: still an (H, W, C) image
    assert ssim(wide, wide) == 1.0


def tensors(seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, 24, 24, generator=generator, dtype=dtype)


def test_ssim_torch_refuses_values_beyond_unit_range_by_default():
    x = 100 + 20 * tensors(0)  # silently -0.00097 before
    y = 100 + 20 * tensors(1)
    with pytest.raises(ValueError, match=r"x and y are taken to span \[0, 1\], but reach 1\d\d.*give data_range"):
        ssim_torch(x, y)
    with pytest.raises(ValueError, match=r"span \[0, 1\], but reach -2\.4\d*; give data_range"):
        ssim_loss(tensors(0) - 2.5, tensors(1))
    # A network's outputs overshoot before they are clamped: as a loss on them, SSIM takes them.
    assert 0 < ssim_loss(tensors(0) * 1.8 - 0.4, tensors(1)).item() < 2
    # With its span given it agrees with ssim on the same values.
    a = x[0].permute(1, 2, 0).double().numpy()
    b = y[0].permute(1, 2, 0).double().numpy()
    assert ssim_torch(x, y, data_range=255)[0].item() == pytest.approx(ssim(a, b, data_range=255), abs=1e-5)
    assert ssim_torch(x, y, 1.0).shape == (2,)  # a span given explicitly is taken without the check


@pytest.mark.parametrize("data_range", [0, -1.0, float("nan"), float("inf")])
def test_ssim_torch_refuses_a_data_range_not_above_zero(data_range):
    with pytest.raises(ValueError, match="data_range must be a number > 0"):
        ssim_torch(tensors(0), tensors(1), data_range=data_range)


def test_ssim_torch_refuses_non_tensors_integer_and_mixed_dtypes():
    x = tensors(0)
    with pytest.raises(TypeError, match=r"y is a ndarray, but ssim_torch takes torch tensors.*keyframe.metrics.ssim"):
        ssim_torch(x, x.numpy())
    as_bytes = (x * 255).to(torch.uint8)
    with pytest.raises(TypeError, match=r"x is torch.uint8, but ssim_torch takes float tensors; convert it \(x.float\(\) / 255"):
        ssim_torch(as_bytes, as_bytes)
    with pytest.raises(TypeError, match=r"x is torch.float64 but y is torch.float32; give both one dtype"):
        ssim_torch(x.double(), x)
