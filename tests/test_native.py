"""``keyframe.native.stderr_silenced``: native writes to fd 2 vanish, and fd 2 comes back afterwards."""

from __future__ import annotations

import os

import pytest

from keyframe.native import stderr_silenced


def test_writes_to_fd2_are_dropped_and_fd2_is_restored(capfd):
    os.write(2, b"before\n")
    with stderr_silenced():
        os.write(2, b"hidden\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_fd2_is_restored_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError):
        with stderr_silenced():
            raise RuntimeError("boom")
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"
