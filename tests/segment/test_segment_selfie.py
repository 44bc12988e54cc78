"""The optional MediaPipe selfie member: a clear error without mediapipe; on a real person, it finds her."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames, read_mask
from keyframe.segment import segment
from keyframe.segment.members.selfie import SelfieConfig, SelfieMember
from tests.conftest import shared
from tests.segment.conftest import give_masks, iou


def test_without_mediapipe_the_run_stops_before_writing(monkeypatch, tmp_path, sample_dirs, small_sample):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes ``import mediapipe`` fail
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    with pytest.raises(KeyframeError, match=r"mediapipe==0\.10\.21"):
        segment(frames, masks, tmp_path / "out", methods="flow,selfie")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_unknown_model_name():
    with pytest.raises(KeyframeError, match="selfie model 'portrait'"):
        SelfieConfig(model="portrait")


def test_selfie_finds_a_walking_woman():
    pytest.importorskip("mediapipe")
    lucia = shared("davis", "lucia")
    source = open_frames(lucia / "frames")
    truth = {i: read_mask(lucia / "masks" / f"{source.stems[i]}.png") > 0 for i in (0, 20, 40)}
    member = SelfieMember().fit(source, {0: truth[0]})
    assert member.agreement > 0.6
    for index in (20, 40):
        prob = member.predict_frame(index, source.read(index))
        assert prob.shape == source.size and prob.dtype == np.float32 and 0.0 <= prob.min() <= prob.max() <= 1.0
        assert iou(prob > 0.5, truth[index]) > 0.6
