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
