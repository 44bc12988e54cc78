"""``keyframe backbone classify``."""

import subprocess

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from keyframe.cli import app
from keyframe.errors import KeyframeError
from tests.conftest import KEYFRAME


@pytest.fixture(scope="module")
def cat_png(tmp_path_factory, chelsea):
    path = tmp_path_factory.mktemp("cli") / "chelsea.png"
    cv2.imwrite(str(path), cv2.cvtColor(chelsea, cv2.COLOR_RGB2BGR))
    return path


def test_classify_prints_top_k(cat_png):
    result = CliRunner().invoke(app, ["backbone", "classify", str(cat_png), "--top", "3"])
    assert result.exit_code == 0, result.output
    rows = [line.split(maxsplit=2) for line in result.stdout.strip().splitlines()]
    assert len(rows) == 3
    assert int(rows[0][0]) in range(281, 286)
    assert rows[0][2] in {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}  # named, not only numbered
    probabilities = [float(p) for _, p, _ in rows]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1


def test_unreadable_image_raises_keyframe_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    result = CliRunner().invoke(app, ["backbone", "classify", str(bad)])
    assert isinstance(result.exception, KeyframeError)
    assert str(result.exception) == f"{bad}: not a readable image"


def test_missing_image_exits_2_with_one_line(tmp_path):
    done = subprocess.run(
        [*KEYFRAME, "backbone", "classify", "missing.png"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "missing.png" in done.stderr


def _declaring(tmp_path, width, height):
    """A small PNG whose header says it is ``width`` x ``height`` (its pixels are never reached)."""
    import struct
    import zlib

    path = tmp_path / f"{width}x{height}.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    data = bytearray(path.read_bytes())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    path.write_bytes(bytes(data))
    return path


def test_an_image_too_large_to_read_is_refused_from_its_header(tmp_path):
    from keyframe.io import read_image
    from keyframe.io.images import image_size

    for width, height in ((30000, 30000), (15000, 12000)):
        bomb = _declaring(tmp_path, width, height)
        for read in (read_image, image_size):
            with pytest.raises(KeyframeError, match=rf"{bomb.name}: is too large to read \((\d+x\d+, )?over 179 megapixels\); shrink"):
                read(bomb)


def test_a_large_photo_is_shrunk_before_it_is_made_floats_and_classifies_alike(backbone, chelsea):
    from keyframe.nets import classify
    from keyframe.nets.functional import images_to_tensor

    large = cv2.resize(chelsea, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)  # 1800 px short side: shrunk first
    (shrunk, p_shrunk), = classify(large, k=1, backbone=backbone)[0]
    (whole, p_whole), = classify(images_to_tensor(large), k=1, backbone=backbone)[0]  # floats: taken as they are
    assert shrunk == whole and abs(p_shrunk - p_whole) < 0.05


def test_transparent_pixels_are_seen_over_white_not_as_the_colours_stored_under_them(tmp_path, chelsea):
    hidden = tmp_path / "hidden.png"  # the cat's colours, all of them transparent: a blank white image to a viewer
    cv2.imwrite(str(hidden), np.dstack([cv2.cvtColor(chelsea, cv2.COLOR_RGB2BGR), np.zeros(chelsea.shape[:2], np.uint8)]))
    result = CliRunner().invoke(app, ["backbone", "classify", str(hidden), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert not any(int(line.split()[0]) in range(281, 286) for line in result.stdout.strip().splitlines()), result.stdout
    shown = tmp_path / "shown.png"  # opaque: the cat, as before
    cv2.imwrite(str(shown), np.dstack([cv2.cvtColor(chelsea, cv2.COLOR_RGB2BGR), np.full(chelsea.shape[:2], 255, np.uint8)]))
    result = CliRunner().invoke(app, ["backbone", "classify", str(shown), "--top", "1"])
    assert int(result.stdout.split()[0]) in range(281, 286), result.stdout
