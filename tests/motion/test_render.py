"""The shaded-humanoid renderer and render-motion."""

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


def test_bad_options():
    with pytest.raises(KeyframeError, match="--size"):
        RenderOptions(size=(8, 8)).check()
    with pytest.raises(KeyframeError, match="--elevation"):
        RenderOptions(elevation=95).check()


def test_render_motion_writes_every_frame(tmp_path, bow):
    out = tmp_path / "bow.mp4"
    summary = render_motion(bow, out, RenderOptions(size=(48, 48), fps=10))
    source = open_frames(out)
    assert summary["frames"] == len(source) == int((len(bow) - 1) / bow.fps * 10) + 1
    assert source.size == (48, 48)


def test_cli_render_motion(tmp_path):
    bvh = shared("motion", "bandai-namco-2", "dataset-2_walk_normal_001.bvh")
    out = tmp_path / "walk.mp4"
    result = run_cli("render-motion", bvh, "-o", out, "--azimuth", "-30", "--size", "48x40", "--fps", "10", "--follow")
    assert result.returncode == 0, result.stderr
    assert open_frames(out).size == (40, 48)
    bad = run_cli("render-motion", bvh, "-o", tmp_path / "x.mp4", "--size", "huge")
    assert bad.returncode == 2 and "--size must look like" in bad.stderr
    assert not (tmp_path / "x.mp4").exists()
