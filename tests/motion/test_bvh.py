"""BVH parsing and forward kinematics: channel order as listed, clear errors, the real takes."""

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.motion.bvh import euler_matrices, parse_bvh, read_bvh
from tests.conftest import shared

ARM = """HIERARCHY
ROOT Hips
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition {order}
  JOINT Arm
  {{
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {{
      OFFSET 0 5 0
    }}
  }}
}}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 0 0 0
5 0 0 {angles} 0 0 0
"""


def test_channel_order_is_the_files():
    # The same three angles in two orders give two different poses, each matching its own matrix product.
    angles = "90 90 0"
    zxy = parse_bvh(ARM.format(order="Zrotation Xrotation Yrotation", angles=angles))
    xzy = parse_bvh(ARM.format(order="Xrotation Zrotation Yrotation", angles=angles))
    tip_zxy, tip_xzy = zxy.positions()[1, 2], xzy.positions()[1, 2]
    assert not np.allclose(tip_zxy, tip_xzy)
    expected = np.array([5, 0, 0]) + euler_matrices(np.array([[90.0, 90.0, 0.0]]), "ZXY")[0] @ [0, 15, 0]
    np.testing.assert_allclose(tip_zxy, expected, atol=1e-9)
    # Frame 0 is the rest pose; the root's position channels move everything.
    np.testing.assert_allclose(zxy.positions()[0, :, 1], [0, 10, 15])
    assert zxy.fps == 2.0 and zxy.joints[1].rotation_order == "ZXY"
    # A frame range counts from the start, as everywhere: -1 read the last frame, 3:1 gave empty arrays.
    np.testing.assert_allclose(zxy.positions(1), zxy.positions()[1:])
    for start, stop in ((-1, None), (1, 1), (9, None)):
        with pytest.raises(ValueError, match=f"forward_kinematics: frames {start}:{stop} hold none of the motion's 2"):
            zxy.positions(start, stop)


def test_euler_matrix_rotates_right_handed():
    np.testing.assert_allclose(euler_matrices(np.array([[90.0]]), "X")[0] @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(euler_matrices(np.array([[90.0]]), "Y")[0] @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(euler_matrices([[90.0]], "Z")[0] @ [1, 0, 0], [0, 1, 0], atol=1e-12)  # a list too


def test_euler_matrices_refuse_axes_they_do_not_know_and_angles_that_do_not_fit_the_order():
    for order in ("x", "ZXW", ""):  # unknown letters were all taken as Z
        with pytest.raises(ValueError, match="order is the rotation axes as capitals X, Y and Z"):
            euler_matrices(np.zeros((1, max(len(order), 1))), order)
    with pytest.raises(ValueError, match=r"angles_deg must be \(N, 1\), one column per axis of 'Z', got shape \(1, 3\)"):
        euler_matrices(np.zeros((1, 3)), "Z")  # the extra columns were ignored


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda t: t.replace("MOTION", "MOVES"), "no MOTION section"),
        (lambda t: t.replace("Frames: 2", "Frames: 3"), "declares 3 frames but has 2"),
        (lambda t: t.replace("0 0 0 0 0 0 0 0 0", "0 0 0 0 0 0 0 0"), "motion row has 8 values"),
        (lambda t: t.replace("Zrotation Xrotation Yrotation\n  JOINT", "Zrotation Xrotation Wrotation\n  JOINT"), "unknown channel"),
        (lambda t: t.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), "line 8: expected an OFFSET value"),
        (lambda t: t.replace("Frames: 2", "Frames: -5"), "line 17: the frame count must not be negative"),
        (lambda t: t.replace("Frames: 2", "Frames: 0"), "line 17: has no frames"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: nan"), "line 18: Frame Time must be a positive number"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: inf"), "line 18: Frame Time must be a positive number"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: -0.5"), "line 18: Frame Time must be a positive number"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: 1e-320"), "line 18: Frame Time must be a positive number"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Time: 0,5"), r"line 18: the frame time must be a number of seconds \(a decimal point, not a comma\), got '0,5'"),
        (lambda t: t.replace("Frames: 2", "Frames: 2.0"), "line 17: the frame count must be a whole number, got '2.0'"),
        (lambda t: t.replace("Frame Time: 0.5", "Frame Rate: 2"), "line 17: expected 'Frames: N' and 'Frame Time: T'"),
        (lambda t: t.replace("5 0 0 0 0 0 0 0 0", "5 0 0 0 nan 0 0 0 0"), "line 20: motion value 5 is 'nan'"),
        (lambda t: t.replace("5 0 0 0 0 0 0 0 0", "5 0 0 0 0 0 0 0 -inf"), "line 20: motion value 9 is '-inf'"),
        (lambda t: t.replace("5 0 0 0 0 0 0 0 0", "5 0 x 0 0 0 0 0 0"), "line 20: motion value 3 is not a number"),
        (lambda t: t.replace("5 0 0 0 0 0 0 0 0", "5 0 0 0 1e20 0 0 0 0"), "line 20: motion value 5 is '1e20'; values must be finite"),
        # Numbers that parse but make no skeleton: each names its line, none reaches the renderer as NaN.
        (lambda t: t.replace("OFFSET 0 10 0", "OFFSET nan 10 0"), "line 8: OFFSET values must be finite numbers .* found 'nan'"),
        (lambda t: t.replace("OFFSET 0 10 0", "OFFSET 0 1e301 0"), "line 8: OFFSET values must be finite numbers .* found '1e301'"),
        (lambda t: t.replace("OFFSET 0 5 0", "OFFSET 0 5 -inf"), "line 12: OFFSET values must be finite numbers .* found '-inf'"),
        (lambda t: t.replace("CHANNELS 3 Z", "CHANNELS nan Z"), "line 9: a joint has 0 to 6 channels, not nan"),
        (lambda t: t.replace("CHANNELS 3 Z", "CHANNELS inf Z"), "line 9: a joint has 0 to 6 channels, not inf"),
        # The line of the count, not of the word after it.
        (lambda t: t.replace("CHANNELS 3 Z", "CHANNELS 2.5\n Z"), "line 9: a joint has 0 to 6 channels, not 2.5"),
        # A blank line before the rows still gives the right line number.
        (lambda t: t.replace("Time: 0.5\n", "Time: 0.5\n\n").replace("5 0 0 0 0 0 0 0 0", "5 0 0 0 0 0 0 0 0 0"), "line 21: motion row has 10"),
    ],
)
def test_malformed_files_give_one_clear_error(mutate, problem):
    text = mutate(ARM.format(order="Zrotation Xrotation Yrotation", angles="0 0 0"))
    with pytest.raises(KeyframeError, match="broken.bvh: .*" + problem):
        parse_bvh(text, "broken.bvh")


def test_rows_past_the_declared_frames_are_left_out_with_a_warning(caplog):
    text = ARM.format(order="Zrotation Xrotation Yrotation", angles="0 0 0") + "1 2 3\n"
    motion = parse_bvh(text.replace("Frames: 2", "Frames: 1"), "long.bvh")
    assert len(motion.values) == 1
    assert "long.bvh: line 17 declares 1 frames, but 3 rows of motion follow; the rows from line 20 on are left out" in caplog.text
    caplog.clear()
    parse_bvh(ARM.format(order="Zrotation Xrotation Yrotation", angles="0 0 0"), "exact.bvh")
    assert "left out" not in caplog.text


def test_a_byte_order_mark_is_not_part_of_the_file(tmp_path):
    text = ARM.format(order="Zrotation Xrotation Yrotation", angles="90 0 0")
    (tmp_path / "bom.bvh").write_text(text, encoding="utf-8-sig")  # as Windows editors save it
    motion = read_bvh(tmp_path / "bom.bvh")
    np.testing.assert_allclose(motion.positions(), parse_bvh(text).positions())


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_take_saved_as_utf16_is_read(tmp_path, encoding):
    text = ARM.format(order="Zrotation Xrotation Yrotation", angles="90 0 0")
    (tmp_path / "wide.bvh").write_bytes(text.encode(encoding))  # as some Windows exporters save it
    np.testing.assert_allclose(read_bvh(tmp_path / "wide.bvh").positions(), parse_bvh(text).positions())


def test_missing_file(tmp_path):
    with pytest.raises(KeyframeError, match="no such file"):
        read_bvh(tmp_path / "none.bvh")
    (tmp_path / "take.bvh").mkdir()
    with pytest.raises(KeyframeError, match="take.bvh: is a folder"):
        read_bvh(tmp_path / "take.bvh")
    with pytest.raises(KeyframeError, match="/dev/null: is a device or a pipe, not a file"):  # it exists: not "no such"
        read_bvh("/dev/null")


def test_real_take_has_a_standing_skeleton():
    motion = read_bvh(shared("motion", "bandai-namco-1", "dataset-1_bow_normal_001.bvh"))
    positions = motion.positions()
    assert positions.shape == (len(motion), len(motion.joints), 3)
    assert round(motion.fps) == 30
    names = motion.names
    head, toe = positions[0, names.index("Head")], positions[0, names.index("Toes_L")]
    # Y is up: the head is well above the toes, about a body height (cm).
    assert 120 < head[1] - toe[1] < 200
