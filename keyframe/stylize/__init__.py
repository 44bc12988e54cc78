"""Stylize a video from a few painted keyframes (few-shot patch-based training, Texler et al. 2020).

An artist paints one or a few frames; a small fully convolutional network
learns the look from random patches of those keyframes (inside each segment's
mask when a segmentation is given), is applied to every frame, and per-segment
results are blended back together with feathered masks.

Examples
--------
>>> from keyframe.stylize import stylize, composite, reinhard_transfer  # doctest: +SKIP
>>> stylize("frames/", "keys/", "styled/", iterations=1000, video="styled.mp4")  # doctest: +SKIP
>>> stylize("frames/", "keys/", "styled/", masks="masks/")  # keys/<segment-id>/<stem>.png  # doctest: +SKIP
"""

from keyframe.stylize.color import ColorTransfer, lab_stats, reinhard_transfer
from keyframe.stylize.demo import demo
from keyframe.stylize.filters import FILTERS, apply_filter
from keyframe.stylize.guides import BlobTrack, GuideConfig, track_blobs
from keyframe.stylize.model import Generator, GeneratorConfig, PatchDiscriminator
from keyframe.stylize.pipeline import (
    DEFAULT_FEATHER,
    Keyframes,
    SegmentMasks,
    StylizeResult,
    composite,
    find_keyframes,
    parse_layers,
    render_frames,
    stylize,
    stylize_frame,
)
from keyframe.stylize.train import DEFAULT_ITERATIONS, KeyPair, StyleConfig, StyleModel, TrainConfig, TrainStats, train_style

__all__ = [
    "DEFAULT_FEATHER",
    "DEFAULT_ITERATIONS",
    "FILTERS",
    "BlobTrack",
    "ColorTransfer",
    "Generator",
    "GeneratorConfig",
    "GuideConfig",
    "KeyPair",
    "Keyframes",
    "PatchDiscriminator",
    "SegmentMasks",
    "StyleConfig",
    "StyleModel",
    "StylizeResult",
    "TrainConfig",
    "TrainStats",
    "apply_filter",
    "composite",
    "demo",
    "find_keyframes",
    "lab_stats",
    "parse_layers",
    "reinhard_transfer",
    "render_frames",
    "stylize",
    "stylize_frame",
    "track_blobs",
    "train_style",
]
