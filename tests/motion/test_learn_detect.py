"""Learning a movement, the model file, detection and its outputs."""

import importlib
import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.motion import features as features_module
from keyframe.motion import (ArrayFrames, FeatureConfig, FeatureExtractor, calibrate, detect, detect_features, frame_scores,
                             intervals, learn, load_model)
from keyframe.motion.cohort import MIN_SPREAD, impostor_stats, relative_scores
from keyframe.motion.detect import DetectConfig, clip_score, window_scores
from keyframe.motion.learn import _split, fusion_weights
from keyframe.motion.model import VERSION
from keyframe.motion.predictor import Choice, NetConfig, Span, search_space
from keyframe.motion.plot import label_spot, plot_detection
from keyframe.io import open_frames
from keyframe.sample import make_sample
from tests.conftest import write_vfr_video
from tests.motion.conftest import FAST


def test_holdout_blocks_are_not_trained_on():
    features = np.arange(100, dtype=np.float32)[:, None]
    warped, val, plain, train_frames = _split(features, 9, 0.2, (1.0,), "clip")
    held = set(val[0][:, :, 0].ravel().tolist()) | set(val[1][:, :, 0].ravel().tolist())
    trained = set(train_frames[:, 0].tolist())
    # Held-out blocks are spread over the clip, not only its end.
    starts = val[0][:, 0, 0]
    assert starts.min() < 30 and starts.max() > 60
    # Training windows share at most half a window with any held-out window.
    for window in plain[0][0][:, :, 0]:
        overlap = max(len(set(window.tolist()) & set(v.tolist())) for v in val[0][:, :, 0])
        assert overlap <= 9 // 2 + 1
    assert len(held - trained) > 0


def test_model_round_trip_gives_the_same_scores(wave_model, wave_clip):
    model, path = wave_model
    loaded = load_model(path)
    assert loaded.threshold == pytest.approx(model.threshold)
    assert loaded.features == model.features and loaded.window == model.window
    a, b = detect(model, wave_clip[:40]), detect(loaded, wave_clip[:40])
    np.testing.assert_allclose(a.frame_scores, b.frame_scores, rtol=1e-5, atol=1e-6)


def test_learned_movement_outscores_another(wave_model):
    model, _ = wave_model
    # Same performer and background: the wave scores above a squat.
    wave = detect(model, make_sample("wave", frames=60, size=(96, 96), seed=100).frames[10:])
    squat = detect(model, make_sample("squat", frames=60, size=(96, 96), seed=100).frames)
    assert wave.score > squat.score
    assert model.calibration["positive_windows"] > 0 and np.isfinite(model.threshold)


def test_detection_json_has_the_contract(wave_model, wave_clip, tmp_path):
    model, _ = wave_model
    result = detect(model, wave_clip[:30])
    data = result.to_dict()
    for key in ("score", "detected", "threshold", "frame_scores", "intervals"):
        assert key in data
    assert len(data["frame_scores"]) == 30 and isinstance(data["detected"], bool)
    assert data["detected"] == (data["score"] >= data["threshold"])
    assert data["video"] == result.video == result.path  # the attribute answers to the JSON's name as well
    result.write_json(tmp_path / "r.json")
    plot_detection(result, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_plot_takes_names_that_are_not_utf8(wave_model, wave_clip, tmp_path):
    # Such names reach Python as surrogates, on which OpenCV's text and file calls crash the process.
    model, _ = wave_model
    result = replace(detect(model, wave_clip[:30]), path=os.fsdecode(b"clip\xff.mp4"))
    target = tmp_path / os.fsdecode(b"plot\xff.png")
    plot_detection(result, target)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_frame_scores_and_intervals():
    scores = frame_scores(np.array([1.0, 1.0, 0.0, 0.0]), frames=7, length=3)
    assert scores.tolist() == [1.0, 1.0, 2 / 3, 0.5, 1 / 3, 0.0, 0.0]
    assert intervals(np.array([0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9]), 0.5, 3, 1) == [[0, 5]]
    assert intervals(np.array([np.nan, 0.9, 0.9]), 0.5, 3, 0) == []
    with pytest.raises(KeyframeError, match="intervals min_length must be a whole number >= 1, got -2"):
        intervals(np.array([0.9]), 0.5, -2, 0)
    with pytest.raises(KeyframeError, match="intervals max_gap must be a whole number >= 0, got -1"):
        intervals(np.array([0.9]), 0.5, 1, -1)
    assert clip_score(np.array([0.0, 1.0, 1.0, 0.0]), span=2) == 1.0


def test_calibrate_separates_positives_from_negatives():
    threshold, stats = calibrate(np.array([0.5, 0.6, 0.7]), np.array([-0.2, 0.0, 0.1]))
    assert 0.1 < threshold < 0.5 and stats["balanced_accuracy"] == 1.0
    # Without negatives: a factor e in prediction error below the held-out lower quartile.
    threshold, stats = calibrate(np.array([0.4, 0.6, 0.8]))
    assert threshold == pytest.approx(0.5 - 1.0) and stats["positive_windows"] == 3


def test_negatives_and_search(wave_clip):
    squat = make_sample("squat", frames=40, size=(96, 96), seed=100).frames
    config = replace(FAST, trials=2, search_epochs=3, net=replace(FAST.net, epochs=3, min_epochs=1))
    model = learn([wave_clip[:50]], config, negatives=[squat])
    # The threshold sees only the negative's held-out windows: its own cohort model trained on the rest.
    assert 0 < model.calibration["negative_windows"] < len(squat) - 9
    assert len(model.cohort) == 1
    assert model.info["search"]["trials"] == 2 and "hidden" in model.info["search"]["best_params"]


def test_a_search_from_the_largest_seed_wraps_its_samplers_seeds(wave_clip):
    from keyframe.errors import MAX_SEED

    config = replace(FAST, trials=2, search_epochs=2, net=replace(FAST.net, epochs=2, min_epochs=1, seed=MAX_SEED))
    assert learn([wave_clip[:40]], config).info["search"]["trials"] == 2


def test_a_negative_that_shows_frames_of_a_clip_of_the_movement_is_refused_before_any_work(wave_clip, tmp_path):
    from keyframe.io import write_video
    from keyframe.motion import Stretch

    clip = tmp_path / "wave.mp4"
    write_video(iter(wave_clip), clip, fps=25)
    os.link(clip, tmp_path / "wave-link.mp4")
    for negative in (clip, tmp_path / "." / "wave.mp4", Stretch(clip, 20, 50), tmp_path / "wave-link.mp4"):
        with pytest.raises(KeyframeError, match="wave(-link)?.mp4.*: is also a clip of the movement .*negatives must show other"):
            learn([Stretch(clip, 0, 35)], FAST, negatives=[negative])
    with pytest.raises(KeyframeError, match="is also a clip of the movement"):
        learn([wave_clip], FAST, negatives=[wave_clip])
    # Another stretch of the same video (a long recording: the movement here, others there) is a negative.
    model = learn([Stretch(clip, 0, 35)], FAST, negatives=[Stretch(clip, 35, 70)])
    assert len(model.cohort) == 1
    # The frames of that video by another path: a folder whose video.json names it (frames extract's).
    from keyframe.io import ExtractOptions, extract_frames

    extract_frames(clip, tmp_path / "frames")
    with pytest.raises(KeyframeError, match="frames: is also a clip of the movement .*wave.mp4"):
        learn([clip], FAST, negatives=[tmp_path / "frames"])
    # Frames of other seconds of it, extracted apart, are a negative like another stretch.
    extract_frames(clip, tmp_path / "first", ExtractOptions(end=35))
    extract_frames(clip, tmp_path / "rest", ExtractOptions(start=35))
    assert len(learn([tmp_path / "first"], FAST, negatives=[tmp_path / "rest"]).cohort) == 1
    # A stretch learned from the video and those frames, or a folder of frames that overlaps it, are the same
    # footage (a stretch was taken for none of it, and its own frames were accepted as its counter-example).
    for negative in (tmp_path / "first", tmp_path / "rest"):
        with pytest.raises(KeyframeError, match=f"{negative.name}: is also a clip of the movement .*wave.mp4 frames 0-39"):
            learn([Stretch(clip, 0, 40)], FAST, negatives=[negative])
    assert len(learn([Stretch(clip, 35, 70)], FAST, negatives=[tmp_path / "first"]).cohort) == 1


def test_the_defaults_lie_inside_the_search_space():
    # The search's first trial is the defaults: one outside its range is a setting TPE never comes back to.
    space = search_space(image_features=True)
    assert set(space) <= set(NetConfig.__dataclass_fields__)
    assert [name for name, dimension in space.items() if getattr(NetConfig(), name) not in dimension] == []
    assert 0.5 not in Span(0.0, 0.2) and 3 in Span(1, 3, integer=True) and 48 not in Choice((32, 64))
    assert "shift" not in search_space(image_features=False)


def test_cohort_scores_rank_the_movement_first_on_a_new_performer(cohort_model):
    model, path = cohort_model
    assert len(model.cohort) == 3 and all(member.spread > 0 for member in model.cohort)
    # Another seed: another figure, background and timing than any clip learned from.
    scores = {name: detect(model, make_sample(name, frames=60, size=(96, 96), seed=7).frames).score
              for name in ("wave", "squat", "jumping_jack", "march")}
    assert max(scores, key=scores.get) == "wave", scores
    assert model.calibration["balanced_accuracy"] == 1.0
    # The cohort travels with the file: the same scores after loading.
    clip = make_sample("squat", frames=30, size=(96, 96), seed=7).frames
    np.testing.assert_allclose(detect(load_model(path), clip).frame_scores, detect(model, clip).frame_scores, rtol=1e-5, atol=1e-6)


def test_relative_scores_are_z_scores_against_the_best_cohort_model():
    own = np.array([1.0, 1.0])
    others = [np.array([0.0, 3.0]), np.array([1.0, 0.0])]
    scores = relative_scores(own, (0.0, 1.0), others, [(0.0, 1.0), (0.0, 2.0)])
    # Window 1: cohort z-scores 0 and 0.5; window 2: 3 and 0.
    np.testing.assert_allclose(scores, [0.5, -2.0])
    assert impostor_stats(np.zeros(5)) == (0.0, MIN_SPREAD)


def test_two_feature_kinds_combine_their_scores(wave_clip, tmp_path, monkeypatch):
    squat = make_sample("squat", frames=40, size=(96, 96), seed=100).frames
    config = replace(FAST, partners=(FeatureConfig("cnn", cnn_size=64),))
    model = learn([wave_clip[:50]], config, negatives=[squat], out=tmp_path / "fused.kfm")
    pixels, cnn = model.parts()
    assert (pixels.features.kind, cnn.features.kind) == ("pixels", "cnn")
    assert sum(model.weights) == pytest.approx(1.0) and all(0 < w < 1 for w in model.weights)
    assert len(pixels.cohort) == len(cnn.cohort) == 1 and model.info["features"] == "pixels+cnn"
    clip = wave_clip[50:]
    passes = []
    find_motion = features_module.motion_profiles
    monkeypatch.setattr(features_module, "motion_profiles", lambda *a, **k: passes.append(1) or find_motion(*a, **k))
    result = detect(model, clip)
    assert len(passes) == 1, "both kinds crop to the moving region: it is found once"
    monkeypatch.undo()
    # The fused window scores are the smaller of each kind's own in units of its spread, and survive the round trip
    # through the file.
    extracted = [FeatureExtractor(part.features).extract(ArrayFrames(clip)) for part in model.parts()]
    own = [window_scores(part, features) for part, (features, _) in zip(model.parts(), extracted)]
    standardised = [2 * model.weights[0] * own[0], 2 * model.weights[1] * own[1]]
    assert model.fusion == "min"
    np.testing.assert_allclose(result.window_scores, np.minimum(*standardised), rtol=1e-5, atol=1e-5)
    loaded = load_model(tmp_path / "fused.kfm")
    np.testing.assert_allclose(detect(loaded, clip).window_scores, result.window_scores, rtol=1e-5, atol=1e-6)
    # Features extracted once per kind give the same verdict; one extraction for two kinds is refused.
    assert detect_features(model, extracted, fps=25).score == pytest.approx(result.score, abs=1e-5)
    with pytest.raises(KeyframeError, match="1 feature extractions for a model of 2 feature kinds"):
        detect_features(model, extracted[0], fps=25)
    with pytest.raises(KeyframeError, match="lists a kind twice"):
        replace(FAST, partners=(FeatureConfig("pixels"),))
    # Learned with fusion="mean", the same kinds are averaged instead.
    mean = learn([wave_clip[:50]], replace(config, fusion="mean"), negatives=[squat])
    np.testing.assert_allclose(detect(mean, clip).window_scores, (standardised[0] + standardised[1]) / 2, rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(KeyframeError, match="--fusion must be one of min, mean, got 'max'"):
        replace(config, fusion="max")
    # Files of format 6 and before averaged the kinds; an unknown fusion is a damaged file.
    archive = torch.load(tmp_path / "fused.kfm", weights_only=True)
    torch.save({**{k: v for k, v in archive.items() if k != "fusion"}, "version": 6}, tmp_path / "v6.kfm")
    assert load_model(tmp_path / "v6.kfm").fusion == "mean"
    torch.save({**archive, "fusion": "max"}, tmp_path / "max.kfm")
    with pytest.raises(KeyframeError, match="max.kfm: damaged movement model .*unknown fusion 'max'"):
        load_model(tmp_path / "max.kfm")


def test_fusion_weights_put_every_kind_in_units_of_its_spread():
    rng = np.random.default_rng(0)
    narrow, wide = rng.normal(0, 1, 500), rng.normal(3, 4, 500)
    weights = fusion_weights([narrow, wide])
    assert sum(weights) == pytest.approx(1.0)
    assert weights[0] / weights[1] == pytest.approx(np.std(wide) / np.std(narrow))
    # Scores that hardly vary cannot take all the weight.
    assert fusion_weights([np.zeros(10), np.zeros(10)]) == [0.5, 0.5]
    assert fusion_weights([np.zeros(10), np.array([0.0, MIN_SPREAD * 2] * 5)])[0] == pytest.approx(0.5, abs=0.01)


def _as_version_4(archive: dict) -> dict:
    """A current archive in the layout of format version 4: each predictor's numbers in fields of their own."""
    def fields(record):
        mse, dssim, still = record["refs"]
        return {"state": record["state"], "ref_mse": mse, "ref_dssim": dssim, "ref_still": still}

    own = archive["own"]
    cohort = [{**fields(m), "mean": m["mean"], "spread": m["spread"], "source": m["source"]} for m in archive["cohort"]]
    rest = {k: v for k, v in archive.items() if k != "own"}
    rest["features"] = {k: v for k, v in archive["features"].items() if k != "crop_seconds"}  # came with version 9
    return {**rest, **fields(own), "impostor": [own["mean"], own["spread"]], "cohort": cohort, "version": 4}


def test_model_files_of_earlier_versions_still_load(cohort_model, wave_clip, tmp_path):
    model, path = cohort_model
    old = _as_version_4(torch.load(path, weights_only=True))
    torch.save(old, tmp_path / "v4.kfm")
    loaded = load_model(tmp_path / "v4.kfm")
    assert loaded.own.refs == pytest.approx(model.own.refs) and loaded.cohort[0].stats == pytest.approx(model.cohort[0].stats)
    one_crop = replace(model, features=replace(model.features, crop_seconds=None))  # as every model before version 9
    np.testing.assert_allclose(detect(loaded, wave_clip[:40]).frame_scores, detect(one_crop, wave_clip[:40]).frame_scores,
                               rtol=1e-5, atol=1e-6)
    assert loaded.features.pose_frame == "image"  # pose models before version 6 used image landmarks
    current = torch.load(path, weights_only=True)
    features = {k: v for k, v in current["features"].items() if k != "pose_frame"}
    torch.save({**current, "features": features, "version": 5}, tmp_path / "v5.kfm")
    assert load_model(tmp_path / "v5.kfm").features.pose_frame == "image"
    assert load_model(path).features.pose_frame == "body"
    features = {k: v for k, v in current["features"].items() if k != "crop_seconds"}
    torch.save({**current, "features": features, "version": 8}, tmp_path / "v8.kfm")
    # One crop per clip, as before version 9; since then each frame is cut to what moves within 5 s of it.
    assert load_model(tmp_path / "v8.kfm").features == replace(load_model(path).features, crop_seconds=None)
    assert load_model(path).features.crop_seconds == 5.0
    # Version 3 came before cohorts.
    torch.save({**{k: v for k, v in old.items() if k not in ("cohort", "impostor")}, "version": 3}, tmp_path / "v3.kfm")
    loaded = load_model(tmp_path / "v3.kfm")
    assert loaded.cohort == [] and loaded.own.stats == (0.0, 1.0) and loaded.threshold == pytest.approx(model.threshold)


def test_short_and_empty_clips_are_refused(wave_clip, wave_model):
    with pytest.raises(KeyframeError, match="has 12 frames"):
        learn([wave_clip[:12]], FAST)
    with pytest.raises(KeyframeError, match="has 9 frames; a window of 9"):
        detect(wave_model[0], wave_clip[:9])


def test_damaged_and_foreign_models(tmp_path, wave_model):
    _, path = wave_model
    data = path.read_bytes()
    (tmp_path / "cut.kfm").write_bytes(data[: len(data) // 2])
    with pytest.raises(KeyframeError, match="cut.kfm: not a readable movement model"):
        load_model(tmp_path / "cut.kfm")
    archive = torch.load(path, weights_only=True)
    torch.save({**archive, "version": VERSION + 1}, tmp_path / "future.kfm")
    with pytest.raises(KeyframeError, match=f"future.kfm: movement model format version {VERSION + 1}"):
        load_model(tmp_path / "future.kfm")
    torch.save({**archive, "own": {**archive["own"], "state": {"encode.weight": torch.zeros(1)}}}, tmp_path / "broken.kfm")
    with pytest.raises(KeyframeError, match="broken.kfm: damaged movement model"):
        load_model(tmp_path / "broken.kfm")
    torch.save({"weights": 1}, tmp_path / "other.kfm")
    with pytest.raises(KeyframeError, match="other.kfm: not a keyframe movement model"):
        load_model(tmp_path / "other.kfm")
    for name, content in [("text.kfm", b"apple\n"), ("riff.kfm", b"RIFF\x00\x00\x00\x00AVI LIST"), ("tiny.kfm", b"t")]:
        (tmp_path / name).write_bytes(content)  # the unpickler raised IndexError on these
        with pytest.raises(KeyframeError, match=f"{name}: not a readable movement model"):
            load_model(tmp_path / name)


def test_pose_features_need_mediapipe():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        from keyframe.motion import FeatureConfig, FeatureExtractor

        with pytest.raises(KeyframeError, match="mediapipe"):
            FeatureExtractor(FeatureConfig("pose"))
    else:
        pytest.skip("mediapipe is installed")


def test_folder_without_frames(tmp_path, wave_model):
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyframeError, match="empty"):
        detect(wave_model[0], tmp_path / "empty")


def test_a_still_clip_is_marked_down_by_the_motion_penalty(wave_model, wave_clip):
    model, _ = wave_model
    assert model.own.refs[2] > 0 and model.motion_weight > 0  # persistence's held-out error
    still = np.repeat(wave_clip[:1], 30, axis=0)  # the first frame held: persistence is perfect
    penalised = detect(model, still)
    plain = detect(replace(model, motion_weight=0.0), still)
    assert penalised.score < plain.score - 1.0
    assert not penalised.detected


def test_intervals_are_timed_by_the_frames_timestamps(wave_model, wave_clip, tmp_path):
    model, _ = wave_model
    path = tmp_path / "phone.mkv"  # the first frame held for 6 s at 5 frames/s, then the wave at 25 frames/s
    frames = np.concatenate([np.repeat(wave_clip[:1], 30, axis=0), wave_clip])
    write_vfr_video(path, frames, [200 * k for k in range(30)] + [6000 + 40 * k for k in range(len(wave_clip))])
    result = detect(model, path)
    times = open_frames(path).seconds()
    assert times[30] == pytest.approx(6.0) and len(result.intervals) > 0
    first, last = result.intervals[-1]
    assert first >= 20
    end = times[last + 1] if last + 1 < len(times) else times[-1] + 0.04  # when the frame after it is shown
    assert result.interval_seconds[-1] == pytest.approx([times[first], end])
    assert result.interval_seconds[-1][0] > first / result.fps + 2  # the average rate would time it seconds early
    assert result.to_dict()["interval_seconds"][-1] == [round(times[first], 3), round(end, 3)]
    np.testing.assert_allclose(result.frame_seconds, times)  # the plot's time axis; too long for the JSON
    assert "frame_seconds" not in result.to_dict()


def test_an_interrupted_search_resumes_from_its_trials(wave_clip, tmp_path, monkeypatch):
    learning = importlib.import_module("keyframe.motion.learn")  # the module, not the function of that name
    squat = make_sample("squat", frames=40, size=(96, 96), seed=100).frames
    config = replace(FAST, trials=3, search_epochs=2, net=replace(FAST.net, epochs=2, min_epochs=1))
    out = tmp_path / "wave.kfm"
    started = []
    tried = []  # the settings of every trial, in order
    train = learning._train
    monkeypatch.setattr(learning, "_train", lambda data, net, *rest: tried.append(net) or train(data, net, *rest))

    def stop_at_the_third_trial(done, total, note):  # the first time it starts
        if note.startswith("trial") and done == 1:
            started.append(note)
            if started == ["trial 1/3", "trial 2/3", "trial 3/3"]:
                raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        learn([wave_clip[:50]], config, negatives=[squat], out=out, progress=stop_at_the_third_trial)
    assert started == ["trial 1/3", "trial 2/3", "trial 3/3"]
    assert not out.exists() and (tmp_path / "wave.kfm.partial").is_file()

    started.clear()
    model = learn([wave_clip[:50]], config, negatives=[squat], out=out, progress=stop_at_the_third_trial)
    assert started == ["trial 3/3"]  # numbered on from the kept ones
    resumed = tried[3:]  # the third trial and the final training
    tried.clear()
    learn([wave_clip[:50]], config, negatives=[squat])
    assert tried[2:] == resumed  # what an uninterrupted search draws and learns
    assert tried[2] not in tried[:2]
    assert model.info["search"]["trials"] == 3 and out.is_file() and not (tmp_path / "wave.kfm.partial").exists()
    kept = model.info["search"]["kept_seconds"]  # the two trials the interrupted run finished count in its time
    assert kept > 0 and model.info["seconds"] > kept and model.info["search"]["kept_trials"] == 2


def test_fewer_trials_after_an_interrupted_search_count_only_the_first_and_the_journal_goes(wave_clip, tmp_path,
                                                                                            monkeypatch):
    learning = importlib.import_module("keyframe.motion.learn")  # the module, not the function of that name
    config = replace(FAST, trials=4, search_epochs=2, net=replace(FAST.net, epochs=2, min_epochs=1))
    clip = [wave_clip[:50]]
    train = learning._train

    def third_trial_best(data, net, image_shape, progress, note):  # so that counting it would show
        result = train(data, net, image_shape, progress, note)
        return replace(result, val_loss=0.0) if note.startswith("trial 3/") else result
    monkeypatch.setattr(learning, "_train", third_trial_best)

    def stop_at_the_last_trial(done, total, note):
        if note == "trial 4/4" and done == 1:
            raise KeyboardInterrupt

    def interrupted(out):  # three trials kept
        with pytest.raises(KeyboardInterrupt):
            learn(clip, config, out=out, progress=stop_at_the_last_trial)
        assert (tmp_path / f"{out.name}.partial").is_file()

    interrupted(tmp_path / "again.kfm")
    fresh = learn(clip, replace(config, trials=2), out=tmp_path / "fresh.kfm").info["search"]
    kept = learn(clip, replace(config, trials=2), out=tmp_path / "again.kfm").info["search"]
    # The search asked for: its first two trials, not the best of the three kept.
    assert kept["best_params"] == fresh["best_params"] and kept["best_value"] == pytest.approx(fresh["best_value"])
    assert (kept["kept_trials"], fresh["kept_trials"]) == (2, 0)  # of the three kept, the two that count
    assert not (tmp_path / "again.kfm.partial").exists()
    interrupted(tmp_path / "one.kfm")
    learn(clip, replace(config, trials=1), out=tmp_path / "one.kfm")  # the defaults alone
    assert not (tmp_path / "one.kfm.partial").exists()  # the kept trials are spent once the model is written


def test_a_model_file_that_is_one_of_the_clips_is_refused(tmp_path, wave_clip):
    from keyframe.io import write_video

    clip = tmp_path / "wave.mp4"
    write_video(iter(wave_clip[:30]), clip, fps=25)
    size = clip.stat().st_size
    with pytest.raises(KeyframeError, match="wave.mp4: is also an input; the output would overwrite it"):
        learn([clip], FAST, out=clip)
    assert clip.stat().st_size == size
    other = tmp_path / "other.mp4"
    other.write_bytes(clip.read_bytes())
    with pytest.raises(KeyframeError, match="other.mp4: exists and is not a movement model"):
        learn([clip], FAST, out=other)
    assert other.read_bytes() == clip.read_bytes()
    arrays = tmp_path / "arrays.npz"  # a zip archive too, but not a model
    np.savez(arrays, a=np.zeros(3))
    with pytest.raises(KeyframeError, match="arrays.npz: exists and is not a movement model"):
        learn([clip], FAST, out=arrays)


def test_a_damaged_search_journal_is_kept_aside_and_the_search_starts_afresh(wave_clip, tmp_path):
    config = replace(FAST, trials=2, search_epochs=2, net=replace(FAST.net, epochs=2, min_epochs=1))
    out = tmp_path / "wave.kfm"
    (tmp_path / "wave.kfm.partial").write_bytes(b"\x00\xff\xfe not a journal")
    model = learn([wave_clip[:50]], config, out=out)
    assert model.info["search"]["trials"] == 2 and out.is_file()
    assert (tmp_path / "wave.kfm.partial.damaged").read_bytes() == b"\x00\xff\xfe not a journal"  # as it was
    (tmp_path / "wave.kfm.partial").write_text("my notes\n")  # another one: kept beside the first, not over it
    out.unlink()
    learn([wave_clip[:50]], config, out=out)
    assert (tmp_path / "wave.kfm.partial.damaged-2").read_text() == "my notes\n"


def test_a_search_journal_cut_short_by_a_kill_resumes_from_its_whole_lines(wave_clip, tmp_path):
    config = replace(FAST, trials=3, search_epochs=2, net=replace(FAST.net, epochs=2, min_epochs=1))
    out, journal = tmp_path / "wave.kfm", tmp_path / "wave.kfm.partial"

    def stop_at_the_third_trial(done, total, note):
        if note == "trial 3/3":
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        learn([wave_clip[:50]], config, out=out, progress=stop_at_the_third_trial)
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-25])  # the last operation half written
    model = learn([wave_clip[:50]], config, out=out)
    assert model.info["search"]["trials"] == 3 and out.is_file() and not journal.exists()
    assert not list(tmp_path.glob("*.damaged*"))  # the finished trials were kept, not set aside


def test_the_shortest_clip_is_the_one_the_message_names(wave_clip):
    from keyframe.motion.learn import fewest_frames

    for length in (5, 9, 46):
        fewest = fewest_frames(length)
        config = replace(FAST, window=replace(FAST.window, length=length), net=replace(FAST.net, epochs=2, min_epochs=1))
        with pytest.raises(KeyframeError, match=f"has {fewest - 1} frames: too few .* give at least {fewest} frames"):
            learn([np.concatenate([wave_clip] * 2)[: fewest - 1]], config)
        assert learn([np.concatenate([wave_clip] * 2)[:fewest]], config).window.length == length
    # A clip or negative shorter than one window: the fewest frames named is still what learning needs, not one window's.
    for clips, negatives, name in (([wave_clip[:7]], [], "clip 1"), ([wave_clip], [wave_clip[:7]], "negative 1")):
        with pytest.raises(KeyframeError, match=f"{name}: has 7 frames: too few .* give at least {fewest_frames(9)} frames"):
            learn(clips, FAST, negatives=negatives)
    # A clip longer than one window but too short to hold some out: the same message, before any features are read.
    config = replace(FAST, window=replace(FAST.window, length=100))
    with pytest.raises(KeyframeError, match=f"has 120 frames: too few .* give at least {fewest_frames(100)} frames"):
        learn([np.concatenate([wave_clip] * 2)[:120]], config)


def test_impossible_settings_and_frame_rates_are_named(wave_model):
    from keyframe.motion import NetConfig

    model, _ = wave_model
    for field, value in [("epochs", 0), ("hidden", -1), ("batch", 0), ("lr", float("nan")), ("dropout", 1.0)]:
        with pytest.raises(KeyframeError, match=f"NetConfig.{field}"):
            NetConfig(**{field: value})
    features = FeatureExtractor(model.features).extract(ArrayFrames(make_sample("wave", frames=30, size=(96, 96)).frames))
    for fps in (0, -5, float("nan")):
        with pytest.raises(KeyframeError, match="fps must be between 0.01 and 1000"):
            detect_features(model, features, fps=fps)
        with pytest.raises(KeyframeError, match="ArrayFrames fps must be between 0.01 and 1000"):
            ArrayFrames(np.zeros((3, 8, 8, 3), np.uint8), fps=fps)
    for field, value, message in [("chunk", 0, "a whole number >= 1"), ("chunk", -1, "a whole number >= 1"),
                                  ("span_seconds", float("nan"), "a finite number > 0"), ("default_fps", 0, "between 0.01")]:
        with pytest.raises(KeyframeError, match=f"DetectConfig.{field} must be {message}"):
            DetectConfig(**{field: value})


def test_a_video_too_short_once_stepped_leaves_no_journal(wave_model, wave_clip, tmp_path):
    model, _ = wave_model
    journal = tmp_path / "r.json.partial"
    with pytest.raises(KeyframeError, match=r"\(one frame in 3\)"):
        detect(model, ArrayFrames(np.repeat(wave_clip[:model.window.length - 1], 3, axis=0), fps=75), journal=journal)
    assert not journal.exists()


def test_a_video_at_another_frame_rate_is_stepped_through_or_gets_a_note(wave_model, wave_clip):
    model, path = wave_model
    assert load_model(path).info["fps"] == [25.0]  # arrays are taken at 25 frames/s
    same = detect(model, ArrayFrames(wave_clip, fps=25))
    assert "note" not in same.to_dict() and "step" not in same.to_dict()
    assert "note" not in detect(model, ArrayFrames(wave_clip, fps=29.97)).to_dict()  # within the trained tempos
    # Each frame shown three times at three times the rate: one frame in 3 is the clip itself, scored as such.
    tripled = np.repeat(wave_clip, 3, axis=0)
    stepped = detect(model, ArrayFrames(tripled, fps=75))
    assert stepped.extra == {"note": "learned from clips at 25 frames/s, this video has 75: one frame in 3 was scored",
                             "step": 3}
    assert stepped.score == pytest.approx(same.score) and stepped.detected == same.detected
    assert np.allclose(stepped.frame_scores[::3], same.frame_scores)  # between them: drawn linearly
    assert np.allclose(stepped.frame_scores[1::3][:-1], (2 * same.frame_scores[:-1] + same.frame_scores[1:]) / 3)
    assert len(stepped.intervals) == len(same.intervals) > 0
    for (first, last), (at_rate, until) in zip(stepped.intervals, same.intervals):
        assert abs(first - 3 * at_rate) <= 2 and abs(last - 3 * until) <= 2
    assert stepped.fps == 75 and len(stepped.frame_scores) == len(tripled)
    every = detect(model, ArrayFrames(tripled, fps=75), DetectConfig(match_rate=False))
    assert every.score < same.score - 0.5, "every frame scored: the movement looks three times as slow"
    faster = every.to_dict()["note"]
    assert faster.startswith("learned from clips at 25 frames/s, this video has 75") and "score one frame in 3, as detect does without --keep-rate" in faster
    slower = detect(model, ArrayFrames(wave_clip, fps=12.5)).to_dict()["note"]
    assert "half as many frames" in slower and slower.endswith("learn from clips at this rate")
    older = replace(model, info={k: v for k, v in model.info.items() if k != "fps"})  # learned before rates were kept
    assert "note" not in detect(older, ArrayFrames(wave_clip, fps=75)).to_dict()


def test_a_folder_of_frames_without_a_rate_is_learned_at_25_frames_per_second_and_says_so(wave_clip, tmp_path, caplog):
    from keyframe.io import write_image

    for index, frame in enumerate(wave_clip):
        write_image(tmp_path / "wave" / f"{index}.png", frame)
    with caplog.at_level("WARNING"):
        model = learn([tmp_path / "wave"], FAST)
    assert model.info["fps"] == [25.0]
    assert "states no frame rate (no video.json); taken as 25 frames/s" in caplog.text


def test_a_video_that_states_no_rate_gets_a_note_that_says_so(wave_clip, tmp_path):
    from keyframe.io import write_image

    model = learn([ArrayFrames(wave_clip, fps=10)], FAST)
    for index, frame in enumerate(wave_clip):
        write_image(tmp_path / "wave" / f"{index:03d}.png", frame)
    note = detect(model, tmp_path / "wave").to_dict()["note"]
    assert note.startswith("states no frame rate, so it was scored frame by frame as if at the 10 frames/s"), note
    assert "the movement takes" not in note


def test_clips_at_several_times_the_rate_of_the_others_are_learned_one_frame_in_n(wave_clip, caplog):
    squat = make_sample("squat", frames=70, size=(96, 96), seed=100).frames
    tripled = ArrayFrames(np.repeat(wave_clip, 3, axis=0), fps=75)
    with caplog.at_level("WARNING"):
        model = learn([ArrayFrames(wave_clip, fps=25), tripled], FAST,
                      negatives=[ArrayFrames(np.repeat(squat, 3, axis=0), fps=75), ArrayFrames(squat[:35], fps=10)])
    assert model.info["fps"] == [25.0, 25.0] and model.info["frames"] == 2 * len(wave_clip)
    messages = [record.getMessage() for record in caplog.records]
    assert "clip 2: 75 frames/s, 3 times the rate of the movement's clips (25): one frame in 3 is learned from" in messages
    assert any(m.startswith("negative 1: 75 frames/s") and "one frame in 3" in m for m in messages), messages
    assert "negative 2: 10 frames/s, against 25 for the movement's clips: its movement takes fewer frames than " \
           "theirs; give clips at their rate" in messages
    alone = learn([tripled], FAST)  # one rate: nothing to step to
    assert alone.info["fps"] == [75.0] and alone.info["frames"] == 3 * len(wave_clip)


def test_a_stretch_of_a_clip_is_learned_with_the_frames_around_it(wave_clip, monkeypatch):
    from keyframe.motion import Stretch

    learn_module = importlib.import_module("keyframe.motion.learn")  # the package's `learn` is the function
    squat = make_sample("squat", frames=40, size=(96, 96), seed=100).frames
    clip = ArrayFrames(np.concatenate([squat, wave_clip, squat]), fps=25)
    reads = []
    real = learn_module.extract_views
    monkeypatch.setattr(learn_module, "extract_views", lambda *args, **kw: reads.append(args[2:4]) or real(*args, **kw))
    model = learn([Stretch(clip, 40, 110)], FAST)
    assert reads == [(40, 110)], "the stretch is read inside the clip, with its crops found from the frames around"
    assert model.info["frames"] == 70 and model.info["clips"] == ["clip 1 frames 40-109"]
    for bad in (Stretch(clip, 100, 200), Stretch(clip, 50, 50), Stretch(clip, -1)):
        with pytest.raises(KeyframeError, match="clip 1: has 150 frames; no stretch from frame"):
            learn([bad], FAST)


def test_the_threshold_label_keeps_off_the_curve():
    # As in exercise.avi's plot: the curve falls through the threshold at the right end, where the label used to be.
    xs = np.arange(58, 784, 2.0)
    curve = np.column_stack([xs, np.where(xs < 700, 60.0, 60 + (xs - 700) * 2.5)])
    x, y = label_spot(curve, (90, 10), 220.0, (58, 30, 784, 260))
    inside = (curve[:, 0] >= x - 2) & (curve[:, 0] <= x + 92) & (curve[:, 1] >= y - 12) & (curve[:, 1] <= y + 2)
    assert not inside.any() and abs(y - 220) <= 16  # next to the line, clear of the curve
    assert label_spot(np.empty((0, 2)), (90, 10), 220.0, (58, 30, 784, 260)) == (784 - 96, 214)  # right, above


def test_a_clip_in_which_nothing_moves_is_warned_about(wave_clip, caplog):
    # A still clip (a frozen stretch, the wrong --start) learns stillness without a word otherwise.
    still = np.repeat(wave_clip[:1], 40, axis=0)
    noisy = np.clip(still + np.random.default_rng(0).normal(0, 3, still.shape), 0, 255).astype(np.uint8)
    with caplog.at_level("WARNING"):
        learn([noisy], FAST)
    assert "clip 1: hardly anything moves in it" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        learn([wave_clip], FAST, negatives=[still])  # a still negative is what it is: no warning
    assert "hardly anything moves" not in caplog.text
    # A slow movement, which changes little from one frame to the next but far over the clip, is no still clip.
    steps = np.linspace(0, 6, 80)
    low = np.floor(steps).astype(int)
    part = (steps - low)[:, None, None, None]
    slow = np.rint((1 - part) * wave_clip[low] + part * wave_clip[np.minimum(low + 1, 6)]).astype(np.uint8)
    with caplog.at_level("WARNING"):
        learn([slow], FAST)
    assert "hardly anything moves" not in caplog.text


def test_a_clip_that_would_not_reach_the_threshold_learned_from_it_is_warned_about(wave_clip, caplog, monkeypatch):
    # A rendered take of 2.3 s calibrated on 12 windows from its middle, and its own model then called it not
    # detected (-1.309 against -1.198). Here the threshold is put at the best held-out window to get there.
    learn_module = importlib.import_module("keyframe.motion.learn")  # the package's `learn` is the function
    calibrated = learn_module.calibrate
    with caplog.at_level("WARNING"):
        model = learn([wave_clip], FAST)
    assert detect(model, wave_clip).detected and "under the threshold" not in caplog.text
    monkeypatch.setattr(learn_module, "calibrate", lambda positive, negative=None: (float(np.max(positive)),
                                                                                    calibrated(positive, negative)[1]))
    with caplog.at_level("WARNING"):
        model = learn([wave_clip], FAST)
    found = detect(model, wave_clip)
    assert not found.detected
    assert (f"clip 1: scores {found.score:.3f}, under the threshold {model.threshold:.3f} learned from it (from "
            f"{model.calibration['positive_windows']} held-out windows), so detecting it would say not detected") in caplog.text


def test_a_clip_given_twice_is_learned_once(wave_clip, tmp_path, caplog):
    from keyframe.io import write_video
    from keyframe.motion import Stretch

    clip = tmp_path / "wave.mp4"
    write_video(iter(wave_clip), clip, fps=25)
    once = learn([clip], FAST)
    with caplog.at_level("WARNING"):
        twice = learn([clip, tmp_path / "." / "wave.mp4"], FAST)
    assert "each clip given more than once is learned once" in caplog.text
    assert twice.info["frames"] == once.info["frames"] and twice.threshold == once.threshold
    caplog.clear()
    with caplog.at_level("WARNING"):  # two stretches of one video are two clips
        both = learn([Stretch(clip, 0, 35), Stretch(clip, 35, 70)], FAST)
    assert "more than once" not in caplog.text and both.info["frames"] == once.info["frames"]


def test_training_stopped_early_reports_its_stage_done(wave_clip):
    # The bar (and the plain progress lines in a log) stayed at "51/120 training" when early stopping ended it.
    reports = []
    config = replace(FAST, net=replace(FAST.net, epochs=200, min_epochs=1, patience=2))
    model = learn([wave_clip], config, progress=lambda done, total, note="": reports.append((done, total, note)))
    training = [(done, total) for done, total, note in reports if note.startswith("training")]
    assert model.info["epochs"] < 200 and training[-1] == (200, 200)


def test_a_plot_carries_keyframes_mark_and_a_png_without_it_is_not_taken_for_one(wave_model, wave_clip, tmp_path):
    from PIL import Image

    from keyframe.io import write_image
    from keyframe.motion.plot import check_plot_output, is_own_plot

    model, _ = wave_model
    plot = tmp_path / "scores.png"
    plot_detection(detect(model, wave_clip[:30]), plot)
    with Image.open(plot) as image:  # a standard text chunk, which other tools read and keep
        assert image.text == {"Software": "keyframe movement detect"}
    photo = tmp_path / "photo.png"
    write_image(photo, wave_clip[0])
    assert is_own_plot(plot) and not is_own_plot(photo)
    check_plot_output(plot, own_only=True)
    check_plot_output(photo)  # Python's plot_detection replaces any PNG, as before
    with pytest.raises(KeyframeError, match="photo.png: exists and is not a plot keyframe wrote"):
        check_plot_output(photo, own_only=True)
