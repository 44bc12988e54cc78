"""``keyframe.native``: native writes to fd 2 vanish and fd 2 comes back; a solution's start-up is silenced."""

from __future__ import annotations

import os
import pickle

import pytest

from keyframe.native import QuietSolution, stderr_silenced


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
