"""Batched, differentiable SSIM in torch, usable as a training loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from keyframe.metrics.image import K1, K2, SIGMA, WINDOW


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma * sigma))
    return kernel / kernel.sum()


def ssim_torch(x: torch.Tensor, y: torch.Tensor, data_range: float | None = None, reduce: bool = True) -> torch.Tensor:
    """SSIM of two batches ``(B, C, H, W)``: one value per image, or the map if ``reduce`` is False.

    Same definition as :func:`keyframe.metrics.ssim` (11x11 Gaussian, sigma 1.5,
    border of 5 pixels left out), computed with separable convolutions.

    Parameters
    ----------
    x, y : torch.Tensor
        Float tensors of one shape and dtype, ``(B, C, H, W)`` with H and W at least 11.
    data_range : float, optional
        The span of their values (> 0). Left out, it is 1 and the values must lie near [0, 1]: beyond
        [-1, 2] they are refused (one min/max), so 0-255 images are caught while a loss's overshoot passes;
        give it for other scales (255 for images in 0..255).
    reduce : bool
        False gives the SSIM map, ``(B, C, H - 10, W - 10)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 3, 32, 32)
    >>> ssim_torch(x, x).tolist()
    [1.0, 1.0]
    >>> grey = torch.full((1, 1, 16, 16), 100.0)
    >>> ssim_torch(grey, grey)
    Traceback (most recent call last):
    ...
    ValueError: x and y are taken to span [0, 1], but reach 100; give data_range (e.g. 255) or scale them to [0, 1]
    >>> ssim_torch(grey, grey, data_range=255).tolist()
    [1.0]
    """
    _check_tensors(x, y)
    if data_range is None:
        _check_unit_range(x, y)
        data_range = 1.0
    elif not math.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"data_range must be a number > 0, got {data_range}")
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


def ssim_loss(x: torch.Tensor, y: torch.Tensor, data_range: float | None = None) -> torch.Tensor:
    """``1 - SSIM`` averaged over the batch: 0 for identical images (arguments as for :func:`ssim_torch`)."""
    return 1.0 - ssim_torch(x, y, data_range).mean()


def _check_tensors(x, y) -> None:
    """Refuse what conv2d would fail on obscurely (or never reach): non-tensors, integer or mixed dtypes,
    shapes other than one ``(B, C, H, W)``, images smaller than the window."""
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} is a {type(value).__name__}, but ssim_torch takes torch tensors (B, C, H, W); "
                "convert it (torch.from_numpy), or use keyframe.metrics.ssim for numpy images"
            )
        if not value.is_floating_point():
            raise TypeError(
                f"{name} is {value.dtype}, but ssim_torch takes float tensors; convert it "
                f"({name}.float() / 255 for uint8 images, or {name}.float() with data_range=255)"
            )
    if x.dtype != y.dtype:
        raise TypeError(f"x is {x.dtype} but y is {y.dtype}; give both one dtype (e.g. y.to(x.dtype))")
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim_torch expects two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < WINDOW:  # as ssim says it, rather than conv2d's complaint about its kernel
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {tuple(x.shape[-2:])}")


# How far values may stray from [0, 1] before they are taken for another span (0-255): as a loss, SSIM compares a
# network's outputs before any clamping, which overshoot.
UNIT_SLACK = 1.0


def _check_unit_range(x: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse values far outside [0, 1] (0-255 pixels) when no data_range was given: SSIM's constants would be
    scaled wrongly. Overshoot by up to :data:`UNIT_SLACK`, as unclamped outputs have, is let through.

    One min and one max over both, without gradients and with a single host sync (this runs in training loops).
    """
    with torch.no_grad():
        low = torch.minimum(x.min(), y.min())
        high = torch.maximum(x.max(), y.max())
        if bool((low < -UNIT_SLACK) | (high > 1 + UNIT_SLACK)):  # so NaNs pass, as in ssim, and show in the result
            beyond = high.item() if high.item() > 1 + UNIT_SLACK else low.item()
            raise ValueError(
                f"x and y are taken to span [0, 1], but reach {beyond:g}; "
                "give data_range (e.g. 255) or scale them to [0, 1]"
            )
