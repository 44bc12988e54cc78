"""The segmentation demo on a shortened sample."""

from keyframe.io import open_frames
from keyframe.segment.demo import demo


def test_demo_reports_scores(tmp_path):
    lines = []
    # The demo's own members minus the UNet (covered elsewhere), to stay fast.
    summary = demo(tmp_path, log=lines.append, frames=12, size=(160, 120), methods=("flow", "grabcut"))
    assert 0.5 < summary["JF"] <= 1.0 and summary["given"] == [0, 6]
    assert "J&F" in lines[0]
    assert (tmp_path / "masks").is_dir()
    assert open_frames(tmp_path / "masks.mp4").size == (120, 160) and len(open_frames(tmp_path / "masks.mp4")) == 12
    assert len(open_frames(tmp_path / "cutout.mov")) == 12
