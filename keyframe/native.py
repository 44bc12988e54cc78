"""Living with native libraries that talk on their own or crash on shapes they should take.

MediaPipe's TFLite runtime prints a few start-up lines straight to file
descriptor 2 on its first inference ("Created TensorFlow Lite XNNPACK
delegate", absl's notice, a feedback-manager warning); no logging setting
reaches them, and they would break into the progress bar. OpenCV's DIS
optical flow kills the process (a segmentation fault) on frames with a short
side under 32 pixels and a long one a few times that (:func:`dis_motion`).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np


# The shortest side DIS takes at any length of the other, any preset: in OpenCV 5.0 frames with a side of 12-31 pixels
# crash it, by a segmentation fault or an assertion, once the other side is about three times as long (with the fast
# presets; 12-15 with the medium one), and sides under 12 are refused. Measured on sides up to 8000 pixels.
DIS_MIN_SIDE = 32

# Without its pinned dependencies: it asks for numpy<2 but runs with the numpy keyframe uses. Those it needs are
# installed apart, with their own dependencies (matplotlib's).
MEDIAPIPE_INSTALL = ("pip install --no-deps mediapipe==0.10.21 && "
                     "pip install absl-py attrs flatbuffers 'protobuf<5' matplotlib")


def import_mediapipe(missing: str):
    """The ``mediapipe`` module, or a KeyframeError saying ``missing`` (how to install it) when it is absent.

    """
    try:
        import mediapipe
    except ImportError:
        from keyframe.errors import KeyframeError

        raise KeyframeError(missing) from None
    return mediapipe


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send whatever is written to file descriptor 2 to ``/dev/null`` while the block runs.

    Python's ``sys.stderr`` is flushed first, and the descriptor is restored
    even when the block raises.

    Examples
    --------
    >>> with stderr_silenced():
    ...     os.write(2, b"not shown")
    9
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class QuietSolution:
    """A MediaPipe solution built on first use, its start-up lines silenced.

    ``factory()`` builds the solution; the lines come while it is built and
    during its first few :meth:`process` calls, so these run inside :func:`stderr_silenced`.
    :meth:`close` frees it; the next :meth:`process` builds a fresh one.

    Examples
    --------
    >>> class Echo:
    ...     def process(self, x): return x
    ...     def close(self): pass
    >>> solution = QuietSolution(Echo)
    >>> solution.process(3), solution.started
    (3, True)
    >>> solution.close(); solution.started
    False
    """

    # The pose tracker warns once more when it first follows the body from the frame before ("Using NORM_RECT
    # without IMAGE_DIMENSIONS ..."), which no logging setting reaches either, within its first frames (the fifth on a
    # test clip): those are quiet too.
    QUIET_FRAMES = 30

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._solution = None
        self._processed = 0

    @property
    def started(self) -> bool:
        return self._solution is not None

    def process(self, image: Any) -> Any:
        if self._solution is not None and self._processed >= self.QUIET_FRAMES:
            return self._solution.process(image)
        with stderr_silenced():
            if self._solution is None:
                self._solution, self._processed = self._factory(), 0
            self._processed += 1
            return self._solution.process(image)

    def close(self) -> None:
        if self._solution is not None:
            self._solution.close()
            self._solution = None

    def __getstate__(self) -> dict:
        # A MediaPipe graph cannot be pickled; a copy (e.g. sent to another worker) builds its own.
        return {**self.__dict__, "_solution": None}


def dis_motion(flow, target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``flow.calc(target, source)`` of a ``cv2.DISOpticalFlow``: the flow ``(H, W, 2)`` from the grey frame
    ``target`` to ``source``, for frames of any size.

    Frames with a side under ``DIS_MIN_SIDE``, which DIS refuses or crashes on, are padded (edges repeated) to it
    and the flow cropped back, so that small or strip-shaped frames are tracked instead of ending the process.

    Examples
    --------
    >>> import cv2
    >>> frame = np.zeros((14, 64), np.uint8); frame[4:10, 3:9] = 200
    >>> dis_motion(cv2.DISOpticalFlow_create(0), frame, frame).shape
    (14, 64, 2)
    """
    import cv2

    height, width = target.shape[:2]
    grow_y, grow_x = max(0, DIS_MIN_SIDE - height), max(0, DIS_MIN_SIDE - width)
    if not grow_y and not grow_x:
        return flow.calc(target, source, None)
    padded = [cv2.copyMakeBorder(grey, 0, grow_y, 0, grow_x, cv2.BORDER_REPLICATE) for grey in (target, source)]
    return flow.calc(*padded, None)[:height, :width]
