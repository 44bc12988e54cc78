"""Searching several videos for a movement: ranking, failures, JSON; and the same from the command line."""

import importlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames, read_image, write_video
from keyframe.motion import ArrayFrames, DetectConfig, detect, search
from keyframe.sample import make_sample
from tests.conftest import run_cli

MOVEMENTS = ("squat", "wave", "march")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A new performer (seed 7) doing each sample movement, as mp4 files, and one too short to score."""
    folder = tmp_path_factory.mktemp("videos")
    paths = {}
    for name in MOVEMENTS:
        paths[name] = folder / f"{name}.mp4"
        write_video(iter(make_sample(name, frames=60, size=(96, 96), seed=7).frames), paths[name], fps=25)
    paths["short"] = folder / "short.mp4"
    write_video(iter(np.zeros((5, 32, 32, 3), np.uint8)), paths["short"], fps=25)
    return paths


def test_search_ranks_the_movement_first_and_lists_what_failed(cohort_model, videos, tmp_path):
    model, path = cohort_model
    notes = []
    found = search(path, [videos[name] for name in MOVEMENTS] + [videos["short"]],
                   progress=lambda done, total, note: notes.append((done, total)))
    assert [d.path for d in found.ranked][0] == str(videos["wave"])
    assert [d.score for d in found.ranked] == sorted((d.score for d in found.ranked), reverse=True)
    # Each video scores as it does on its own.
    assert found.ranked[0].score == pytest.approx(detect(model, videos["wave"]).score, abs=1e-6)
    assert len(found.failed) == 1 and found.failed[0][0] == str(videos["short"]) and "has 5 frames" in found.failed[0][1]
    assert notes[0] == (0, 4) and notes[-1] == (4, 4)
    found.write_json(tmp_path / "search.json")
    data = json.loads((tmp_path / "search.json").read_text())
    assert data["videos"][0]["video"] == str(videos["wave"]) and data["failed"][0]["video"] == str(videos["short"])
    assert data["threshold"] == pytest.approx(model.threshold, abs=1e-6)


def test_clips_given_as_arrays_are_numbered(cohort_model):
    clips = [make_sample(name, frames=40, size=(96, 96), seed=7).frames for name in ("march", "wave")]
    found = search(cohort_model[0], clips)
    assert [d.path for d in found.ranked] == ["<video 2>", "<video 1>"] and not found.failed


def test_a_bad_model_stops_the_search(tmp_path, videos):
    (tmp_path / "bad.kfm").write_bytes(b"not a model")
    with pytest.raises(KeyframeError, match="bad.kfm: not a readable movement model"):
        search(tmp_path / "bad.kfm", [videos["wave"]])


def test_detect_several_videos_from_the_command_line(cohort_model, videos, tmp_path):
    _, model = cohort_model
    report, plots = tmp_path / "search.json", tmp_path / "plots"
    ranked = run_cli("movement", "detect", model, *(videos[name] for name in MOVEMENTS), "--json", report, "--plot", plots)
    assert ranked.returncode == 0, ranked.stderr
    lines = [line for line in ranked.stdout.splitlines() if ".mp4:" in line]
    assert len(lines) == 3 and "wave.mp4: " in lines[0], ranked.stdout
    entries = json.loads(report.read_text())["videos"]
    assert len(entries) == 3 and all(entry["plot"] == str(plots / f"{entry['video'].split('/')[-1][:-4]}.png") for entry in entries)
    assert sorted(p.name for p in plots.iterdir() if not p.name.startswith(".")) == ["march.png", "squat.png", "wave.png"]
    # One video under other spellings, a link to it included, is searched once and plotted under the name first given.
    (tmp_path / "link.mp4").symlink_to(videos["wave"])
    (tmp_path / "hard.mp4").hardlink_to(videos["wave"])
    spelled = [tmp_path / "link.mp4", videos["wave"].parent / ".." / videos["wave"].parent.name / "wave.mp4", videos["wave"],
               tmp_path / "hard.mp4"]
    once = run_cli("movement", "detect", model, *spelled, videos["squat"], "--plot", tmp_path / "once")
    assert once.returncode == 0 and "searched once" in once.stderr, once.stderr
    assert sorted(p.name for p in (tmp_path / "once").iterdir() if not p.name.startswith(".")) == ["link.png", "squat.png"]

    # A video that cannot be scored is reported and the others are still ranked; the exit code says so.
    partial = run_cli("movement", "detect", model, videos["wave"], videos["short"])
    assert partial.returncode == 1 and "short.mp4: has 5 frames" in partial.stderr and "Traceback" not in partial.stderr
    assert "wave.mp4: " in partial.stdout
    # A path that does not exist is a usage error, found before any work.
    missing = run_cli("movement", "detect", model, videos["wave"], tmp_path / "nope.mp4")
    assert missing.returncode == 2 and "nope.mp4: no such file or folder" in missing.stderr
    (tmp_path / "file.png").write_bytes(b"")
    clash = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "file.png")
    assert clash.returncode == 2 and "names a folder" in clash.stderr
    slip = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "plot.png")
    assert slip.returncode == 2 and "plot.png: with several videos --plot names a folder" in " ".join(slip.stderr.split())
    assert not (tmp_path / "plot.png").exists()


@pytest.fixture
def scored(monkeypatch):
    """The videos whose windows get scored (not taken from a journal), one entry per chunk."""
    detect_module = importlib.import_module("keyframe.motion.detect")  # the package's `detect` is the function
    real = detect_module.score_range
    calls = []
    monkeypatch.setattr(detect_module, "score_range",
                        lambda model, source, first, last, *rest: calls.append((str(source.path), first)) or
                        real(model, source, first, last, *rest))
    return calls


def journalled_seconds(journal, video: str) -> float:
    """What the work kept for ``video`` in ``journal`` took when it was done (complete lines only)."""
    total = 0.0
    for line in journal.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("video") == video:
            total += entry["seconds"]
    return total


def test_an_interrupted_search_resumes_from_its_journal(cohort_model, videos, tmp_path, scored):
    model, path = cohort_model
    journal = tmp_path / "search.json.partial"
    clips = [videos[name] for name in MOVEMENTS]
    first = search(path, clips[:2], journal=journal)
    # Interrupted while writing the next line: the cut line is ignored.
    with open(journal, "a") as handle:
        handle.write('{"video": "' + str(clips[2]) + '", "stamp": [1')

    scored.clear()
    again = search(path, clips, journal=journal)
    assert {video for video, _ in scored} == {str(clips[2])}
    kept = {d.path: d for d in again.ranked}
    for detection in first.ranked:
        assert kept[detection.path].score == detection.score
        assert kept[detection.path].intervals == detection.intervals
        assert np.array_equal(kept[detection.path].frame_scores, detection.frame_scores, equal_nan=True)
        # The kept work's seconds count (a wall-clock comparison with the first run would be at a busy
        # machine's mercy): the resumed run reports at least what the journal says the work took.
        assert kept[detection.path].seconds >= journalled_seconds(journal, detection.path) > 0
    assert [d.path for d in again.ranked][0] == str(videos["wave"])

    # A video changed since it was scored is scored again; nothing else is.
    scored.clear()
    stat = clips[0].stat()
    os.utime(clips[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    search(path, clips, journal=journal)
    assert {video for video, _ in scored} == {str(clips[0])}

    # A journal of another model starts afresh.
    scored.clear()
    search(replace(model, threshold=model.threshold + 1), clips, journal=journal)
    assert {video for video, _ in scored} == {str(clip) for clip in clips}

    # A file that is no journal at all is the user's: it is kept aside, not overwritten.
    journal.write_text("my notes\n")
    search(path, clips[:1], journal=journal)
    assert (tmp_path / "search.json.partial.damaged").read_text() == "my notes\n"
    assert journal.read_text().startswith('{"model"')


@pytest.mark.parametrize("crop_seconds", [None, 0.4], ids=["one crop", "crops that follow the motion"])
def test_detect_resumes_a_long_video_from_the_chunk_it_stopped_at(cohort_model, videos, tmp_path, scored, crop_seconds):
    model, _ = cohort_model
    model = replace(model, features=replace(model.features, crop_seconds=crop_seconds))
    config = DetectConfig(chunk=12)  # 60 frames, 51 windows: chunks from 0, 12, 24, 36 and 48
    journal = tmp_path / "wave.json.partial"
    whole = detect(model, videos["wave"], config)
    # Chunks read the frames (and, for crops that follow the motion, the seconds) around them: the same scores.
    np.testing.assert_allclose(whole.window_scores, detect(model, videos["wave"]).window_scores, rtol=1e-5, atol=1e-6)
    scored.clear()

    def interrupt_after_two(progress_done, total, note):
        if note == "scoring windows" and progress_done >= 24:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        detect(model, videos["wave"], config, progress=interrupt_after_two, journal=journal)
    assert [first for _, first in scored] == [0, 12]

    scored.clear()
    resumed = detect(model, videos["wave"], config, journal=journal)
    assert [first for _, first in scored] == [24, 36, 48]
    assert resumed.score == whole.score and np.array_equal(resumed.window_scores, whole.window_scores)
    assert resumed.intervals == whole.intervals
    assert (resumed.resumed_windows, whole.resumed_windows) == (24, 0)


def test_the_command_line_resumes_and_removes_the_journal(cohort_model, videos, tmp_path):
    _, model = cohort_model
    report = tmp_path / "search.json"
    clips = [videos[name] for name in MOVEMENTS]
    search(model, clips[:2], journal=tmp_path / "search.json.partial")
    done = run_cli("movement", "detect", model, *clips, "--json", report)
    assert done.returncode == 0, done.stderr
    assert [v["video"] for v in json.loads(report.read_text())["videos"]][0] == str(videos["wave"])
    assert not (tmp_path / "search.json.partial").exists()
    assert "resumed: 2 videos scored wholly or partly by the interrupted run" in done.stdout + done.stderr
    single = run_cli("movement", "detect", model, clips[0], "--json", tmp_path / "one.json")
    assert single.returncode == 0 and (tmp_path / "one.json").is_file() and not (tmp_path / "one.json.partial").exists()
    assert "resumed" not in single.stdout + single.stderr
    windows = len(detect(model, clips[0], journal=tmp_path / "again.json.partial").window_scores)
    again = run_cli("movement", "detect", model, clips[0], "--json", tmp_path / "again.json")
    assert again.returncode == 0 and json.loads((tmp_path / "again.json").read_text())["score"] == \
        json.loads((tmp_path / "one.json").read_text())["score"]
    assert f"resumed: {windows} windows of {windows} kept from the interrupted run" in again.stdout + again.stderr


def test_paths_are_taken_where_sources_are(cohort_model, videos):
    from keyframe.motion import crop_regions, score_range

    model, path = cohort_model
    whole = detect(model, videos["wave"]).window_scores
    # A model file and a video path, a whole range and a bad one; one video given alone is searched as one.
    assert np.allclose(score_range(path, str(videos["wave"]), 0, len(whole), crop_regions(path, str(videos["wave"]))), whole)
    for first, last in [(10, 5), (3, 3), (-5, 3), (0, len(whole) + 1)]:
        with pytest.raises(KeyframeError, match=f"wave.mp4: has windows 0 .. {len(whole) - 1}; cannot score"):
            score_range(model, videos["wave"], first, last)
    found = search(path, str(videos["wave"]))
    assert [d.path for d in found.ranked] == [str(videos["wave"])] and not found.failed
    # One crop per clip: found once for the whole video and passed to every piece.
    single = replace(model, features=replace(model.features, crop_seconds=None))
    regions = crop_regions(single, videos["wave"])  # plain tuples do as well; a list of another length does not
    assert regions[0] is not None
    assert np.allclose(score_range(single, videos["wave"], 0, 5, [tuple(region) for region in regions]),
                       detect(single, videos["wave"]).window_scores[:5])
    with pytest.raises(ValueError, match="regions: 0 given for a model of 1 feature kinds"):
        score_range(model, videos["wave"], 0, 5, [])
    # A crop that follows the motion (the default) needs nothing found beforehand, and pieces still make the whole.
    assert crop_regions(model, videos["wave"]) == [None]
    following = replace(model, features=replace(model.features, crop_seconds=0.4))
    assert crop_regions(following, videos["wave"]) == [None]
    # Regions that do not fit a part's crop are refused: they would score a piece otherwise than the whole.
    with pytest.raises(ValueError, match="none given for the pixels part, which crops every frame to one region"):
        score_range(single, videos["wave"], 0, 5, [None])
    with pytest.raises(ValueError, match="one given for the pixels part, whose crops follow the motion"):
        score_range(following, videos["wave"], 0, 5, regions)
    scores = detect(following, videos["wave"]).window_scores
    pieces = [score_range(following, videos["wave"], first, last) for first, last in ((0, 7), (7, len(scores)))]
    np.testing.assert_allclose(np.concatenate(pieces), scores, rtol=1e-5, atol=1e-6)
    # Frames that do not give their rate are taken at DetectConfig.default_fps, crop span included.
    frames = open_frames(videos["wave"]).read_range(0, 60)
    at_ten = detect(following, ArrayFrames(frames, fps=10)).window_scores
    np.testing.assert_allclose(detect(following, ArrayFrames(frames), DetectConfig(default_fps=10)).window_scores, at_ten,
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(detect(following, ArrayFrames(frames)).window_scores, at_ten, rtol=1e-5, atol=1e-6)


def test_a_damaged_journal_is_started_afresh_and_a_folder_in_its_place_refused(cohort_model, videos, tmp_path):
    model, _ = cohort_model
    (tmp_path / "j.partial").write_bytes(b"\x00\xff\xfe")
    assert detect(model, videos["wave"], journal=tmp_path / "j.partial").score == detect(model, videos["wave"]).score
    (tmp_path / "k.partial").mkdir()
    with pytest.raises(KeyframeError, match="k.partial: is a folder"):
        detect(model, videos["wave"], journal=tmp_path / "k.partial")


def test_plots_of_several_videos_are_named_in_the_order_given(tmp_path):
    from pathlib import Path

    from keyframe.motion.plot import plot_names

    given = [Path("a/video.mp4"), Path("b/video.mp4"), Path("c/video-2.mp4")]
    assert plot_names(given) == ["video.png", "video-3.png", "video-2.png"]  # no name is given twice


def test_detect_refuses_a_plot_that_is_not_a_png_and_an_output_that_is_an_input(cohort_model, videos, tmp_path):
    _, model = cohort_model
    done = run_cli("movement", "detect", model, videos["wave"], "--plot", tmp_path / "curve")
    assert done.returncode == 2 and "curve: a plot is written as a PNG; give a name ending in .png" in done.stderr
    done = run_cli("movement", "detect", model, videos["wave"], "--json", model)
    assert done.returncode == 2 and "is also an input; the output would overwrite it" in done.stderr
    assert not list(tmp_path.iterdir())


def test_one_video_with_a_folder_of_plots_gets_its_plot_in_it(cohort_model, videos, tmp_path):
    # `detect model videos/*.mp4 --plot plots/` where the glob matched one video: a plot in the folder, as with several.
    _, model = cohort_model
    (tmp_path / "plots").mkdir()
    done = run_cli("movement", "detect", model, videos["wave"], "--json", tmp_path / "found.json", "--plot", tmp_path / "plots")
    assert done.returncode == 0, done.stderr
    plots = list((tmp_path / "plots").glob("*.png"))
    assert [path.name for path in plots] == [f"{Path(videos['wave']).stem}.png"]
    assert read_image(plots[0]).shape[2] == 3
    found = json.loads((tmp_path / "found.json").read_text())
    assert "frame_scores" in found and found["plot"] == str(plots[0])  # one video's detection, naming its plot
    assert f"plot: {plots[0]}" in done.stdout
    done = run_cli("movement", "detect", model, videos["wave"], "--plot", tmp_path / "new")
    assert done.returncode == 2 and "give a name ending in .png, or an existing folder" in done.stderr
    # Into an earlier search's folder, the one video's plot is added: the others stay (a picture of one's own there
    # is refused before any work, as with several videos).
    done = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "search")
    assert done.returncode == 0, done.stderr
    squat = (tmp_path / "search" / "squat.png").read_bytes()
    (tmp_path / "search" / "notes.txt").write_text("mine")  # added by hand: kept, never taken for a plot
    done = run_cli("movement", "detect", model, videos["march"], "--plot", tmp_path / "search")
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in (tmp_path / "search").glob("*.png")) == ["march.png", "squat.png", "wave.png"]
    assert (tmp_path / "search" / "squat.png").read_bytes() == squat
    assert "notes.txt" not in (tmp_path / "search" / ".keyframe-outputs.json").read_text()
    assert not (tmp_path / "search.partial").exists()
    done = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "search")
    assert sorted(path.name for path in (tmp_path / "search").glob("*.png")) == ["squat.png", "wave.png"]  # a search: its own
    assert (tmp_path / "search" / "notes.txt").read_text() == "mine"


def test_outputs_inside_an_input_folder_or_among_other_files_are_refused_before_any_work(cohort_model, videos, tmp_path):
    from keyframe.io import write_image
    from keyframe.motion.plot import PLOTS_KIND

    _, model = cohort_model
    frames = tmp_path / "frames"
    for index, frame in enumerate(make_sample("wave", frames=30, size=(96, 96), seed=3).frames):
        write_image(frames / f"{index:06d}.png", frame)
    before = sorted(p.name for p in frames.iterdir())
    for option in ("--json", "--plot"):
        done = run_cli("movement", "detect", model, frames, option, frames / "000001.png")
        assert done.returncode == 2 and f"lies inside the input folder {frames}" in done.stderr, done.stderr
    assert sorted(p.name for p in frames.iterdir()) == before
    both = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "p", "--json",
                   tmp_path / "p" / "found.json")
    assert both.returncode == 2 and "lies inside the --plot folder" in both.stderr and "ranked" not in both.stdout
    same = run_cli("movement", "detect", model, videos["wave"], "--plot", tmp_path / "x.png", "--json", tmp_path / "x.png")
    assert same.returncode == 2 and "given as both --json and --plot" in same.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    done = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", mine)
    assert done.returncode == 2 and "mine: holds files keyframe did not write" in done.stderr and "ranked" not in done.stdout
    done = run_cli("movement", "detect", model, videos["wave"], videos["squat"], "--plot", tmp_path / "plots")
    assert done.returncode == 0 and sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        ".keyframe-outputs.json", "squat.png", "wave.png"]
    assert PLOTS_KIND in (tmp_path / "plots" / ".keyframe-outputs.json").read_text()


def test_a_threshold_given_at_detection_moves_only_the_verdict(cohort_model, videos, tmp_path, scored):
    model, path = cohort_model
    own = detect(model, videos["wave"])
    assert own.threshold == pytest.approx(model.threshold) and "calibrated_threshold" not in own.extra
    above = detect(model, videos["wave"], DetectConfig(threshold=own.score + 0.01))
    lowest = float(np.nanmin(own.frame_scores))
    below = detect(model, videos["wave"], DetectConfig(threshold=lowest - 1))
    for given in (above, below):
        assert np.array_equal(given.window_scores, own.window_scores) and given.score == own.score
        assert given.to_dict()["calibrated_threshold"] == pytest.approx(model.threshold, abs=1e-6)
    assert not above.detected and above.threshold == own.score + 0.01
    assert below.detected and below.intervals == [[0, len(own.frame_scores) - 1]]

    # A search with another threshold resumes from the journal of the first: the scores are the same.
    journal = tmp_path / "search.json.partial"
    search(path, [videos["wave"]], journal=journal)
    scored.clear()
    found = search(path, [videos["wave"]], DetectConfig(threshold=own.score + 0.01), journal=journal)
    assert scored == [] and found.threshold == own.score + 0.01 and not found.ranked[0].detected
    with pytest.raises(KeyframeError, match="--threshold must be a finite number, got nan"):
        DetectConfig(threshold=float("nan"))
    with pytest.raises(KeyframeError, match="--threshold must be a finite number, got '0.5'"):  # not a TypeError
        DetectConfig(threshold="0.5")


def test_a_threshold_from_the_command_line(cohort_model, videos, tmp_path):
    model, path = cohort_model
    score = detect(model, videos["wave"]).score
    given = run_cli("movement", "detect", path, videos["wave"], "--threshold", f"{score + 0.01:.6f}", "--json",
                    tmp_path / "wave.json")
    assert given.returncode == 0, given.stderr
    assert "not detected" in given.stdout and "the model's own" in given.stdout, given.stdout
    data = json.loads((tmp_path / "wave.json").read_text())
    assert data["threshold"] == pytest.approx(score + 0.01, abs=1e-5) and data["detected"] is False
    assert data["calibrated_threshold"] == pytest.approx(model.threshold, abs=1e-5)
    bad = run_cli("movement", "detect", path, videos["wave"], "--threshold", "inf")
    assert bad.returncode == 2 and "--threshold must be a finite number, got inf" in bad.stderr
    assert "Traceback" not in bad.stderr
    # A search keeps the model's own threshold beside the given one, even when no video could be scored.
    (tmp_path / "empty").mkdir()
    failed = run_cli("movement", "detect", path, tmp_path / "empty", tmp_path / "wave.json", "--threshold", "0.5",
                     "--json", tmp_path / "search.json")
    assert failed.returncode == 1 and "the model's own" in failed.stdout, failed.stdout
    data = json.loads((tmp_path / "search.json").read_text())
    assert data["videos"] == [] and len(data["failed"]) == 2 and data["threshold"] == 0.5
    assert data["calibrated_threshold"] == pytest.approx(model.threshold, abs=1e-5)


def test_a_landmark_model_without_mediapipe_stops_the_search_before_any_video(wave_model, wave_clip, monkeypatch):
    """Every video would fail alike, and a list of failures reads as bad videos: the model is what cannot run."""
    import copy
    import sys

    from keyframe.motion import FeatureConfig

    model = copy.copy(wave_model[0])
    model.features = FeatureConfig("pose")  # never scored: the check comes before any frame is read
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # `import mediapipe` then raises ImportError
    with pytest.raises(KeyframeError, match=r"^the model: its pose features cannot be made here: install mediapipe"):
        search(model, [wave_clip[:30], wave_clip[:30]])
    with pytest.raises(KeyframeError, match=r"^the model: its pose features cannot be made here"):
        detect(model, wave_clip[:30])
