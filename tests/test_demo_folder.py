"""``keyframe demo`` rebuilds its own folder, made by any version."""

from keyframe.demo import DEMO_PARTS, _clear_earlier_demo


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
    _clear_earlier_demo(tmp_path)
    assert (tmp_path / "segment" / "my_notes.txt").read_text() == "mine"
