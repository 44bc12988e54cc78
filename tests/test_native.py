"""``keyframe.native``: native writes to fd 2 vanish and fd 2 comes back; a solution's start-up is silenced; DIS
takes frames of any shape."""

from __future__ import annotations

import os
import pickle

import cv2
import numpy as np
import pytest

from keyframe.native import QuietSolution, dis_motion, stderr_silenced


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


class Chatty:
    """Stands in for a MediaPipe solution: talks on fd 2 when built and on every call."""

    built = 0

    def __init__(self):
        Chatty.built += 1
        os.write(2, b"created delegate\n")
        self.calls = 0

    def process(self, value):
        self.calls += 1
        if self.calls == 1:
            os.write(2, b"first inference\n")
        else:
            os.write(2, b"later call\n")
        return value * 2

    def close(self):
        pass


def test_solution_start_up_is_silenced_and_later_calls_are_not(capfd):
    Chatty.built = 0
    solution = QuietSolution(Chatty)
    assert not solution.started
    quiet = QuietSolution.QUIET_FRAMES
    assert [solution.process(v) for v in range(quiet + 1)] == [2 * v for v in range(quiet + 1)]
    assert capfd.readouterr().err == "later call\n"  # the tracker's warnings of the first frames are gone too
    solution.close()
    assert not solution.started
    assert solution.process(3) == 6 and Chatty.built == 2
    assert capfd.readouterr().err == ""  # a fresh solution is quiet from its start again


def test_a_copy_builds_its_own_solution():
    solution = QuietSolution(Chatty)
    solution.process(1)
    copy = pickle.loads(pickle.dumps(solution))
    assert solution.started and not copy.started


@pytest.mark.parametrize("preset", [0, 1, 2])
@pytest.mark.parametrize("shape", [(14, 64), (24, 200), (31, 2098), (200, 24), (9, 11)])
def test_dis_motion_tracks_strips_and_tiny_frames_that_crash_dis(shape, preset):
    # These shapes end the process in OpenCV 5.0's DIS (a segmentation fault or an assertion) or are refused by it.
    height, width = shape
    target, source = np.full(shape, 40, np.uint8), np.full(shape, 40, np.uint8)
    top, left = height // 2 - 2, width // 2 - 2
    source[top:top + 4, left:left + 4] = 220
    target[top:top + 4, left + 1:left + 5] = 220
    motion = dis_motion(cv2.DISOpticalFlow_create(preset), target, source)
    assert motion.shape == (height, width, 2) and np.isfinite(motion).all()
