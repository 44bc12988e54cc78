"""GrabCut refining a consensus mask.

The consensus of the other members (or, when GrabCut is used alone, the
optical-flow propagation) is turned into GrabCut's four labels: sure
foreground where the consensus is high, probable foreground and probable
background in the bands around 0.5, sure background where it is low. GrabCut
then fits its own colour models to this frame and cuts along image edges. It
runs on a downscaled crop around the probable foreground, for speed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError
from keyframe.io.frames import FrameSource
from keyframe.segment.base import MEMBERS, Member, check_real, check_whole, register_member, resize_prob, work_size
from keyframe.segment.members.morphology import bounding_box, soft_from_binary

log = logging.getLogger(__name__)


@dataclass
class GrabCutConfig:
    """Settings of :class:`GrabCutMember`.

    Attributes
    ----------
    max_side : the frame is scaled so its longer side is at most this.
    sure_fg, probable_fg, probable_bg : consensus thresholds; at or above
        ``sure_fg`` is sure foreground, above ``probable_fg`` probable
        foreground, above ``probable_bg`` probable background, below it sure
        background.
    iterations : GrabCut iterations.
    margin : the crop is the bounding box of the non-sure-background area grown
        by this fraction of its size on each side.
    softness : edge width in pixels (at the work size) of the soft output.
    seed_member : the member whose output is the consensus when GrabCut is
        used alone (``fit`` + ``predict``).
    """

    max_side: int = 320
    sure_fg: float = 0.85
    probable_fg: float = 0.5
    probable_bg: float = 0.15
    iterations: int = 2
    margin: float = 0.15
    softness: float = 1.5
    seed_member: str = "flow"

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_whole(self, "max_side", "iterations")
        check_real(self, "probable_bg", "probable_fg", "sure_fg", maximum=1.0)
        if not self.probable_bg <= self.probable_fg <= self.sure_fg:
            raise KeyframeError("GrabCutConfig needs probable_bg <= probable_fg <= sure_fg, got "
                                f"{self.probable_bg:g}, {self.probable_fg:g}, {self.sure_fg:g}")
        check_real(self, "margin", "softness")
        if not isinstance(self.seed_member, str) or self.seed_member not in MEMBERS or MEMBERS[self.seed_member].needs_consensus:
            raise KeyframeError(f"GrabCutConfig.seed_member: grabcut cannot be seeded from {self.seed_member!r}")


def trimap(consensus: np.ndarray, config: GrabCutConfig) -> np.ndarray:
    """GrabCut's label image (``cv2.GC_*``) from a soft consensus.

    Examples
    --------
    >>> import numpy as np, cv2
    >>> trimap(np.array([[0.0, 0.3, 0.6, 0.95]]), GrabCutConfig()).tolist() == [[cv2.GC_BGD, cv2.GC_PR_BGD, cv2.GC_PR_FGD, cv2.GC_FGD]]
    True
    """
    labels = np.full(consensus.shape, cv2.GC_BGD, np.uint8)
    labels[consensus >= config.probable_bg] = cv2.GC_PR_BGD
    labels[consensus >= config.probable_fg] = cv2.GC_PR_FGD
    labels[consensus >= config.sure_fg] = cv2.GC_FGD
    return labels


def grabcut(rgb: np.ndarray, consensus: np.ndarray, config: GrabCutConfig) -> np.ndarray | None:
    """Binary foreground of ``rgb`` by GrabCut seeded from ``consensus`` (same size); ``None`` if it cannot run."""
    labels = trimap(consensus, config)
    box = bounding_box(labels != cv2.GC_BGD, config.margin)
    if box is None:
        return np.zeros(consensus.shape, bool)
    y0, y1, x0, x1 = box
    crop = np.ascontiguousarray(labels[y0:y1, x0:x1])
    kinds = np.isin(crop, (cv2.GC_FGD, cv2.GC_PR_FGD)), np.isin(crop, (cv2.GC_BGD, cv2.GC_PR_BGD))
    if not kinds[0].any() or not kinds[1].any() or min(crop.shape) < 4:
        return None  # GrabCut needs samples of both colour models
    # GrabCut's k-means draws random centres; a fixed seed keeps results repeatable.
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    image = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2BGR)
    try:
        cv2.grabCut(image, crop, None, bgd, fgd, config.iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error as error:
        log.debug("grabcut failed on a %s crop: %s", crop.shape, error)
        return None
    out = np.zeros(consensus.shape, bool)
    out[y0:y1, x0:x1] = np.isin(crop, (cv2.GC_FGD, cv2.GC_PR_FGD))
    return out


@register_member
class GrabCutMember(Member):
    """GrabCut seeded from a consensus mask; alone, it refines the flow propagation.

    Examples
    --------
    >>> member = GrabCutMember()
    >>> prob = member.refine(12, rgb, consensus)  # doctest: +SKIP
    >>> alone = dict(GrabCutMember().fit(source, {0: mask0}).predict(source))  # doctest: +SKIP
    """

    name = "grabcut"
    config_type = GrabCutConfig
    needs_consensus = True

    def __init__(self, config: GrabCutConfig | None = None):
        self.config = config or GrabCutConfig()
        self.seed: Member | None = None

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "GrabCutMember":
        """Fit the member that stands in for the consensus when GrabCut is used alone."""
        if self.config.seed_member not in MEMBERS or MEMBERS[self.config.seed_member].needs_consensus:
            raise KeyframeError(f"grabcut cannot be seeded from {self.config.seed_member!r}")
        self.seed = MEMBERS[self.config.seed_member]().fit(source, keyframes)
        return self

    def predict(self, source: FrameSource, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        if self.seed is None:
            raise KeyframeError("grabcut: call fit() before predict()")
        for (index, consensus), frame in zip(self.seed.predict(source, start, stop), source.iter_frames(start, stop)):
            yield index, self.refine(index, frame.rgb, consensus)

    def refine(self, index: int, rgb: np.ndarray, consensus: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        size = work_size(height, width, self.config.max_side)
        small = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        seed = resize_prob(consensus, *size)
        cut = grabcut(small, seed, self.config)
        if cut is None:
            log.debug("grabcut: frame %d keeps its consensus", index)
            return resize_prob(consensus, height, width)
        return resize_prob(soft_from_binary(cut, self.config.softness), height, width)
