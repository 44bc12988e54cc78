"""The interface every segmentation member shares, and its registry.

A member learns from a few annotated frames and then gives, frame by frame,
a soft foreground mask in [0, 1]. Several segments are handled one at a time
(one-vs-rest) by the pipeline, so a member only ever sees binary masks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Iterator

import cv2
import numpy as np

from keyframe.errors import KeyframeError, check_count, check_number
from keyframe.io.frames import FrameSource

MEMBERS: dict[str, type["Member"]] = {}


def register_member(cls: type["Member"]) -> type["Member"]:
    """Class decorator: make a member available by its ``name`` (``--methods``)."""
    MEMBERS[cls.name] = cls
    return cls


class Member(ABC):
    """One segmentation method of the ensemble.

    Use: ``member.fit(source, keyframes)``, then iterate
    ``member.predict(source, start, stop)`` which yields ``(index, prob)`` in
    frame order, ``prob`` float32 ``(H, W)`` in [0, 1] at the frame's full size.
    ``keyframes`` maps frame indices to boolean ``(H, W)`` masks (True = segment).

    Members whose ``needs_consensus`` is True (e.g. GrabCut) refine the other
    members' agreement instead: the pipeline calls
    ``refine(index, rgb, consensus)`` for each frame.
    """

    name: ClassVar[str]
    needs_consensus: ClassVar[bool] = False
    #: The dataclass its constructor takes (what ``member_options[name]`` must be); None = not checked.
    config_type: ClassVar[type | None] = None

    @abstractmethod
    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "Member":
        """Learn from the annotated frames; returns ``self``."""

    def fit_from(self, earlier: "Member", source: FrameSource, keyframes: dict[int, np.ndarray]) -> "Member":
        """:meth:`fit` on ``keyframes``, given ``earlier``, the same kind of member fitted on some of them.

        Members that train a network may start from ``earlier``'s and train
        less; the others simply fit.
        """
        return self.fit(source, keyframes)

    def predict(self, source: FrameSource, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, prob)`` for frames ``start..stop-1`` in order."""
        for frame in source.iter_frames(start, stop):
            yield frame.index, self.predict_frame(frame.index, frame.rgb)

    def predict_frame(self, index: int, rgb: np.ndarray) -> np.ndarray:
        """Soft mask of one frame; members whose output depends on earlier frames override ``predict``."""
        raise TypeError(f"{type(self).__name__} predicts whole sequences only")

    def refine(self, index: int, rgb: np.ndarray, consensus: np.ndarray) -> np.ndarray:
        """Soft mask of one frame from the other members' consensus (only when ``needs_consensus``)."""
        raise TypeError(f"{type(self).__name__} does not refine a consensus")


def work_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """``(height, width)`` scaled down so the longer side is at most ``max_side`` (never up)."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_prob(prob: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a soft mask to ``(height, width)`` with bilinear interpolation, float32 in [0, 1]."""
    prob = np.asarray(prob, np.float32)
    if prob.shape == (height, width):
        return prob
    return np.clip(cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


# --- checks of the members' config dataclasses ----------------------------------------------
# Each config's ``check()`` (also run by its ``__post_init__``) uses these, so a bad setting is one
# clear KeyframeError when it is made, not a crash or an empty mask deep inside a run.


def check_whole(config, *names: str, minimum: int = 1) -> None:
    """Raise a :class:`KeyframeError` unless each field ``names`` of ``config`` is an integer >= ``minimum``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Demo:
    ...     max_side: int = 0
    >>> check_whole(Demo(), "max_side")
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: Demo.max_side must be a whole number >= 1, got 0
    """
    for name in names:
        check_count(f"{type(config).__name__}.{name}", getattr(config, name), minimum)


def check_real(config, *names: str, minimum: float = 0.0, inclusive: bool = True, maximum: float | None = None) -> None:
    """Raise a :class:`KeyframeError` unless each field ``names`` of ``config`` is a finite number in range
    (above ``minimum``, or equal to it with ``inclusive``; at most ``maximum`` if given)."""
    for name in names:
        check_number(f"{type(config).__name__}.{name}", getattr(config, name), minimum, inclusive, maximum)


def check_choice(config, name: str, choices) -> None:
    """Raise a :class:`KeyframeError` unless the field ``name`` of ``config`` is one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise KeyframeError(f"{type(config).__name__}.{name}: unknown value {value!r}; choose one of {', '.join(map(str, choices))}")


def check_type(config, name: str, expected: type) -> None:
    """Raise a :class:`KeyframeError` unless the field ``name`` of ``config`` is an instance of ``expected``."""
    value = getattr(config, name)
    if not isinstance(value, expected):
        raise KeyframeError(f"{type(config).__name__}.{name} must be of type {expected.__name__}, got {type(value).__name__}")
