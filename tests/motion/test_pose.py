"""Pose features (MediaPipe landmarks, an optional extra) and scoring features extracted beforehand."""

from dataclasses import replace
from itertools import islice

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import write_video
from keyframe.motion import (ArrayFrames, FeatureConfig, FeatureExtractor, LearnConfig, RenderOptions,
                             body_pose_features, detect, detect_features, learn, load_model, pose_features, read_bvh,
                             render_frames)
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


def test_cli_learns_pose_in_either_frame(bow_frames, tmp_path):
    video = tmp_path / "bow.mp4"
    write_video(iter(bow_frames[:40]), video, fps=30)
    learned = run_cli("movement", "learn", video, "-o", tmp_path / "bow.kfm", "--features", "pose", "--pose-frame", "image")
    assert learned.returncode == 0, learned.stderr
    assert "pose in the image frame" in " ".join(learned.stdout.split())
    assert load_model(tmp_path / "bow.kfm").features.pose_frame == "image"
