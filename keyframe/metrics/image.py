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
    if not a.size:  # a mean over nothing is NaN, with numpy's warnings
        raise ValueError(f"images are empty: shape {a.shape}")
    return a, b


# The spans assumed when no data_range is given; any other integer type (int64 above all, which a list of ints
# becomes) could hold 0..255 as well as 0..65535, and its full span (2**64) would make every error look tiny.
DTYPE_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def default_range(image: np.ndarray, name: str = "image") -> float:
    """The span assumed for ``image``'s dtype: 255 for uint8, 65535 for uint16, 1 for floats (images in [0, 1]).

    Other dtypes have no span to assume, and a ValueError naming the argument (``name``) says what to do:
    booleans (masks) and integers other than uint8/uint16 (int64, which a list of ints becomes) need
    ``data_range`` or converting; complex, object or string arrays are refused with a TypeError.

    Examples
    --------
    >>> default_range(np.zeros(3, np.uint16)), default_range(np.zeros(3, np.float32))
    (65535.0, 1.0)
    >>> default_range(np.array([0, 255]), "a")
    Traceback (most recent call last):
    ...
    ValueError: a is int64 (what a list of ints becomes), whose value span cannot be assumed as for uint8 (255), uint16 (65535) or floats (1); give data_range (e.g. 255) or convert a to uint8
    """
    _check_real(image, name)
    if image.dtype in DTYPE_RANGES:
        return DTYPE_RANGES[image.dtype]
    if np.issubdtype(image.dtype, np.floating):
        return 1.0
    if image.dtype == np.bool_:
        raise ValueError(
            f"{name} is a boolean mask, not an image: score masks with jaccard or boundary_f "
            f"(keyframe.metrics.segmentation), or convert {name} (e.g. {name}.astype(np.uint8) * 255)"
        )
    origin = " (what a list of ints becomes)" if image.dtype == np.int64 else ""
    raise ValueError(
        f"{name} is {image.dtype}{origin}, whose value span cannot be assumed as for uint8 (255), uint16 (65535) "
        f"or floats (1); give data_range (e.g. 255) or convert {name} to uint8"
    )


def _check_real(image: np.ndarray, name: str) -> None:
    """Refuse arrays that are no pixel values at all (complex, object, strings), whatever the data_range."""
    if image.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {image.dtype}, not pixel values; give a uint8, uint16 or float image")


def peak(image: np.ndarray, data_range: float | None = None, name: str = "image") -> float:
    """The span of values ``image`` can take: ``data_range`` if given (a positive number), else
    :func:`default_range`; float images beyond [0, 1] without a ``data_range`` are refused, since their span
    cannot be told (as scikit-image asks for it). ``name`` is the argument the messages name.

    Examples
    --------
    >>> peak(np.zeros(3, np.uint8)), peak(np.full(3, 0.5))
    (255.0, 1.0)
    >>> peak(np.full(3, 200.0))
    Traceback (most recent call last):
    ...
    ValueError: image is a float image, taken to span [0, 1], but reaches 200; give data_range (e.g. 255) or scale image to [0, 1]
    """
    if data_range is not None:
        _check_real(image, name)
        if not np.isfinite(data_range) or data_range <= 0:
            raise ValueError(f"data_range must be a number > 0, got {data_range}")
        return float(data_range)
    span = default_range(image, name)
    if np.issubdtype(image.dtype, np.floating) and image.size and (image.min() < 0 or image.max() > 1):
        beyond = image.max() if image.max() > 1 else image.min()
        raise ValueError(
            f"{name} is a float image, taken to span [0, 1], but reaches {beyond:g}; "
            f"give data_range (e.g. 255) or scale {name} to [0, 1]"
        )
    return span


def common_range(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> float:
    """The span ``psnr`` and ``ssim`` score ``a`` and ``b`` in: ``data_range`` if given, else the one their
    dtypes share; a uint8 image against a float one (0..255 against 0..1) is refused unless ``data_range``
    says which span both are in, since either default would score the other image at the wrong scale.

    Examples
    --------
    >>> common_range(np.zeros(3, np.uint8), np.zeros(3, np.uint8))
    255.0
    >>> common_range(np.zeros(3, np.uint8), np.zeros(3, np.float32))
    Traceback (most recent call last):
    ...
    ValueError: a is uint8 (span 255) but b is float32 (span 1); convert one to the other's dtype and scale (uint8 0..255, uint16 0..65535, floats 0..1) or give data_range
    """
    if data_range is not None:
        return max(peak(a, data_range, "a"), peak(b, data_range, "b"))
    # The dtypes first: a uint8 image against one in floats 0..255 is told it mixes kinds, the likelier slip.
    span_a, span_b = default_range(a, "a"), default_range(b, "b")
    if span_a != span_b:
        raise ValueError(
            f"a is {a.dtype} (span {span_a:g}) but b is {b.dtype} (span {span_b:g}); convert one to the other's "
            "dtype and scale (uint8 0..255, uint16 0..65535, floats 0..1) or give data_range"
        )
    return max(peak(a, None, "a"), peak(b, None, "b"))


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

    Parameters
    ----------
    a, b : array_like
        Images of one shape, any layout.
    data_range : float, optional
        The span of their values (the peak). Left out, it comes from the dtypes, whose spans ``a`` and ``b``
        must share: 255 for uint8, 65535 for uint16, 1 for floats (then in [0, 1]); other integer
        types (int64: a list of ints) and boolean masks need it given.

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)), 1)
    0.0
    """
    a, b = _pair(a, b)
    span = common_range(a, b, data_range)
    error = mse(a, b)
    return float("inf") if error == 0 else float(10.0 * np.log10(span * span / error))


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> np.ndarray:
    """Per-pixel SSIM of two single-channel images (float64, same shape as the input)."""
    a, b = _pair(a, b)
    span = common_range(a, b, data_range)
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

    Parameters
    ----------
    a, b : array_like
        Images of one shape, ``(H, W)`` or ``(H, W, C)``, each side at least 11 pixels; channels-first or
        batched arrays are refused (score a batch one image at a time, or with :func:`ssim_torch`).
    data_range : float, optional
        The span of their values, as for :func:`psnr`: from the dtype if left out.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    >>> ssim(image, image)
    1.0
    """
    a, b = _pair(a, b)
    _check_layout(a.shape)
    pad = (WINDOW - 1) // 2
    channels = [(a, b)] if a.ndim == 2 else [(a[..., c], b[..., c]) for c in range(a.shape[2])]
    scores = [ssim_map(x, y, data_range)[pad:-pad, pad:-pad].mean() for x, y in channels]
    return float(np.mean(scores))


def _check_layout(shape: tuple[int, ...]) -> None:
    """Refuse shapes :func:`ssim` would misread: not one ``(H, W)`` or ``(H, W, C)`` image, or too small.

    Examples
    --------
    >>> _check_layout((3, 32, 32))
    Traceback (most recent call last):
    ...
    ValueError: a and b look channels-first, (C, H, W) = (3, 32, 32), but ssim takes (H, W) or (H, W, C); pass np.moveaxis(a, 0, -1) and the same of b
    """
    if len(shape) == 4:  # OpenCV would blur across the images of a batch
        raise ValueError(
            f"a and b are a batch of shape {shape}, but ssim takes one image, (H, W) or (H, W, C); "
            "score the images one by one, or use ssim_torch on (B, C, H, W) tensors"
        )
    if len(shape) not in (2, 3):
        raise ValueError(f"a and b are {len(shape)}-D, {shape}, but ssim takes an image, (H, W) or (H, W, C); reshape them so")
    # Fewer rows than the window but enough columns and "channels": a (C, H, W) tensor's layout, a common slip.
    if len(shape) == 3 and shape[0] < WINDOW <= min(shape[1:]):
        raise ValueError(
            f"a and b look channels-first, (C, H, W) = {shape}, but ssim takes (H, W) or (H, W, C); "
            "pass np.moveaxis(a, 0, -1) and the same of b"
        )
    if min(shape[:2]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {shape[:2]}")
