"""MediaPipe selfie segmentation: a pretrained person segmenter, for videos of people (optional).

MediaPipe 0.10.21 ships its selfie-segmentation models in the wheel, so
nothing is downloaded. The model is not trained on the given masks: it marks
people (and, in practice, other large salient foreground) in every frame on
its own. ``fit`` only measures how well that agrees with the given masks; the
ensemble's stacker decides how far to trust it, and leaves it out on videos
whose segment is not what the model sees. Frames are independent, so any
range can be segmented on its own.

Install with ``pip install --no-deps mediapipe==0.10.21`` plus ``absl-py
attrs flatbuffers 'protobuf<5' matplotlib`` (mediapipe's own pins would
downgrade numpy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

import numpy as np

from keyframe.errors import KeyframeError
from keyframe.io.frames import FrameSource
from keyframe.metrics import jaccard
from keyframe.native import MEDIAPIPE_INSTALL, QuietSolution, import_mediapipe
from keyframe.segment.base import Member, register_member

log = logging.getLogger(__name__)

INSTALL = f"the selfie member needs mediapipe: {MEDIAPIPE_INSTALL}"
MODELS = {"general": 0, "landscape": 1}


@dataclass
class SelfieConfig:
    """Settings of :class:`SelfieMember`.

    Attributes
    ----------
    model : ``"general"`` (256x256 input, the more accurate) or
        ``"landscape"`` (144x256, about a third faster).
    """

    model: str = "general"

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` for an unknown model."""
        if self.model not in MODELS:
            raise KeyframeError(f"unknown selfie model {self.model!r}; choose one of {', '.join(MODELS)}")


@register_member
class SelfieMember(Member):
    """Person probability from MediaPipe's selfie-segmentation model (no training).

    Examples
    --------
    >>> member = SelfieMember().fit(source, {0: mask0})  # doctest: +SKIP
    >>> member.agreement  # IoU with the given masks  # doctest: +SKIP
    0.82
    """

    name = "selfie"
    config_type = SelfieConfig

    def __init__(self, config: SelfieConfig | None = None):
        import_mediapipe(INSTALL)
        self.config = config or SelfieConfig()
        self._segmenter = QuietSolution(partial(_segmenter, MODELS[self.config.model]))
        self.agreement: float | None = None

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "SelfieMember":
        scores = [jaccard(self.predict_frame(i, source.read(i)) > 0.5, mask) for i, mask in sorted(keyframes.items())]
        self.agreement = float(np.mean(scores))
        if self.agreement < 0.3:
            log.warning("selfie: the given masks barely match what MediaPipe takes for people (IoU %.2f)", self.agreement)
        log.info("selfie (%s): IoU %.3f with the %d given masks", self.config.model, self.agreement, len(keyframes))
        return self

    def predict_frame(self, index: int, rgb: np.ndarray) -> np.ndarray:
        result = self._segmenter.process(np.ascontiguousarray(rgb))
        if result.segmentation_mask is None:
            return np.zeros(rgb.shape[:2], np.float32)
        return np.clip(np.asarray(result.segmentation_mask, np.float32), 0.0, 1.0)


def _segmenter(model_selection: int):
    mp = import_mediapipe(INSTALL)
    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=model_selection)
