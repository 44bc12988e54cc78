"""Read and write single images and masks as numpy arrays.

Images are uint8 RGB ``(H, W, 3)``; masks are uint8 ``(H, W)`` where 0 is
background and any other value a segment label (binary masks are 0/255).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from keyframe.errors import fail
from keyframe.io.atomic import atomic_path
from keyframe.io.png import png_fragments

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LOSSY_SUFFIXES = (".jpg", ".jpeg")  # refused as masks: compression noise would read as more segment values


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB ``(H, W, 3)``.

    Grey images are expanded to three channels and alpha is dropped; 16-bit
    images are scaled to 8 bits.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> write_image(p, np.zeros((4, 5, 3), np.uint8))
    >>> read_image(p).shape
    (4, 5, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "no such file")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise fail(path, "not a readable image")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: str | os.PathLike, image: np.ndarray, png_level: int = 1) -> None:
    """Write a uint8 RGB (or grey) image atomically; the format follows the suffix.

    PNG goes through the fast encoder of :mod:`keyframe.io.png` at zlib level
    ``png_level`` (0 stores uncompressed, 9 is smallest and slowest).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"write_image expects uint8, got {image.dtype}")
    with atomic_path(path) as tmp:
        if tmp.suffix.lower() == ".png":
            with open(tmp, "wb") as file:
                file.writelines(png_fragments(image, png_level))
            return
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
        if not cv2.imwrite(str(tmp), bgr):
            raise fail(path, "could not be written")


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file from its header alone (the pixels are not decoded)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise fail(path, f"not a readable image ({type(error).__name__})") from None
    return height, width


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask as uint8 ``(H, W)``: 0 background, other values labels.

    A colour mask is reduced to its first non-constant reading: any channel
    different from 0 marks the pixel as labelled, with the channel maximum as
    label value (so a white-on-black RGB mask reads as 0/255).
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "no such file")
    if path.suffix.lower() in LOSSY_SUFFIXES:
        raise fail(path, "is a JPEG; masks must be lossless (PNG), or compression noise reads as more segment values")
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise fail(path, "not a readable mask image")
    if mask.ndim == 3:
        mask = mask[..., :3].max(axis=2)
    if mask.dtype != np.uint8:
        if mask.max() > 255:
            raise fail(path, f"mask values up to {mask.max()} do not fit 8 bits")
        mask = mask.astype(np.uint8)
    return mask


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write a uint8 ``(H, W)`` mask as PNG, atomically."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask is 2-D, got shape {mask.shape}")
    write_image(path, mask.astype(np.uint8, copy=False))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder, in natural order of their stems (``2`` before ``10``)."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.stem))


def natural_key(stem: str) -> tuple:
    """Sort key that orders digit runs by value: ``frame2`` < ``frame10``."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", stem))


def mask_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a path if it is a folder (of masks); a KeyframeError saying what it is otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise fail(folder, "is a file, not a folder of masks" if folder.exists() else "no such folder of masks")
    return folder


def read_masks(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """All masks of a folder, keyed by file stem, in natural stem order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise fail(folder, "no such folder")
    files = list_images(folder)
    if not files:
        raise fail(folder, "contains no mask images")
    return {p.stem: read_mask(p) for p in files}
