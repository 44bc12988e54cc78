"""Read and write single images and masks as numpy arrays.

Images are uint8 RGB ``(H, W, 3)``; masks are uint8 ``(H, W)`` where 0 is
background and any other value a segment label (binary masks are 0/255).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from keyframe.errors import check_number, fail, missing_file
from keyframe.io.atomic import atomic_path, input_identity
from keyframe.io.png import SIGNATURE, png_damage, png_fragments
from keyframe.progress import report

log = logging.getLogger(__name__)

# Farther than this is no rim the masks missed but a segment of its own.
MAX_GROW = 50.0

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LOSSY_SUFFIXES = (".jpg", ".jpeg")  # refused as masks: compression noise would read as more segment values
LOSSY_MASK = "is a {kind}; masks must be lossless (PNG), or compression noise reads as more segment values"
ORIENTATION_TAG = 0x0112  # EXIF
PHOTO_FORMATS = ("JPEG", "TIFF", "WEBP")  # image formats that carry an EXIF orientation, as PIL names them


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB ``(H, W, 3)``.

    Grey images are expanded to three channels and alpha is dropped (:func:`read_image_alpha` keeps it); 16-bit
    images are scaled to 8 bits; a photo's EXIF orientation is applied, so it comes out upright, as viewers show it.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> write_image(p, np.zeros((4, 5, 3), np.uint8))
    >>> read_image(p).shape
    (4, 5, 3)
    """
    return read_image_alpha(path)[0]


def read_image_alpha(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an image file as uint8 RGB ``(H, W, 3)`` and its uint8 alpha ``(H, W)``, or None when it has none;
    otherwise as :func:`read_image`.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, cv2
    >>> p = str(pathlib.Path(tempfile.mkdtemp()) / "a.png")
    >>> _ = cv2.imwrite(p, np.dstack([np.zeros((4, 5, 3), np.uint8), np.full((4, 5), 128, np.uint8)]))
    >>> rgb, alpha = read_image_alpha(p)
    >>> rgb.shape, int(alpha[0, 0])
    ((4, 5, 3), 128)
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "is a folder, not an image file") if path.is_dir() else missing_file(path)
    _check_pixels(path)
    data = _whole_bytes(path)
    jpeg = data[:2].tobytes() == b"\xff\xd8"  # whatever the file's name
    if jpeg:  # 8-bit colour or grey, no alpha: OpenCV applies the EXIF orientation itself in this mode
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if image is None:
            raise fail(path, "not a readable image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise fail(path, "not a readable image")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:  # float (HDR, compositing exports) has no one right mapping to 8 bits
        raise fail(path, f"holds {image.dtype} samples; save it with 8 or 16 bits per channel")
    alpha = None
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        alpha = np.ascontiguousarray(image[..., 3])
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if path.suffix.lower() in (".tif", ".tiff", ".webp"):  # OpenCV turns JPEG photos itself, above
        try:
            with Image.open(path) as photo:
                orientation = _orientation(photo)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            orientation = 1  # OpenCV reads it, PIL cannot: no orientation to go by
        image = _upright(image, orientation)
        alpha = None if alpha is None else _upright(alpha, orientation)
    return image, alpha


def flattened(rgb: np.ndarray, alpha: np.ndarray | None, background: int = 255) -> np.ndarray:
    """``rgb`` shown over a plain ``background`` grey level where ``alpha`` (uint8, as :func:`read_image_alpha`
    gives it) makes it transparent: what a viewer shows, while the colours stored under transparent pixels are
    often black or left over from editing. ``rgb`` as it is when there is no alpha.

    Examples
    --------
    >>> rgb = np.zeros((1, 2, 3), np.uint8)
    >>> flattened(rgb, np.array([[0, 255]], np.uint8))[0, :, 0].tolist()
    [255, 0]
    """
    if alpha is None:
        return rgb
    weight = alpha.astype(np.float32)[..., None] / 255
    return np.round(rgb * weight + background * (1 - weight)).astype(np.uint8)


# The most pixels an image may hold: Pillow's limit for decompression bombs (twice its warning level, about 179
# megapixels; a 16K frame has 141). A small PNG can declare 30000x30000 pixels, which took 13.6 GB to read.
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS


def _check_pixels(path: Path) -> None:
    """Refuse, from its header, an image with more than :data:`MAX_PIXELS` pixels, before it is decoded."""
    try:
        with _opened(path) as image:
            _check_size(path, *image.size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return  # not for Pillow: OpenCV reads or refuses it


@contextlib.contextmanager
def _opened(path) -> Iterator[Image.Image]:
    """``Image.open(path)`` from its header, refusing (as :func:`_check_size` does) what Pillow finds too large to
    open, and quiet below that."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # under MAX_PIXELS: read as any other
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise fail(path, f"is too large to read (over {MAX_PIXELS / 1e6:.0f} megapixels); shrink it first") from None
    with image:
        yield image


def _check_size(path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise fail(path, f"is too large to read ({width}x{height}, over {MAX_PIXELS / 1e6:.0f} megapixels); shrink it first")


# How to show an image upright for each EXIF orientation (2-8; 1 is upright): what viewers do.
UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation of an opened photo (1, upright, when it has none or is no photo)."""
    if image.format not in PHOTO_FORMATS:
        return 1
    try:
        return int(image.getexif().get(ORIENTATION_TAG, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1


def _upright(image: np.ndarray, orientation: int) -> np.ndarray:
    turn = UPRIGHT.get(orientation)
    return np.ascontiguousarray(turn(image)) if turn else image


def write_image(path: str | os.PathLike, image: np.ndarray, png_level: int = 1, sweep: bool = False,
                text: dict[str, str] | None = None) -> None:
    """Write a uint8 RGB (or grey) image atomically; the format follows the suffix.

    PNG goes through the fast encoder of :mod:`keyframe.io.png` at zlib level
    ``png_level`` (0 stores uncompressed, 9 is smallest and slowest), with ``text`` as its text chunks. ``sweep``: see
    :func:`~keyframe.io.atomic.atomic_path` (for an image written alone, not for the frames of a folder).
    """
    _path_first("write_image", path, image)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"write_image expects uint8, got {image.dtype}")
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: an image is written as {', '.join(IMAGE_SUFFIXES)} (by its name's ending)")
    if text and Path(path).suffix.lower() != ".png":
        raise ValueError(f"{path}: text chunks are written into PNG files only")
    with atomic_path(path, sweep=sweep) as tmp:
        if tmp.suffix.lower() == ".png":
            with open(tmp, "wb") as file:
                file.writelines(png_fragments(image, png_level, text))
            return
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
        # Encoded in memory and written by Python: OpenCV's own file calls crash on names that are not UTF-8.
        ok, data = cv2.imencode(tmp.suffix, bgr)
        if not ok:
            raise fail(path, "could not be written")
        with open(tmp, "wb") as file:
            file.write(data.tobytes())


# The end-of-image marks of the formats whose files are often cut short (a copy or download stopped midway).
PNG_SIGNATURE, PNG_END = SIGNATURE, b"IEND\xaeB`\x82"
JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


def _check_whole(path, head: bytes, tail: bytes, everything) -> None:
    """Refuse a PNG or JPEG file (by its first bytes ``head``) whose end mark is missing: cut short.

    The mark is nearly always in the last bytes, ``tail``; but phones may append more after it (a motion
    photo's video), so only then is it looked for in ``everything()``, the whole file.
    """
    for start, end, kind in ((PNG_SIGNATURE, PNG_END, "PNG"), (JPEG_START, JPEG_END, "JPEG")):
        if head.startswith(start) and end not in tail and end not in everything():
            raise fail(path, f"is truncated (its {kind} data has no end)")


def _whole_bytes(path: Path) -> np.ndarray:
    """A PNG or JPEG file's bytes, read once, refused when cut short (:func:`_check_whole`): OpenCV would fill
    the missing part of a JPEG with grey and only print a warning; a PNG is refused too when a chunk is
    damaged (:func:`~keyframe.io.png.png_damage`), before libpng prints its own line about it."""
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as error:
        raise fail(path, f"not a readable image ({error.strerror or type(error).__name__})") from None
    _check_whole(path, data[:8].tobytes(), data[-12:].tobytes(), data.tobytes)
    if data[:8].tobytes() == PNG_SIGNATURE:
        damage = png_damage(data)
        if damage is not None:
            raise fail(path, f"is damaged ({damage})")
    return data


def _check_whole_file(path: str | os.PathLike) -> None:
    """:func:`_check_whole` reading only the file's first and last bytes (and all of it only when needed)."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            file.seek(max(0, file.seek(0, os.SEEK_END) - 12))
            tail = file.read()
    except OSError as error:
        raise fail(path, f"not a readable image ({error.strerror or type(error).__name__})") from None
    _check_whole(path, head, tail, path.read_bytes)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file as shown (upright, see :func:`read_image`), from its header alone (the
    pixels are not decoded); a PNG or JPEG file cut short is refused (from its last bytes)."""
    _check_whole_file(path)
    try:
        with _opened(path) as image:
            width, height = image.size
            _check_size(path, width, height)
            turned = _orientation(image) in (5, 6, 7, 8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        with open(path, "rb") as handle:
            head = handle.read(len(PNG_SIGNATURE))
        if head.startswith((PNG_SIGNATURE, JPEG_START)):  # PIL knows these fully: damaged
            raise fail(path, f"not a readable image ({type(error).__name__})") from None
        # Decoded instead, as it will be read: what PIL cannot open (a float TIFF) is then refused for what it is,
        # or sized if OpenCV reads it.
        return read_image(path).shape[:2]
    return (width, height) if turned else (height, width)


def mask_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of a mask file from its header (:func:`image_size`), refusing what :func:`read_mask`
    would refuse by the file's name alone (a JPEG), so a folder of masks can be checked before any work."""
    _check_lossless(Path(path))
    return image_size(path)


def _check_lossless(path: Path) -> None:
    """Refuse a mask file stored with lossy compression: a JPEG (by its name or its first bytes) or a lossy WebP
    (whose image data is a ``VP8 `` chunk; lossless WebP is ``VP8L``)."""
    kind = "JPEG" if path.suffix.lower() in LOSSY_SUFFIXES else None
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
            if head.startswith(JPEG_START):
                kind = "JPEG"
            elif head[:4] == b"RIFF" and head[8:12] == b"WEBP" and _webp_is_lossy(handle):
                kind = "lossy WebP"
    except OSError:
        pass  # refused as unreadable where it is read
    if kind:
        raise fail(path, LOSSY_MASK.format(kind=kind))


def _webp_is_lossy(handle) -> bool:
    """Whether the WebP file open in ``handle`` keeps its image as lossy VP8 data (its chunks, from byte 12)."""
    handle.seek(12)
    while len(header := handle.read(8)) == 8:
        fourcc, size = header[:4], int.from_bytes(header[4:], "little")
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8 "
        handle.seek(size + size % 2, os.SEEK_CUR)  # chunks are padded to even sizes
    return False


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask as uint8 ``(H, W)``: 0 background, other values labels.

    A palette PNG in colour (as DAVIS 2017 and YouTube-VOS give them) reads as its palette indices. A colour mask is
    reduced to its channel maximum (so a white-on-black RGB mask reads as 0/255); colours that would fold
    onto the same value (red and green objects) are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise missing_file(path)
    _check_lossless(path)
    data = _whole_bytes(path)
    palette = _palette_indices(data)
    mask = palette if palette is not None else cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if mask is None:
        raise fail(path, "not a readable mask image")
    if mask.ndim == 3:
        mask = _colour_values(_shape_of(mask), path)
    if mask.dtype != np.uint8:
        if mask.max() > 255 and mask.dtype == np.uint16 and not np.any(mask % 257):
            mask = mask // 257  # 8-bit values saved as 16 bits (0/65535 for a binary mask), as image editors do
        if mask.max() > 255:
            raise fail(path, f"mask values up to {mask.max()} do not fit 8 bits; save masks as 8-bit PNGs "
                             "(0 background, 1..K or 255 for segments)")
        mask = mask.astype(np.uint8)
    return mask


def _palette_indices(data: np.ndarray) -> np.ndarray | None:
    """The indices of a palette image (its file's bytes) whose palette is not all grey, as the masks of DAVIS 2017
    and YouTube-VOS (None for other images, which OpenCV reads: a grey palette gives its grey values)."""
    try:
        with Image.open(io.BytesIO(data.tobytes())) as image:
            if image.mode != "P":
                return None
            indices = np.array(image)
            palette = np.array(image.getpalette() or [], np.int64).reshape(-1, 3)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    # Decided by the whole palette, not the colours a frame uses: the same object reads the same in every frame.
    return None if (palette == palette[:, :1]).all() else indices


def _shape_of(image: np.ndarray) -> np.ndarray:
    """The channels of a mask image that hold its segments, as ``(H, W, C)``. Where an alpha channel marks some
    pixels transparent, they are background; when the colour is the same everywhere (a matte exported with
    transparency, its shape in the alpha channel alone) the alpha channel is the mask."""
    if image.shape[2] < 4 or (alpha := image[..., 3]).min() == alpha.max():
        return image[..., :3]
    colour = image[..., :3]
    if (colour == colour[:1, :1]).all():
        return alpha[..., None]
    return np.where(alpha[..., None] > 0, colour, 0)


def _colour_values(colour: np.ndarray, path: Path) -> np.ndarray:
    """A colour mask's values: each pixel's channel maximum, refused when different colours give the same value."""
    values = colour.max(axis=2)
    if (colour == values[..., None]).all():  # grey, or white on black: nothing to fold
        return values
    packed = colour.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], np.uint32)
    colours = np.unique(packed[values > 0])
    folded = np.unique(np.maximum.reduce([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255]))
    if len(folded) < len(colours):
        raise fail(path, f"holds {len(colours)} colours but only {len(folded)} segment value{'s' if len(folded) != 1 else ''} "
                         "(a colour's value is its brightest channel, and some share one); give one grey value per "
                         "segment (or a palette PNG)")
    return values


# A grey value is taken for a smoothed edge when more than this share of its pixels are edge pixels
# (:func:`_edge_pixels`): blurred and downscaled DAVIS masks gave 0.85 or more, regions of label maps
# 0.44 at most (a small object at 215x121), mostly under 0.25.
EDGE_SHARE = 0.7


def smoothed_values(masks: list[np.ndarray], labels: list[int]) -> list[int]:
    """The values of ``labels`` (other than 255) that a smoothed 0/255 mask would give: grey levels whose
    pixels are mostly edge pixels (:func:`_edge_pixels`). Empty unless the masks hold 255 and other values.

    A fixed distance to the 255 region misses them where the figure is thin (blurring
    leaves no 255 there), so the test looks at each pixel's own neighbourhood; a region
    of a label map is flat inside, and only its outline looks like an edge.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> mask = np.zeros((40, 40), np.uint8); mask[10:30, 10:30] = 255; mask[18, 30:38] = 255
    >>> smoothed_values([cv2.blur(mask, (3, 3))], [28, 57, 85, 113, 142, 170, 198, 255])
    [28, 57, 85, 113, 142, 170, 198]
    >>> labels = np.zeros((40, 40), np.uint8); labels[5:20, 5:35] = 128; labels[20:35, 5:35] = 255
    >>> smoothed_values([labels], [128, 255])
    []
    """
    if 255 not in labels or len(labels) == 1:  # no 255, or nothing beside it: no smoothed 0/255 edge
        return []
    edge = np.zeros(256, np.int64)
    total = np.zeros(256, np.int64)
    for mask in masks:
        total += np.bincount(mask.ravel(), minlength=256)
        edge += np.bincount(mask[_edge_pixels(mask)], minlength=256)
    return [label for label in labels if label != 255 and edge[label] > EDGE_SHARE * total[label]]


MAX_RUNS = 8  # runs value_ranges lists one by one


def value_ranges(values: list[int]) -> str:
    """Sorted whole numbers written as runs, or counted when there are more than :data:`MAX_RUNS` runs: what a
    warning can say of 250 grey levels.

    Examples
    --------
    >>> value_ranges([1, 2, 3, 5, 7, 8, 254])
    '1-3, 5, 7-8, 254'
    >>> value_ranges(list(range(1, 255, 2)))
    '127 values from 1 to 253'
    """
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    if len(runs) > MAX_RUNS:  # a listing of dozens of runs says no more than their count and span
        return f"{len(values)} values from {runs[0][0]} to {runs[-1][1]}"
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def _edge_pixels(mask: np.ndarray, reach: int = 3) -> np.ndarray:
    """Pixels that look like part of a smoothed edge: on a slope (a lower and a higher value among
    their 8 neighbours, as smoothing makes of a step), or on the outline of their own value within
    ``reach`` pixels of the background (the crest of a blurred thin part, which has no higher value)."""
    kernel = np.ones((3, 3), np.uint8)
    lower, higher = cv2.erode(mask, kernel) < mask, cv2.dilate(mask, kernel) > mask
    near_background = cv2.dilate((mask == 0).astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    return (lower & higher) | ((lower | higher) & near_background)


def check_rgb(image, what: str) -> np.ndarray:
    """``image`` as an array if it is a uint8 RGB image ``(H, W, 3)``, as frames are read; a ValueError naming
    ``what`` otherwise (a float image in [0, 1] or 0-255, or a grey or RGBA one, would be drawn as nonsense).

    Examples
    --------
    >>> check_rgb(np.zeros((2, 3, 3), np.uint8), "frame").shape
    (2, 3, 3)
    >>> check_rgb(np.zeros((4, 4, 3)), "frame")
    Traceback (most recent call last):
    ...
    ValueError: frame must be a uint8 RGB image (H, W, 3), as keyframe.io.read_image gives; got float64 (4, 4, 3)
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be a uint8 RGB image (H, W, 3), as keyframe.io.read_image gives; "
                         f"got {image.dtype} {image.shape}")
    return image


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write an ``(H, W)`` mask of segment values 0-255 as an 8-bit PNG, atomically.

    A boolean mask is written as 0 and 255 (one segment, visible in any viewer). Other values are refused rather
    than wrapped (256 would become 0) or truncated (a probability of 0.9 would become 0).

    Examples
    --------
    >>> write_mask("mask.png", np.array([[0, 1], [2, 255]], np.uint8))  # doctest: +SKIP
    >>> write_mask("mask.png", np.eye(4) > 0)  # doctest: +SKIP
    """
    _path_first("write_mask", path, mask)
    if Path(path).suffix.lower() in (*LOSSY_SUFFIXES, ".webp"):  # OpenCV writes WebP lossy: read_mask refuses both
        raise ValueError(f"{path}: a mask is written losslessly, as .png (or .bmp, .tif)")
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{path}: a mask is 2-D (H, W), got shape {mask.shape}")
    write_image(path, _mask_values(path, mask))


def _path_first(function: str, path, image) -> None:
    """Refuse swapped arguments in one line: the image's repr would fill the screen in any later error."""
    if isinstance(path, np.ndarray) and isinstance(image, (str, os.PathLike)):
        raise TypeError(f"{function}(path, image) takes the path first, got an array and then {str(image)!r}")


def _mask_values(path, mask: np.ndarray) -> np.ndarray:
    if mask.dtype == bool:
        return mask.astype(np.uint8) * 255
    if not np.issubdtype(mask.dtype, np.integer):
        # Whole numbers in floats (0.0 and 255.0, as arithmetic on a mask gives) are values; fractions are not.
        if not np.issubdtype(mask.dtype, np.floating) or not np.all(np.isfinite(mask)) or np.any(mask != np.rint(mask)):
            raise ValueError(f"{path}: a mask holds whole segment values 0-255 (or booleans), got {mask.dtype} "
                             "with fractions; write a probability map p in [0, 1] as np.rint(p * 255).astype(np.uint8)")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"{path}: a mask holds segment values 0-255, got values from {mask.min()} to {mask.max()}")
    return mask.astype(np.uint8, copy=False)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder, in natural order of their stems (``2`` before ``10``).

    Files are matched to frames by stem, so two images of one stem (``0005.png`` and ``0005.jpg``) are
    refused: which one was meant cannot be told.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise fail(folder, "is a file, not a folder of images") if folder.exists() else missing_file(folder, "folder")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                   key=lambda p: (natural_key(p.stem), p.suffix))
    for first, second in zip(files, files[1:]):
        if first.stem == second.stem:
            raise fail(folder, f"has several images with the stem {first.stem!r} ({first.name}, {second.name}); keep one")
    return files


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


def mask_files(folder: str | os.PathLike) -> list[Path]:
    """The mask images of ``folder`` in natural stem order; a KeyframeError naming it when it is not a folder
    (:func:`mask_folder`) or holds none."""
    folder = mask_folder(folder)
    files = list_images(folder)
    if not files:
        raise fail(folder, "contains no mask images")
    return files


def read_masks(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """All masks of a folder, keyed by file stem, in natural stem order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise fail(folder, "no such folder")
    files = list_images(folder)
    if not files:
        raise fail(folder, "contains no mask images")
    return {p.stem: read_mask(p) for p in files}


def binarized(mask: np.ndarray) -> np.ndarray:
    """A mask read as one segment: 255 where it is 128 or more, else 0 (a matte's soft, anti-aliased edge
    thresholded halfway).

    Examples
    --------
    >>> binarized(np.array([[0, 127, 128, 255]], np.uint8)).tolist()
    [[0, 0, 255, 255]]
    """
    return np.where(mask >= 128, 255, 0).astype(np.uint8)


def check_grow(pixels: float) -> float:
    """``pixels`` if it is a growth from 0 to ``MAX_GROW`` pixels (see :func:`grow_segments`); a
    :class:`KeyframeError` naming ``--grow`` otherwise.

    Examples
    --------
    >>> check_grow(500)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --grow must be a number <= 50 (pixels), got 500
    """
    return check_number("--grow", pixels, inclusive=True, maximum=MAX_GROW, unit="pixels")


def grow_segments(labels: np.ndarray, pixels: float) -> np.ndarray:
    """``labels`` with every segment (each value but 0) grown by ``pixels`` into the background (0).

    A background pixel within ``pixels`` of a segment takes the value of the nearest one, so the result is still
    one label per pixel and masks feathered from it still sum to one. For hair, fur or a motion-blurred edge that
    the masks left out: they then belong to the figure's segment, as the painter drew them.

    Examples
    --------
    >>> labels = np.zeros((1, 9), np.uint8); labels[0, 2] = 3; labels[0, 6] = 255
    >>> grow_segments(labels, 1).tolist()
    [[0, 3, 3, 3, 0, 255, 255, 255, 0]]
    """
    labels = np.asarray(labels)
    check_grow(pixels)
    background = labels == 0
    if pixels <= 0 or background.all() or not background.any():
        return labels
    # A pixel label per segment pixel, numbered in raster order, for every background pixel: that of its nearest
    # segment pixel (OpenCV's labelled distance transform; 17 ms for a 1080p frame, a tenth of scipy's exact one).
    distance, nearest = cv2.distanceTransformWithLabels(background.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5,
                                                        labelType=cv2.DIST_LABEL_PIXEL)
    grown = labels.copy()
    reached = background & (distance <= pixels)
    grown[reached] = labels[~background][nearest[reached] - 1]
    return grown


class SegmentMasks:
    """Label maps of a segmentation folder, one per frame stem, read on demand.

    Parameters
    ----------
    folder
        Masks named as the frames (``<stem>.png``): 0 background, 1..K segment
        ids, or binary 0/255.
    source
        The frames (a :class:`~keyframe.io.frames.FrameSource`); every frame needs a mask of the same size.
    binary
        Read each mask as one segment (:func:`binarized`): for mattes with soft, anti-aliased edges.
    grow
        Grow every segment by this many pixels into the background (:func:`grow_segments`).
    """

    def __init__(self, folder: str | os.PathLike, source, binary: bool = False, grow: float = 0.0):
        self.grow = check_grow(grow)
        self.paths = {p.stem: p for p in mask_files(folder)}
        self.folder = Path(folder)
        self.binary = binary
        missing = [stem for stem in source.stems if stem not in self.paths]
        if missing:
            named = f"; its masks are named like {min(self.paths)!r}" if self.paths else ""
            raise fail(self.folder, f"has no mask for frame {missing[0]!r} ({len(missing)} of {len(source)} frames lack "
                                    f"one{named}): masks are named as their frames")
        self.size = source.size
        self.stems = list(source.stems)
        for stem in source.stems:  # from the headers, so a wrong mask stops the run before any work
            size = mask_size(self.paths[stem])
            if size != self.size:
                raise fail(self.paths[stem], f"is {size[1]}x{size[0]} but the frames are {self.size[1]}x{self.size[0]}")

    def check_all(self, progress=None) -> set[int]:
        """Read every mask once: one that cannot be used (colours that fold, values past 255) then stops a long
        run before any work instead of midway, after its training. Returns the values found (0 and segment ids)."""
        seen = np.zeros(256, bool)
        # Decoding dominates (about 20 ms for a 1080p PNG) and OpenCV lets go of the GIL while it decodes, so the
        # masks are read on every core, and their values counted in order: the first bad mask is the one named.
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
        try:
            for number, found in enumerate(pool.map(self._values, self.stems), 1):
                seen |= found
                report(progress, number, len(self.stems), "checking the masks")
        finally:
            pool.shutdown(cancel_futures=True)  # after a bad mask or Ctrl-C, the masks not yet read stay unread
        return set(np.flatnonzero(seen).tolist())

    def _values(self, stem: str) -> np.ndarray:
        """Which of the 256 values the mask of ``stem`` holds, as read: growing a segment only gives background
        pixels values found already (and takes a while)."""
        return cv2.calcHist([self.read(stem)], [0], None, [256], [0, 256]).ravel() > 0

    def warn_if_smoothed(self, masks: list[np.ndarray]) -> None:
        """Warn when ``masks`` (some of these) look like smoothed 0/255 masks, whose grey edge values would
        each be a segment of its own (the original frame shows there, a halo, unless each gets a layer)."""
        if self.binary:  # the grey edge is thresholded away
            return
        labels = sorted(set(np.concatenate([np.unique(mask) for mask in masks]).tolist()) - {0})
        edges = smoothed_values(masks, labels)
        if edges:
            log.warning("%s: values %s lie mostly along the edge of the 255 regions, as a smoothed (anti-aliased) "
                        "0/255 mask gives: each is a segment of its own, shown as the original frame unless it is "
                        "given a style; pass --binary if they mean one segment, or save the masks without smoothing", self.folder,
                        value_ranges(edges))

    def read(self, stem: str) -> np.ndarray:
        """The uint8 ``(H, W)`` label map of frame ``stem`` as its mask holds it (with ``binary``, binarized), not grown."""
        path = self.paths[stem]
        labels = read_mask(path)
        if labels.shape != self.size:
            raise fail(path, f"is {labels.shape[1]}x{labels.shape[0]} but the frames are {self.size[1]}x{self.size[0]}")
        return binarized(labels) if self.binary else labels

    def labels(self, stem: str) -> np.ndarray:
        """The uint8 ``(H, W)`` label map of frame ``stem``, its segments grown by ``grow``."""
        return grow_segments(self.read(stem), self.grow)

    def identity(self) -> dict | None:
        """What the label maps are made from, for keys of kept work: the folder's files, and the reading."""
        identity = input_identity(self.folder)
        if identity is None:
            return None
        # Only readings other than the plain one are named, so work kept before they existed still matches.
        return {**identity, **({"binary": True} if self.binary else {}), **({"grow": self.grow} if self.grow else {})}
