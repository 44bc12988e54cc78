"""Living with native libraries that talk on their own.

MediaPipe's TFLite runtime prints a few start-up lines straight to file
descriptor 2 on its first inference ("Created TensorFlow Lite XNNPACK
delegate", absl's notice, a feedback-manager warning); no logging setting
reaches them, and they would break into the progress bar.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator


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
