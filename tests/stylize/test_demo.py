from keyframe.io import open_frames
from keyframe.stylize import demo


def test_demo_stylizes_figure_and_background_and_writes_a_video(tmp_path):
    lines = []
    summary = demo(tmp_path, log=lines.append, iterations=10, frames=6)
    assert summary["frames"] == 6 and summary["segments"] == {"255": "cartoon", "0": "stylization"}
    assert len(open_frames(tmp_path / "stylized.mp4")) == 6
    assert (tmp_path / "stylized" / "models" / "segment-255.pt").is_file()
    assert (tmp_path / "stylized" / "models" / "segment-0.pt").is_file()
    assert 0 < summary["ssim_stylized"] <= 1 and len(lines) == 2
    assert not summary["models_kept"] and "(training " in lines[-1]
    # Run again once finished: the models are the earlier run's, and the printout says so instead of "training 0.0 s".
    again = []
    rerun = demo(tmp_path, log=again.append, iterations=10, frames=6)
    assert rerun["models_kept"] and "(the earlier run's models, kept)" in again[-1], again[-1]
    assert rerun["ssim_stylized"] == summary["ssim_stylized"]
    assert summary["render_fps"] > 0 and rerun["render_fps"] is None  # every frame kept: no rate (and no NaN in JSON)
