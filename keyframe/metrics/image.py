"""Image similarity: MSE, PSNR and SSIM (Wang et al. 2004) on numpy arrays.

SSIM uses an 11x11 Gaussian window (sigma 1.5) and population covariances,
and agrees with ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False)``; it is computed with OpenCV filters,
which makes it several times faster.
"""

from __future__ import annotations

import cv2
import numpy as np

K1, K2 = 0.01, 0.03
WINDOW, SIGMA = 11, 1.5


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a, b


def default_range(image: np.ndarray) -> float:
    """255 for uint8, 1 for floats (images in [0, 1]), else the dtype's span."""
    if image.dtype == np.uint8:
        return 255.0
    if np.issubdtype(image.dtype, np.floating):
        return 1.0
    info = np.iinfo(image.dtype)
    return float(info.max - info.min)


def peak(image: np.ndarray, data_range: float | None = None) -> float:
    """The span of values ``image`` can take: ``data_range`` if given (a positive number), else
    :func:`default_range`; float images beyond [0, 1] without a ``data_range`` are refused, since their span
    cannot be told (as scikit-image asks for it).

    Examples
    --------
    >>> peak(np.zeros(3, np.uint8)), peak(np.full(3, 0.5))
    (255.0, 1.0)
    >>> peak(np.full(3, 200.0))
    Traceback (most recent call last):
    ...
    ValueError: float images are taken to span [0, 1], but these reach 200; give data_range
    """
    if data_range is not None:
        if not np.isfinite(data_range) or data_range <= 0:
            raise ValueError(f"data_range must be a number > 0, got {data_range}")
        return float(data_range)
    if np.issubdtype(image.dtype, np.floating) and image.size and (image.min() < 0 or image.max() > 1):
        beyond = image.max() if image.max() > 1 else image.min()
        raise ValueError(f"float images are taken to span [0, 1], but these reach {beyond:g}; give data_range")
    return default_range(image)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error in the images' own units.

    Examples
    --------
    >>> import numpy as np
    >>> mse(np.zeros((2, 2)), np.ones((2, 2)))
    1.0
    """
    a, b = _pair(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images).

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)), 1)
    0.0
    """
    a, b = _pair(a, b)
    span = max(peak(a, data_range), peak(b, data_range))
    error = mse(a, b)
    return float("inf") if error == 0 else float(10.0 * np.log10(span * span / error))


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> np.ndarray:
    """Per-pixel SSIM of two single-channel images (float64, same shape as the input)."""
    a, b = _pair(a, b)
    span = max(peak(a, data_range), peak(b, data_range))
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (WINDOW, WINDOW), SIGMA, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (K1 * span) ** 2, (K2 * span) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> float:
    """Mean structural similarity of two images, grey ``(H, W)`` or colour ``(H, W, C)``.

    Colour images are scored per channel and averaged. As in scikit-image,
    the mean leaves out a border of 5 pixels where the window would leave the image.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    >>> ssim(image, image)
    1.0
    """
    a, b = _pair(a, b)
    if min(a.shape[:2]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {a.shape[:2]}")
    pad = (WINDOW - 1) // 2
    channels = [(a, b)] if a.ndim == 2 else [(a[..., c], b[..., c]) for c in range(a.shape[2])]
    scores = [ssim_map(x, y, data_range)[pad:-pad, pad:-pad].mean() for x, y in channels]
    return float(np.mean(scores))
