"""The movement part of `keyframe demo`."""

import json

from keyframe.motion import demo


def test_demo_learns_and_scores_every_sample_movement(tmp_path):
    summary = demo(tmp_path, log=None)
    assert summary["clips"] == 4 and summary["correct"] == 4 and set(summary["results"]) == {"wave", "squat", "jumping_jack", "march"}
    assert (tmp_path / "movement.kfm").is_file() and (tmp_path / "scores-wave.png").is_file()
    assert json.loads((tmp_path / "movement.json").read_text())["learned"] == "wave"
