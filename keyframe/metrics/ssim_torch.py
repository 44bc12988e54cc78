"""Batched, differentiable SSIM in torch, usable as a training loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from keyframe.metrics.image import K1, K2, SIGMA, WINDOW


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma * sigma))
    return kernel / kernel.sum()


def ssim_torch(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, reduce: bool = True) -> torch.Tensor:
    """SSIM of two batches ``(B, C, H, W)``: one value per image, or the map if ``reduce`` is False.

    Same definition as :func:`keyframe.metrics.ssim` (11x11 Gaussian, sigma 1.5,
    border of 5 pixels left out), computed with separable convolutions.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 3, 32, 32)
    >>> ssim_torch(x, x).tolist()
    [1.0, 1.0]
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim_torch expects two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < WINDOW:  # as ssim says it, rather than conv2d's complaint about its kernel
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {tuple(x.shape[-2:])}")
    channels = x.shape[1]
    g = gaussian_window(dtype=x.dtype, device=x.device)
    kernel_h = g.view(1, 1, 1, -1).expand(channels, 1, 1, WINDOW)
    kernel_v = g.view(1, 1, -1, 1).expand(channels, 1, WINDOW, 1)

    def blur(image: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(image, kernel_h, groups=channels), kernel_v, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim.mean(dim=(1, 2, 3)) if reduce else ssim


def ssim_loss(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """``1 - SSIM`` averaged over the batch: 0 for identical images."""
    return 1.0 - ssim_torch(x, y, data_range).mean()
