"""A fast PNG encoder for 8-bit grey and RGB frames.

OpenCV tries several row filters per row before compressing, which makes a
1080p frame cost a few hundred milliseconds. Frames of a video compress
about as well with the single "Up" filter (each row minus the row above,
vectorised in numpy) and zlib's fastest level, at a fraction of the time; and
``zlib.compress`` releases the GIL, so a thread pool writes frames in
parallel. Level 0 stores the pixels uncompressed, for when disk is cheaper
than time.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILTER_NONE, FILTER_UP = 0, 2
COLOUR_TYPES = {1: 0, 3: 2}  # channels -> PNG colour type (grey, RGB)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image: np.ndarray, level: int = 1) -> bytes:
    """Encode a uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB image as PNG bytes.

    Examples
    --------
    >>> import numpy as np, cv2
    >>> image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    >>> data = encode_png(image)
    >>> decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    >>> bool((decoded == image).all())
    True
    """
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"encode_png expects uint8, got {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels not in COLOUR_TYPES:
        raise ValueError(f"encode_png expects grey or RGB, got shape {image.shape}")
    height, width = image.shape[:2]
    rows = image.reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), np.uint8)
    if level == 0:  # stored, not compressed: filtering would buy nothing
        filtered[:, 0] = FILTER_NONE
        filtered[:, 1:] = rows
    else:
        filtered[:, 0] = FILTER_UP
        filtered[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 wrap-around is PNG's modulo-256 arithmetic
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[channels], 0, 0, 0)
    body = zlib.compress(filtered.data, level)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
