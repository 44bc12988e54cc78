"""The Pool seed's training windows: shifted input sequences and their next-frame targets.

From frames ``f1 .. fN`` the seed builds nine shifted sequences
``input_k = f_k .. f_{N-10+k}`` and targets shifted by one frame,
``output_k = f_{k+1} .. f_{N-9+k}``, and reads them *top to bottom*: column
``j`` of the nine sequences is the window ``f_j .. f_{j+8}`` and its targets
``f_{j+1} .. f_{j+9}``. :func:`shifted_sequences` gives that layout;
:func:`make_windows` gives the same thing window by window, which is what the
predictor trains on. The window length (9 in the seed) is configurable.

Examples
--------
>>> import numpy as np
>>> features = np.arange(12, dtype=np.float32)[:, None]   # 12 frames, 1 value each
>>> inputs, targets = make_windows(features, length=9)
>>> inputs.shape, targets.shape
((3, 9, 1), (3, 9, 1))
>>> inputs[1, :, 0].tolist(), targets[1, :, 0].tolist()
([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keyframe.errors import fail, is_whole


# A window is a moment of a movement, a few seconds at most; the bound also keeps the search for the shortest
# clip that can be learned from (``fewest_frames``) quick.
MAX_WINDOW = 1000


@dataclass(frozen=True)
class WindowConfig:
    """Window length (frames seen per prediction step sequence) and the stride between windows.

    Attributes
    ----------
    length : frames per window; each window also needs the frame after it as a target.
    stride : frames between the starts of consecutive windows (1 scores every start).
    """

    length: int = 9
    stride: int = 1

    def __post_init__(self):
        if not is_whole(self.length) or not 2 <= self.length <= MAX_WINDOW:
            raise ValueError(f"window length must be a whole number from 2 to {MAX_WINDOW} frames, got {self.length!r}")
        if not is_whole(self.stride) or self.stride < 1:
            raise ValueError(f"window stride must be a whole number, at least 1, got {self.stride!r}")

    @property
    def span(self) -> int:
        """Frames one window touches: its inputs plus the last target."""
        return self.length + 1


def window_count(frames: int, length: int, stride: int = 1) -> int:
    """How many windows of ``length`` (plus one target frame) fit in ``frames`` frames."""
    return max(0, (frames - length - 1) // stride + 1)


def window_starts(frames: int, length: int, stride: int = 1) -> np.ndarray:
    """First frame of every window of a clip of ``frames`` frames."""
    return np.arange(window_count(frames, length, stride)) * stride


def check_length(frames: int, length: int, path="clip") -> None:
    """Raise a KeyframeError naming ``path`` when a clip is too short for one window."""
    if frames < length + 1:
        raise fail(path, f"has {frames} frame{'s' if frames != 1 else ''}; a window of {length} needs at least {length + 1} (the inputs plus one target)")


def shifted_sequences(features: np.ndarray, length: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """The seed's literal layout: ``length`` shifted sequences of inputs and of targets.

    Returns ``inputs, outputs`` shaped ``(length, N - length, ...)``: ``inputs[k]``
    is ``f_{k+1} .. f_{N-length+k}`` (1-based, as in the seed) and ``outputs[k]``
    the same shifted by one frame. Reading column ``j`` top to bottom gives
    window ``j`` of :func:`make_windows`.

    Examples
    --------
    >>> seq_in, seq_out = shifted_sequences(np.arange(12)[:, None], length=9)
    >>> seq_in[:, 0, 0].tolist()   # column 0, top to bottom: the first window
    [0, 1, 2, 3, 4, 5, 6, 7, 8]
    >>> seq_out[-1, :, 0].tolist()  # output_9 ends with the last frame
    [9, 10, 11]
    """
    WindowConfig(length)
    features = np.asarray(features)
    count = len(features) - length
    if count < 1:
        raise ValueError(f"{len(features)} frames are too few for windows of {length}")
    inputs = np.stack([features[k : k + count] for k in range(length)])
    outputs = np.stack([features[k + 1 : k + 1 + count] for k in range(length)])
    return inputs, outputs


def make_windows(features: np.ndarray, length: int = 9, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``(M, length, ...)`` of consecutive features and their next-frame targets.

    ``inputs[m] = features[s : s + length]`` and ``targets[m] = features[s + 1 : s + length + 1]``
    for the ``m``-th start ``s``; the arrays are copies. Features too few for one window give none (``M = 0``).
    """
    WindowConfig(length, stride)  # the same bounds on both as everywhere else
    features = np.asarray(features)
    starts = window_starts(len(features), length, stride)
    index = starts[:, None] + np.arange(length)[None, :]
    return features[index], features[index + 1]
