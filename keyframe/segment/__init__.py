"""Segment every frame of a video from a few hand-made masks.

An ensemble of members (background subtraction, colour GMM, GrabCut, a small
CNN, a UNet on a pretrained encoder, optical-flow propagation) is stacked by
a classifier trained on held-out annotated pixels, smoothed in time along the
optical flow and thresholded.

Examples
--------
>>> from keyframe.segment import segment  # doctest: +SKIP
>>> summary = segment("clip.mp4", "my_masks/", "out/masks")  # doctest: +SKIP
"""

from keyframe.segment.base import MEMBERS, Member, register_member
from keyframe.segment.cutout import cutout, write_cutouts
from keyframe.segment.pipeline import DEFAULT_METHODS, SegmentConfig, segment
from keyframe.segment.preview import overlay, preview

__all__ = ["DEFAULT_METHODS", "MEMBERS", "Member", "SegmentConfig", "cutout", "overlay", "preview", "register_member", "segment",
           "write_cutouts"]
