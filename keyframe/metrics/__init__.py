"""Image similarity (MSE, PSNR, SSIM) and DAVIS segmentation scores (J, F)."""

from keyframe.metrics.image import mse, psnr, ssim, ssim_map
from keyframe.metrics.segmentation import (
    SequenceStats,
    boundary_f,
    boundary_map,
    boundary_tolerance,
    evaluate_masks,
    jaccard,
    sequence_stats,
)
from keyframe.metrics.ssim_torch import ssim_loss, ssim_torch

__all__ = [
    "SequenceStats",
    "boundary_f",
    "boundary_map",
    "boundary_tolerance",
    "evaluate_masks",
    "jaccard",
    "mse",
    "psnr",
    "sequence_stats",
    "ssim",
    "ssim_loss",
    "ssim_map",
    "ssim_torch",
]
