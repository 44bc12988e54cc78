"""``keyframe demo`` rebuilds its own folder, made by any version."""

import numpy as np

from keyframe.demo import DEMO_PARTS, _clear_earlier_demo
from keyframe.io import write_video


def test_an_earlier_demo_is_cleared_and_other_files_are_kept(tmp_path):
    (tmp_path / "summary.json").write_text('{"sample": {}, "segment": {}, "stylize": {}, "movement": {}, "seconds": 1}')
    (tmp_path / "sample" / "frames").mkdir(parents=True)
    (tmp_path / "sample" / "frames" / "000000.png").write_text("old")  # an earlier version listed nothing
    (tmp_path / "segment.partial").mkdir()
    (tmp_path / "reencoded.mp4").write_text("old")
    (tmp_path / "notes.txt").write_text("mine")
    _clear_earlier_demo(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "summary.json"]
    assert "sample" in DEMO_PARTS


def test_a_folder_without_the_demo_s_summary_is_left_alone(tmp_path):
    (tmp_path / "sample").mkdir()
    _clear_earlier_demo(tmp_path)
    (tmp_path / "summary.json").write_text('{"sample": 1}')  # someone else's summary
    _clear_earlier_demo(tmp_path)
    assert (tmp_path / "sample").is_dir()


def test_a_demo_of_this_version_is_left_to_replace_its_outputs_part_by_part(tmp_path):
    (tmp_path / "summary.json").write_text('{"sample": {}, "segment": {}, "stylize": {}, "movement": {}, "seconds": 1}')
    (tmp_path / "sample").mkdir()
    (tmp_path / "sample" / ".keyframe-outputs.json").write_text('{"kind": "sample", "files": []}')
    (tmp_path / "segment").mkdir()
    (tmp_path / "segment" / "my_notes.txt").write_text("mine")
    (tmp_path / "segment" / "my_edit.mp4").write_text("mine")
    (tmp_path / "segment" / "masks.mp4").write_text("a video of a version that did not tag its videos")
    write_video(np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "reencoded.mp4", fps=25)  # tagged: it stays to be replaced
    _clear_earlier_demo(tmp_path)
    assert (tmp_path / "segment" / "my_notes.txt").read_text() == "mine"
    assert (tmp_path / "segment" / "my_edit.mp4").read_text() == "mine"
    assert not (tmp_path / "segment" / "masks.mp4").exists() and (tmp_path / "reencoded.mp4").is_file()


def test_a_folder_of_other_files_is_refused_before_any_work(tmp_path):
    import pytest

    from keyframe.demo import run_demo
    from keyframe.errors import KeyframeError

    (tmp_path / "summary.json").write_text("mine")
    (tmp_path / "reencoded.mp4").write_text("mine")
    with pytest.raises(KeyframeError, match="holds files the demo did not write"):
        run_demo(tmp_path, log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reencoded.mp4", "summary.json"]
    assert (tmp_path / "summary.json").read_text() == "mine"


def test_a_demo_stopped_before_its_summary_is_run_again_in_its_folder(tmp_path, monkeypatch):
    import pytest

    import keyframe.demo as demo

    def stopped(out_dir, log):
        (out_dir / "given_masks").mkdir(parents=True)  # what a pipeline's demo writes as it goes
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "pipeline_demos", lambda: [("segment", stopped)])
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(tmp_path / "out", log=lambda line: None)
    assert not (tmp_path / "out" / "summary.json").exists()
    monkeypatch.setattr(demo, "pipeline_demos", lambda: [("segment", lambda out_dir, log: {"done": True})])
    summary = demo.run_demo(tmp_path / "out", log=lambda line: None)
    assert summary["segment"] == {"done": True} and (tmp_path / "out" / "summary.json").is_file()


def test_a_stopped_demo_keeps_the_pipelines_it_finished_and_a_finished_one_is_made_afresh(tmp_path, monkeypatch):
    import pytest

    import keyframe.demo as demo

    runs = []

    def pipeline(name, stop=False):
        def run(out_dir, log):
            runs.append(name)
            out_dir.mkdir(parents=True, exist_ok=True)
            if stop:
                raise KeyboardInterrupt
            return {"name": name}
        return run

    monkeypatch.setattr(demo, "pipeline_demos", lambda: [("segment", pipeline("segment")), ("stylize", pipeline("stylize", True))])
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(tmp_path / "out", log=lambda line: None)
    monkeypatch.setattr(demo, "pipeline_demos", lambda: [("segment", pipeline("segment")), ("stylize", pipeline("stylize"))])
    lines = []
    summary = demo.run_demo(tmp_path / "out", log=lines.append)
    assert runs == ["segment", "stylize", "stylize"]  # segment, finished before the stop, was not made again
    assert summary["segment"] == {"name": "segment"} and "segment: kept from the demo that was stopped" in lines
    demo.run_demo(tmp_path / "out", log=lambda line: None)
    assert runs[3:] == ["segment", "stylize"]  # a finished demo run again is made afresh
    monkeypatch.setattr(demo, "pipeline_demos", lambda: [("segment", pipeline("segment", True))])
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(tmp_path / "out", log=lambda line: None)
    assert not (tmp_path / "out" / "summary.json").exists()  # the earlier summary no longer says what is there
