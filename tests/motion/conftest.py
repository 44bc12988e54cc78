"""Small learned models shared by the movement tests (each trained once per session, in seconds)."""

from dataclasses import replace

import pytest

from keyframe.motion import FeatureConfig, LearnConfig, NetConfig, learn
from keyframe.sample import make_sample

FAST = LearnConfig(features=FeatureConfig("pixels", size=16), net=replace(NetConfig(), epochs=25, min_epochs=10, hidden=32))


@pytest.fixture(scope="session")
def wave_clip():
    return make_sample("wave", frames=70, size=(96, 96), seed=100).frames


@pytest.fixture(scope="session")
def wave_model(wave_clip, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "wave.kfm"
    model = learn([wave_clip], FAST, out=path)
    return model, path


@pytest.fixture(scope="session")
def cohort_model(wave_clip, tmp_path_factory):
    """The wave learned with three other sample movements as negatives (a cohort of three)."""
    negatives = [make_sample(name, frames=70, size=(96, 96), seed=100).frames for name in ("squat", "jumping_jack", "march")]
    path = tmp_path_factory.mktemp("cohort") / "wave.kfm"
    return learn([wave_clip], FAST, negatives=negatives, out=path), path
