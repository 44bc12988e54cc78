"""The shaded-humanoid renderer and render-motion."""

import dataclasses

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames
from keyframe.motion.bvh import read_bvh
from keyframe.motion.render import Renderer, RenderOptions, render_motion
from tests.conftest import run_cli, shared


@pytest.fixture(scope="module")
def bow():
    return read_bvh(shared("motion", "bandai-namco-1", "dataset-1_bow_normal_001.bvh"))


def figure_mask(frame, background=(205, 210, 218)):
    """Pixels far from the backdrop and floor colours: the figure (and its dark outline)."""
    return np.abs(frame.astype(int) - np.array(background)).sum(-1) > 120


def test_figure_is_drawn_inside_the_frame(bow):
    renderer = Renderer(bow, RenderOptions(size=(96, 80)))
    frame = renderer.frame(0)
    assert frame.shape == (80, 96, 3) and frame.dtype == np.uint8
    mask = figure_mask(frame)
    ys, xs = np.nonzero(mask)
    assert mask.mean() > 0.03
    assert ys.min() > 0 and ys.max() < 79 and xs.min() > 0 and xs.max() < 95
    assert ys.max() - ys.min() > 40  # a standing figure, taller than half the picture


def test_azimuth_and_motion_change_the_picture(bow):
    front = Renderer(bow, RenderOptions(size=(64, 64)))
    side = Renderer(bow, RenderOptions(size=(64, 64), azimuth=90))
    assert np.abs(front.frame(0).astype(int) - side.frame(0)).mean() > 1
    # The bow's deepest point (mid-take) looks different from the upright start.
    assert np.abs(front.frame(0).astype(int) - front.frame(len(front) // 2)).mean() > 1


@pytest.mark.parametrize(
    "options, problem",
    [
        (dict(size=(8, 8)), "--size"),
        (dict(size=(20000, 20000)), "--size must be between 16x16 and 8192x8192"),
        (dict(elevation=95), "--elevation"),
        (dict(elevation=float("nan")), "--elevation"),
        (dict(fps=float("nan")), "--fps must be between 0.01 and 1000, got nan"),
        (dict(fps=float("inf")), "--fps must be between 0.01 and 1000, got inf"),
        (dict(fps=0.0001), "--fps must be between"),
        (dict(azimuth=float("nan")), "--azimuth must be a finite number of degrees, got nan"),
        (dict(azimuth=float("-inf")), "--azimuth must be a finite number of degrees, got -inf"),
        (dict(size="320x240"), r"RenderOptions size must be \(width, height\) in whole pixels, got '320x240'"),
        (dict(background=(300, 0, 0)), r"background must be an RGB of three whole values 0-255, got \(300, 0, 0\)"),
        (dict(margin=-1), r"margin must be in \[0, 0.45\), got -1"),
    ],
)
def test_bad_options(options, problem):
    with pytest.raises(KeyframeError, match=problem):  # when made, not when the render starts
        RenderOptions(**options)


@pytest.mark.parametrize("name", ["r.png", "r.gif", "r.mkv", "r"])
def test_output_must_be_mp4_before_any_work(tmp_path, name):
    # Refused before the BVH is even read (it does not exist) and nothing is written.
    with pytest.raises(KeyframeError, match=f"{name}: the output must be a .mp4 video"):
        render_motion(tmp_path / "none.bvh", tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_unencodable_file_frame_rate(tmp_path):
    from keyframe.motion.bvh import parse_bvh

    text = ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
            "JOINT Head\n{\nOFFSET 0 50 0\nEnd Site\n{\nOFFSET 0 10 0\n}\n}\n}\n"
            "MOTION\nFrames: 2\nFrame Time: 100000\n0 0 0\n10 0 0\n")
    motion = parse_bvh(text, "slow.bvh")
    with pytest.raises(KeyframeError, match="slow.bvh: the frame rate is 1e-05 fps"):
        Renderer(motion, RenderOptions(size=(32, 32)))
    with pytest.raises(KeyframeError, match="slow.bvh: would render 3000001 frames"):
        Renderer(motion, RenderOptions(size=(32, 32), fps=30))


def test_render_motion_writes_every_frame(tmp_path, bow):
    out = tmp_path / "bow.mp4"
    summary = render_motion(bow, out, RenderOptions(size=(48, 48), fps=10))
    source = open_frames(out)
    assert summary["frames"] == len(source) == int((len(bow) - 1) / bow.fps * 10) + 1
    assert source.size == (48, 48)
    odd = render_motion(bow, tmp_path / "odd.mp4", RenderOptions(size=(33, 27), fps=10))
    assert odd["size"] == [34, 28] and open_frames(tmp_path / "odd.mp4").size == (28, 34)  # what was written


def test_the_reported_rate_is_the_written_one(tmp_path, bow):
    # Frame Time 0.0333333 is 30.000003 fps; the file stores 30, and the summary must say what the file says.
    short = dataclasses.replace(bow, values=bow.values[:4])
    summary = render_motion(short, tmp_path / "own.mp4", RenderOptions(size=(16, 16)))
    assert summary["fps"] == 30.0 == open_frames(tmp_path / "own.mp4").fps


@pytest.mark.parametrize("frames, wild, follow", [(None, [2], False), (None, [60], True), (30, [12], False),
                                                  (None, [40, 41, 42, 90], False), (None, [50, 51, 52], True)])
def test_glitched_frames_do_not_shrink_the_figure_in_every_frame(bow, caplog, frames, wild, follow):
    from dataclasses import replace

    values = bow.values[:frames].copy()
    values[wild, 0] = 100000.0  # the root thrown far away in these frames
    renderer = Renderer(replace(bow, values=values), RenderOptions(size=(96, 80), follow=follow))
    ys, _ = np.nonzero(figure_mask(renderer.frame(wild[0] - 8)))
    assert ys.max() - ys.min() > 40 and f"frame{'s' if len(wild) > 1 else ''} {wild[0]}" in caplog.text
    assert "jump" in caplog.text


@pytest.mark.parametrize("wild", [[0], [29], [0, 1, 2, 3], [26, 27, 28, 29]])
def test_a_glitch_at_either_end_of_the_take_is_found_as_in_the_middle(bow, caplog, wild):
    from dataclasses import replace

    values = bow.values[:30].copy()
    values[wild, 0] = 100000.0
    renderer = Renderer(replace(bow, values=values), RenderOptions(size=(96, 80)))
    ys, _ = np.nonzero(figure_mask(renderer.frame(15)))
    assert ys.max() - ys.min() > 40 and f"frame{'s' if len(wild) > 1 else ''} {wild[0]}" in caplog.text


def test_a_glitch_too_long_to_leave_out_is_warned_of_as_a_small_figure(bow, caplog):
    from dataclasses import replace

    values = bow.values[:60].copy()
    values[20:27, 0] = 100000.0  # seven frames: the frames around each are the glitch itself
    renderer = Renderer(replace(bow, values=values), RenderOptions(size=(96, 80)))
    assert "the figure is about 0% of the picture's size" in caplog.text and "check the take" in caplog.text
    assert renderer.figure_share < 0.01
    caplog.clear()
    assert Renderer(replace(bow, values=bow.values[:60]), RenderOptions(size=(96, 80))).figure_share > 0.8
    assert "picture's size" not in caplog.text


def test_joints_named_as_daz_and_poser_do_face_the_camera(bow):
    from dataclasses import replace

    from keyframe.motion.render import _mirror

    assert _mirror("lShldr") == "rShldr" and _mirror("rThigh") is None and _mirror("lowerback") is None
    daz = {"Hand_L": "lHand", "Hand_R": "rHand", "UpperArm_L": "lShldr", "UpperArm_R": "rShldr"}

    def named(names):  # only these four joints tell left from right; every other pair is renamed away
        return replace(bow, joints=[replace(j, name=names.get(j.name, j.name if not _mirror(j.name) else f"x{i}"))
                                    for i, j in enumerate(bow.joints)])

    options = RenderOptions(size=(64, 64))
    facing = Renderer(named(daz), options).figure.forward
    np.testing.assert_allclose(facing, Renderer(named({name: name for name in daz}), options).figure.forward, atol=1e-9)
    fallback = Renderer(named({}), options).figure.forward  # no pair named: +Z
    assert fallback.tolist() == [0.0, 0.0, 1.0] and np.abs(facing - fallback).max() > 0.01


def test_a_skeleton_of_one_point_is_refused(bow):
    from dataclasses import replace

    joints = [replace(joint, offset=joint.offset * 0) for joint in bow.joints]
    with pytest.raises(KeyframeError, match="its joints all lie at one point in every frame"):
        Renderer(replace(bow, joints=joints, values=bow.values[:5] * 0), RenderOptions(size=(64, 64)))


@pytest.mark.parametrize("towards, distance", [("back", 1e5), ("back", 1e9), ("right", 1e12)])
def test_a_glitch_behind_the_camera_or_far_off_the_picture_is_left_out(bow, towards, distance):
    from dataclasses import replace

    values = bow.values[:30].copy()
    options = RenderOptions(size=(96, 80))
    camera = Renderer(replace(bow, values=values), options).camera
    values[12, :3] += getattr(camera, towards) * distance  # the root (its position channels) thrown that way
    renderer = Renderer(replace(bow, values=values), options)
    assert figure_mask(renderer.frame(12)).mean() < 0.005  # no figure, and no capsule across the picture
    assert figure_mask(renderer.frame(11)).mean() > 0.03


@pytest.mark.parametrize("unit", [1e-9, 1e-7, 0.01, 1e8])
def test_a_skeleton_in_any_unit_is_drawn_alike(bow, unit):
    # The take's offsets and root translation in another unit: the same picture, not a figure reduced to its head.
    from dataclasses import replace

    values = bow.values[:40].copy()
    for joint in bow.joints:
        for column, channel in enumerate(joint.channels):
            if channel.endswith("position"):
                values[:, joint.first_channel + column] *= unit
    joints = [replace(joint, offset=joint.offset * unit) for joint in bow.joints]
    options = RenderOptions(size=(96, 80))
    original = Renderer(replace(bow, values=bow.values[:40]), options)
    rescaled = Renderer(replace(bow, joints=joints, values=values), options)
    assert len(rescaled.figure.bones) == len(original.figure.bones)
    for index in (0, 20, 39):
        assert np.abs(rescaled.frame(index).astype(int) - original.frame(index)).mean() < 0.05


def test_a_rate_off_by_its_rounded_frame_time_keeps_the_last_frame(bow):
    # Frame Time 0.0333333 is 30.000003 fps: at 30 the take keeps every frame, at 60 it gets one between each two.
    from keyframe.motion.render import frame_count

    assert bow.frame_time == 0.0333333
    assert len(Renderer(bow, RenderOptions(size=(16, 16), fps=30))) == len(bow)
    assert len(Renderer(bow, RenderOptions(size=(16, 16), fps=60))) == 2 * len(bow) - 1
    assert frame_count(18001, bow.fps, 30) == 18001  # ten minutes
    assert frame_count(3, 30, 20) == 2 and frame_count(4, 30, 20) == 3  # no frame past the end


def test_ctrl_c_says_nothing_was_kept(tmp_path, monkeypatch, capsys):
    import sys

    from keyframe import cli
    from keyframe.motion.render import Renderer as Drawing

    bvh = tmp_path / "take.bvh"
    bvh.write_text("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                   "JOINT Head\n{\nOFFSET 0 50 0\nEnd Site\n{\nOFFSET 0 10 0\n}\n}\n}\n"
                   "MOTION\nFrames: 4\nFrame Time: 0.04\n0 0 0\n10 0 0\n20 0 0\n30 0 0\n")
    frame = Drawing.frame

    def interrupted(self, index):
        if index == 2:
            raise KeyboardInterrupt
        return frame(self, index)
    monkeypatch.setattr(Drawing, "frame", interrupted)
    monkeypatch.setattr(sys, "argv", ["keyframe", "render-motion", str(bvh), "-o", str(tmp_path / "take.mp4"), "--size", "32x32"])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 130
    stderr = " ".join(capsys.readouterr().err.split())
    assert "interrupted; nothing was kept: render-motion writes the video only once" in stderr
    assert "resumed" not in stderr and stderr.count("interrupted") == 1, stderr
    assert [path.name for path in tmp_path.iterdir()] == ["take.bvh"]


def test_cli_render_motion(tmp_path):
    bvh = shared("motion", "bandai-namco-2", "dataset-2_walk_normal_001.bvh")
    out = tmp_path / "walk.mp4"
    result = run_cli("render-motion", bvh, "-o", out, "--azimuth", "-30", "--size", "48x40", "--fps", "10", "--follow")
    assert result.returncode == 0, result.stderr
    assert open_frames(out).size == (40, 48)
    bad = run_cli("render-motion", bvh, "-o", tmp_path / "x.mp4", "--size", "huge")
    assert bad.returncode == 2 and "--size must look like" in bad.stderr
    assert not (tmp_path / "x.mp4").exists()
    png = run_cli("render-motion", bvh, "-o", tmp_path / "r.png", "--size", "48x40")
    assert png.returncode == 2 and "r.png: the output must be a .mp4 video" in png.stderr
    assert "Traceback" not in png.stderr and not (tmp_path / "r.png").exists()
