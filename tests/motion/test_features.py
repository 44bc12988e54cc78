"""Per-frame features: the crop that follows what moves."""

import cv2
import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.motion import ArrayFrames, FeatureConfig, FeatureExtractor, feature_kinds, moving_region, moving_regions
from keyframe.motion.features import extract_views
from keyframe.sample import make_sample


@pytest.fixture(scope="module")
def squat_then_wave():
    squat = make_sample("squat", frames=60, size=(96, 96), seed=1).frames
    wave = make_sample("wave", frames=60, size=(96, 96), seed=2).frames
    return squat, wave


def test_a_stretch_is_cropped_alone_as_inside_a_longer_video(squat_then_wave):
    squat, wave = squat_then_wave
    video = ArrayFrames(np.concatenate([squat, wave]))
    local = FeatureExtractor(FeatureConfig("pixels", crop_seconds=0.4))  # 10 frames on each side at 25 fps
    whole = local.extract(video).features
    alone = local.extract(ArrayFrames(wave)).features
    # Frames more than 10 frames (and the first frame's difference) from the cut see the same motion, alone or not.
    np.testing.assert_array_equal(alone[11:], whole[71:])
    assert not np.allclose(alone[:5], whole[60:65]), "near the cut, the squat's motion is part of the crop"
    # A range read by itself is cut exactly as in the whole read.
    np.testing.assert_array_equal(local.extract(video, 70, 100).features, whole[70:100])
    # One crop over the whole video (models of format 8 and before) depends on everything else in it.
    one = FeatureExtractor(FeatureConfig("pixels", crop_seconds=None))
    assert one.extract(video).region is not None and local.extract(video).region is None
    assert not np.allclose(one.extract(ArrayFrames(wave)).features[11:], one.extract(video).features[71:])


def test_kinds_that_crop_alike_find_the_crops_once(squat_then_wave, monkeypatch):
    from keyframe.motion import features as features_module

    _, wave = squat_then_wave
    calls = []
    find = features_module.moving_regions
    monkeypatch.setattr(features_module, "moving_regions", lambda *a, **k: calls.append(1) or find(*a, **k))
    kinds = [FeatureExtractor(FeatureConfig("pixels", size=size, crop_seconds=1.0)) for size in (8, 16)] + [
        FeatureExtractor(FeatureConfig("pixels", crop_seconds=0.4))]
    small, large, short = extract_views(kinds, ArrayFrames(wave))
    assert len(calls) == 2, "two crop spans: two searches, the two sizes of one span share theirs"
    assert small.shape == (60, 64) and large.shape == short.shape == (60, 256)


def test_crops_follow_the_motion_and_the_span_is_checked():
    frames = np.zeros((40, 100, 200, 3), np.uint8)
    for t in range(40):  # a square shaking on the left for a second, then on the right
        x = 5 * (t % 2) + (0 if t < 20 else 150)
        frames[t, 40:60, x : x + 20] = 255
    crops = moving_regions(ArrayFrames(frames), half=5)
    assert crops.shape == (40, 3)
    centres = crops[:, 0] + crops[:, 2] / 2
    assert abs(centres[5] - 12.5) < 3 and abs(centres[35] - 162.5) < 3
    assert np.all(np.diff(centres) >= 0), "the crop moves over once, without going back"
    still = moving_regions(ArrayFrames(np.zeros((5, 100, 200, 3), np.uint8)), half=2)
    np.testing.assert_allclose(still, [[0, -50, 200]] * 5)  # nothing moves: the whole frame, squared
    for start, stop, half in ((4, 2, 5), (-2, 3, 5), (0, 3, -3)):
        with pytest.raises(ValueError, match="moving_regions: no range"):
            moving_regions(ArrayFrames(frames), start, stop, half)
    # A path or a plain array, as the other motion functions take them (a path was an AttributeError).
    np.testing.assert_allclose(moving_regions(frames, half=5), crops)
    assert moving_region(frames) == moving_region(ArrayFrames(frames))
    with pytest.raises(KeyframeError, match="nope.mp4: no such file"):
        moving_region("nope.mp4")
    # Only the kinds that crop keep the span: a pose part stores none.
    lead, (pose,) = feature_kinds("pixels+pose", crop_seconds=2.0)
    assert (lead.crop_seconds, pose.crop_seconds) == (2.0, None)
    for bad in (0.1, 31.0):
        with pytest.raises(KeyframeError, match="--crop-seconds must be between 0.2 and 30 seconds"):
            FeatureConfig(crop_seconds=bad)


def test_clips_of_the_wrong_kind_are_named(squat_then_wave):
    from keyframe.motion import learn

    _, wave = squat_then_wave
    with pytest.raises(TypeError, match=r"got list of 60 items \(frames\? np.stack them into one array\)"):
        learn([list(wave)])
    with pytest.raises(ValueError, match=r"got uint8 \(96, 96, 3\) \(one frame: a clip is all its frames in one array"):
        learn(list(wave[:3]))
    with pytest.raises(TypeError, match="frames are a folder or video path, a frame source or one uint8 array"):
        learn([7])


@pytest.mark.parametrize("kind", ["pixels", "pixels-one-crop"])
def test_extract_takes_a_path_or_an_array_as_detect_does(squat_then_wave, tmp_path, kind):
    from keyframe.io import open_frames

    _, wave = squat_then_wave
    folder = tmp_path / "wave"
    folder.mkdir()
    for index, frame in enumerate(wave[:30]):
        cv2.imwrite(str(folder / f"{index:06d}.png"), frame[..., ::-1])
    config = FeatureConfig("pixels", crop_seconds=None if kind == "pixels-one-crop" else 0.4)
    extractor = FeatureExtractor(config)
    expected = extractor.extract(open_frames(folder)).features
    # A path (str or Path) is opened, not taken for a sequence of its characters.
    np.testing.assert_array_equal(extractor.extract(str(folder)).features, expected)
    np.testing.assert_array_equal(extractor.extract(folder).features, expected)
    np.testing.assert_array_equal(extractor.extract(wave[:30]).features, extractor.extract(ArrayFrames(wave[:30])).features)
