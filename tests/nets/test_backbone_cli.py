"""``keyframe backbone classify``."""

import subprocess

import cv2
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
    rows = [line.split() for line in result.stdout.strip().splitlines()]
    assert len(rows) == 3
    assert int(rows[0][0]) in range(281, 286)
    probabilities = [float(p) for _, p in rows]
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
