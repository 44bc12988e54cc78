"""The guided filter that brings the ensemble's soft masks to the frame's size along the frame's edges."""

import cv2
import numpy as np

from keyframe.segment.guided import guided_coefficients, guided_upsample


def _frame_and_coarse_mask(seed: int = 0):
    """A 120x160 frame of a textured disc on a textured background, and the disc's mask at a quarter of the size,
    blurred as a work-size soft mask is: its edge is only known to within a few frame pixels."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[:120, :160]
    disc = (ys - 60) ** 2 + (xs - 75) ** 2 < 38 ** 2
    rgb = np.where(disc[..., None], [200, 60, 50], [40, 90, 170]) + rng.normal(0, 12, (120, 160, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    coarse = cv2.resize(disc.astype(np.float32), (40, 30), interpolation=cv2.INTER_AREA)
    return rgb, disc, cv2.GaussianBlur(coarse, (0, 0), 1.0)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_the_mask_edge_snaps_to_the_frame_edge():
    rgb, disc, coarse = _frame_and_coarse_mask()
    up = guided_upsample(coarse, rgb, radius=2)
    bilinear = cv2.resize(coarse, (160, 120), interpolation=cv2.INTER_LINEAR)
    assert up.shape == (120, 160) and up.dtype == np.float32 and 0.0 <= up.min() and up.max() <= 1.0
    assert _iou(up >= 0.5, disc) > 0.98
    assert _iou(up >= 0.5, disc) > _iou(bilinear >= 0.5, disc) + 0.01
    # Off the edges the probability is kept: the filter moves edges, it does not invent or erase regions.
    band = cv2.dilate(disc.astype(np.uint8), np.ones((15, 15))) - cv2.erode(disc.astype(np.uint8), np.ones((15, 15)))
    assert np.abs(up - bilinear)[band == 0].mean() < 0.03


def test_a_flat_frame_leaves_the_mask_as_upsampled():
    # No colour edge to follow: a = 0, and the mask is its local mean, upsampled.
    _, _, coarse = _frame_and_coarse_mask()
    up = guided_upsample(coarse, np.full((120, 160, 3), 128, np.uint8), radius=2)
    smooth = cv2.resize(cv2.blur(cv2.blur(coarse, (5, 5), borderType=cv2.BORDER_REFLECT), (5, 5), borderType=cv2.BORDER_REFLECT),
                        (160, 120), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(up, np.clip(smooth, 0, 1), atol=1e-4)


def test_coefficients_reproduce_a_source_that_is_a_linear_function_of_the_guide():
    rng = np.random.default_rng(1)
    guide = cv2.GaussianBlur(rng.random((30, 40, 3)).astype(np.float32), (0, 0), 1)
    source = (0.2 * guide[..., 0] - 0.5 * guide[..., 1] + 0.9 * guide[..., 2] + 0.1).astype(np.float32)

    def error(eps):
        a, b = guided_coefficients(guide, source, 3, eps)
        return np.abs((a * guide).sum(-1) + b - source).mean()
    # Exact up to the regularisation, which shrinks a towards 0 (a flatter result) as eps grows.
    assert error(1e-6) < 1e-4 and error(1e-4) < 2e-3 < error(1e-2)
