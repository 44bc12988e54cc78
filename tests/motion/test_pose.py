"""Pose features (MediaPipe landmarks, an optional extra) and scoring features extracted beforehand."""

import sys
import types
from dataclasses import replace
from itertools import islice

import cv2
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import write_video
from keyframe.motion import (ArrayFrames, FeatureConfig, FeatureExtractor, LearnConfig, RenderOptions,
                             body_pose_features, crop_regions, detect, detect_features, feature_kinds, learn, load_model,
                             local_standardise, pose_features, read_bvh, render_frames, score_range)
from keyframe.motion.detect import window_scores
from keyframe.motion.features import gesture_half
from keyframe.sample import make_sample
from tests.conftest import run_cli, shared
from tests.motion.conftest import FAST


def _skeleton(frames: int, seed: int = 0) -> np.ndarray:
    points = np.random.default_rng(seed).normal(size=(frames, 33, 3)).astype(np.float32)
    points[:, 23], points[:, 24] = (-1, 0, 0), (1, 0, 0)   # hips
    points[:, 11], points[:, 12] = (-1, -3, 0), (1, -3, 0)  # shoulders, a torso of 3 above the hips
    return points


def test_pose_features_ignore_where_and_how_large_the_body_is():
    points = _skeleton(5)
    moved = points * 2.5 + np.array([40.0, -7.0, 3.0], np.float32)
    np.testing.assert_allclose(pose_features(points), pose_features(moved), atol=1e-5)
    features = pose_features(points).reshape(5, 33, 3)
    np.testing.assert_allclose(features[:, 11], [[-1 / 3, -1, 0]] * 5, atol=1e-6)


def test_pose_features_fill_frames_without_a_body():
    points = _skeleton(5)
    points[1:4] = np.nan
    features = pose_features(points)
    assert np.isfinite(features).all()
    # Missing frames lie on the line between the nearest frames with a body.
    np.testing.assert_allclose(features[2], (features[0] + features[4]) / 2, atol=1e-5)
    assert not pose_features(np.full((3, 33, 3), np.nan, np.float32)).any()


def _turned(points: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    turn = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]], np.float32)
    return points @ turn.T


def test_body_pose_features_ignore_the_camera_azimuth_place_and_size():
    points = _skeleton(5, seed=1)
    seen_elsewhere = _turned(points, 35.0) * 0.4 + np.array([2.0, -1.0, 5.0], np.float32)
    np.testing.assert_allclose(body_pose_features(points), body_pose_features(seen_elsewhere), atol=1e-5)
    features = body_pose_features(_turned(points, -70.0)).reshape(5, 33, 3)
    # The hips lie along +x whichever way the body faced; the shoulders one torso above them.
    np.testing.assert_allclose(features[:, 23], [[1 / 3, 0, 0]] * 5, atol=1e-6)
    np.testing.assert_allclose(features[:, 11:13, 1], -1.0, atol=1e-6)
    # Image-plane features change with the azimuth.
    assert not np.allclose(pose_features(points), pose_features(_turned(points, 35.0)), atol=0.05)


def test_body_pose_features_fill_frames_without_a_body():
    points = _skeleton(5)
    points[2] = np.nan
    features = body_pose_features(points)
    np.testing.assert_allclose(features[2], (features[1] + features[3]) / 2, atol=1e-5)
    assert not body_pose_features(np.full((3, 33, 3), np.nan, np.float32)).any()


def test_detect_features_matches_detect(wave_model, wave_clip):
    model, _ = wave_model
    clip = wave_clip[:40]
    extracted = FeatureExtractor(model.features).extract(ArrayFrames(clip))
    direct, reused = detect(model, clip), detect_features(model, extracted, fps=25.0)
    np.testing.assert_allclose(direct.window_scores, reused.window_scores, rtol=1e-5, atol=1e-6)
    assert direct.score == pytest.approx(reused.score) and direct.intervals == reused.intervals
    assert direct.region == reused.region == extracted.region, "the crop the frames were cut to"
    with pytest.raises(KeyframeError, match="do not fit a pixels model of 256 values"):
        detect_features(model, extracted._replace(features=extracted.features[:, :10]))
    with pytest.raises(KeyframeError, match="too short|shorter|at least"):
        detect_features(model, extracted._replace(features=extracted.features[:5]))


def _bow(azimuth: float, frames: int = 70) -> np.ndarray:
    """The first ``frames`` of the `normal` bow take, filmed at ``azimuth`` (256x256, uint8)."""
    motion = read_bvh(shared("motion", "bandai-namco-1", "dataset-1_bow_normal_001.bvh"))
    return np.stack(list(islice(render_frames(motion, RenderOptions(size=(256, 256), azimuth=azimuth, follow=True)), frames)))


@pytest.fixture(scope="module")
def bow_frames():
    pytest.importorskip("mediapipe")
    return _bow(0.0)


def test_pose_landmarks_find_the_rendered_humanoid(bow_frames):
    extractor = FeatureExtractor(FeatureConfig("pose", pose_frame="image"))
    features = extractor.extract(ArrayFrames(bow_frames), 0, 30).features
    assert features.shape == (30, 99)
    points = features.reshape(30, 33, 3)
    # Hips at the origin, the head (nose) about one torso above them (y points down), feet below.
    assert np.abs(points[:, 23:25].mean(1)).max() < 1e-4
    assert -2.0 < np.median(points[:, 0, 1]) < -0.8
    assert np.median(points[:, 27:29, 1]) > 1.0
    # Each range starts the landmark tracker afresh, so a range reads the same every time.
    np.testing.assert_array_equal(features, extractor.extract(ArrayFrames(bow_frames), 0, 30).features)


BODY_JOINTS = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]  # nose, arms, legs: no face or hand points


def test_body_frame_landmarks_change_less_with_the_azimuth_than_image_ones(bow_frames):
    turned = _bow(30.0)
    points = FeatureExtractor(FeatureConfig("pose")).extract(ArrayFrames(bow_frames), 0, 30).features.reshape(30, 33, 3)
    # Hips at the origin along +x, the head (nose) above them (y points down), the feet below.
    assert np.abs(points[:, 23:25].mean(1)).max() < 1e-4 and np.abs(points[:, 23, 2]).max() < 1e-4
    assert (points[:, 23, 0] > 0).all() and np.median(points[:, 0, 1]) < -1.0 and np.median(points[:, 27:29, 1]) > 1.0

    def change(config: FeatureConfig) -> float:
        extractor = FeatureExtractor(config)
        front, side = (extractor.extract(ArrayFrames(clip)).features.reshape(70, 33, 3)[:, BODY_JOINTS]
                       for clip in (bow_frames, turned))
        return float(np.abs(front - side).mean() / np.abs(front).mean())

    # Filmed 30 degrees round, the body-frame joints move about 0.29 of their size, the image-plane ones 0.41.
    body_change, image_change = change(FeatureConfig("pose")), change(FeatureConfig("pose", pose_frame="image"))
    assert body_change < 0.8 * image_change, (body_change, image_change)


def test_learn_and_detect_with_pose(bow_frames, tmp_path):
    config = LearnConfig(features=FeatureConfig("pose"), net=replace(FAST.net, speeds=(1.0,)))
    model = learn([bow_frames], config, out=tmp_path / "bow.kfm")
    assert model.features.kind == "pose" and model.dim == 99
    result = detect(tmp_path / "bow.kfm", bow_frames)
    assert np.isfinite(result.frame_scores).all()
    assert result.score > model.threshold
    assert result.to_dict()["region"] is None, "landmarks are not cut from a crop"


def test_learning_pose_from_a_clip_without_a_person_is_refused():
    pytest.importorskip("mediapipe")
    blank = np.full((30, 96, 96, 3), 128, np.uint8)
    with pytest.raises(KeyframeError, match="MediaPipe found no person in any frame"):
        learn([blank], LearnConfig(features=FeatureConfig("pose"), net=FAST.net))


def test_cli_learns_pose_in_either_frame(bow_frames, tmp_path):
    video = tmp_path / "bow.mp4"
    write_video(iter(bow_frames[:40]), video, fps=30)
    learned = run_cli("movement", "learn", video, "-o", tmp_path / "bow.kfm", "--features", "pose", "--pose-frame", "image",
                      "--crop-seconds", "1")
    assert learned.returncode == 0, learned.stderr
    assert "landmarks in the image frame" in " ".join(learned.stdout.split())
    assert "note: --crop-seconds is for pixels and cnn features; with pose it does nothing" in " ".join(learned.stderr.split())
    assert load_model(tmp_path / "bow.kfm").features.pose_frame == "image"


def test_cli_learns_pose_and_gesture_and_detects_with_both(bow_frames, tmp_path):
    video = tmp_path / "bow.mp4"
    write_video(iter(bow_frames[:40]), video, fps=30)
    learned = run_cli("movement", "learn", video, "-o", tmp_path / "bow.kfm", "--features", "pose+gesture")
    assert learned.returncode == 0, learned.stderr
    assert "weights pose" in learned.stdout and "gesture" in learned.stdout
    found = run_cli("movement", "detect", tmp_path / "bow.kfm", video)
    assert found.returncode == 0, found.stderr
    assert "detected" in found.stdout


def test_gesture_features_drop_the_posture_and_the_width_of_the_movement():
    wave = np.sin(np.arange(120) / 4.0)[:, None] * np.linspace(0.1, 0.3, 99)
    higher_and_wider = 0.7 + 2.5 * wave
    np.testing.assert_allclose(local_standardise(wave, 30), local_standardise(higher_and_wider, 30), atol=1e-5)
    # A body standing still keeps its jitter small instead of blowing it up into a movement.
    jitter = np.random.default_rng(0).normal(scale=0.002, size=(120, 99))
    still, moving = local_standardise(jitter, 30), local_standardise(wave, 30)
    assert np.sqrt((still**2).mean()) < 0.3 * np.sqrt((moving**2).mean())


@pytest.fixture()
def fake_landmarks(monkeypatch):
    """MediaPipe stood in for by landmarks read off each frame's grey thumbnail, so landmark kinds run anywhere."""

    def landmarks(self, frames):
        thumbnails = np.stack([cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (11, 9)) for rgb in frames])
        points = thumbnails.reshape(len(frames), 33, 3).astype(np.float32) / 255.0
        points[:, 23], points[:, 24] = (0.1, 0.0, 0.0), (-0.1, 0.0, 0.0)  # hips
        points[:, 11], points[:, 12] = (0.1, -0.5, 0.0), (-0.1, -0.5, 0.0)  # shoulders
        return points

    monkeypatch.setitem(sys.modules, "mediapipe", sys.modules.get("mediapipe") or types.ModuleType("mediapipe"))
    monkeypatch.setattr(FeatureExtractor, "_pose_points", landmarks)


def test_a_range_of_gesture_features_is_those_frames_of_the_whole_clip(fake_landmarks, wave_clip):
    extractor = FeatureExtractor(FeatureConfig("gesture", gesture_seconds=0.5))
    clip = ArrayFrames(wave_clip, fps=20.0)
    assert gesture_half(extractor.config, clip.fps) == 10
    whole = extractor.extract(clip).features
    assert whole.shape == (len(wave_clip), 99)
    # Each range reads the landmarks 10 frames beyond its ends, as far as the clip goes.
    for start, stop in ((20, 50), (0, 15), (60, len(wave_clip))):
        np.testing.assert_allclose(extractor.extract(clip, start, stop).features, whole[start:stop], atol=1e-6)
    pose = FeatureExtractor(FeatureConfig("pose")).extract(clip).features
    np.testing.assert_allclose(whole, local_standardise(pose, 10), atol=1e-6)
    with pytest.raises(KeyframeError, match="gesture's span must be between 0.2 and 30 seconds, got 0.1"):
        FeatureConfig("gesture", gesture_seconds=0.1)


def test_pose_and_gesture_are_averaged_before_the_minimum_with_pixels(fake_landmarks, wave_clip, tmp_path, monkeypatch):
    squat = make_sample("squat", frames=40, size=(96, 96), seed=100).frames
    lead, partners = feature_kinds("pixels+pose+gesture")
    config = replace(FAST, features=lead, partners=partners)
    read = []
    landmarks = FeatureExtractor._pose_points
    monkeypatch.setattr(FeatureExtractor, "_pose_points", lambda self, frames: read.append(len(frames)) or landmarks(self, frames))
    model = learn([wave_clip[:50]], config, negatives=[squat], out=tmp_path / "three.kfm")
    assert sum(read) == 50 + len(squat), "learning reads each clip's landmarks once for pose and gesture"
    assert [part.features.kind for part in model.parts()] == ["pixels", "pose", "gesture"]
    assert model.info["features"] == "pixels+pose+gesture"
    clip = wave_clip[50:]
    read.clear()
    result = detect(tmp_path / "three.kfm", clip)
    assert result.region == crop_regions(model, ArrayFrames(clip))[0], "the pixels part's crop"
    assert sum(read) == len(clip), "pose and gesture share one landmark read"
    extracted = [FeatureExtractor(part.features).extract(ArrayFrames(clip)) for part in model.parts()]
    pixels, pose, gesture = (3 * weight * window_scores(part, features)
                             for part, weight, (features, _) in zip(model.parts(), model.weights, extracted))
    np.testing.assert_allclose(result.window_scores, np.minimum(pixels, (pose + gesture) / 2), rtol=1e-5, atol=1e-5)
    assert detect_features(model, extracted, fps=25).score == pytest.approx(result.score, abs=1e-5)
    # Ranges scored apart, as shards would be, give the same fused scores.
    regions = crop_regions(model, ArrayFrames(clip))
    pieces = [score_range(model, ArrayFrames(clip), first, last, regions) for first, last in ((0, 4), (4, len(result.window_scores)))]
    np.testing.assert_allclose(np.concatenate(pieces), result.window_scores, rtol=1e-5, atol=1e-5)


def test_detect_says_where_mediapipe_found_no_person(fake_landmarks, wave_clip, tmp_path, monkeypatch, caplog):
    config = replace(FAST, features=FeatureConfig("pose"))
    learn([wave_clip[:50]], config, out=tmp_path / "wave.kfm")
    clip = wave_clip[50:]
    with caplog.at_level("WARNING", logger="keyframe"):
        seen = detect(tmp_path / "wave.kfm", clip)
    assert "no person" not in caplog.text
    monkeypatch.setattr(FeatureExtractor, "_pose_points", lambda self, frames: np.full((len(frames), 33, 3), np.nan, np.float32))
    with caplog.at_level("WARNING", logger="keyframe"):
        nobody = detect(tmp_path / "wave.kfm", clip)
    assert f"MediaPipe found no person in frames 0-{len(clip) - 1} (pose needs a person at least" in caplog.text
    assert not nobody.detected and nobody.score < seen.score
