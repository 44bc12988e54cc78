"""The stacker, the held-out split, the synthetic clip and the temporal smoother."""

from __future__ import annotations

import re

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.segment.ensemble import (
    EnsembleConfig,
    Stacker,
    TemporalSmoother,
    best_threshold,
    fit_split,
    flow_align,
    holdout_split,
    stack_features,
    synthetic_clip,
)
from keyframe.segment.pipeline import calibrate
from keyframe.segment.tuning import tune_ensemble


def test_holdout_split_keeps_first_and_holds_middle():
    assert holdout_split([0, 40, 79]) == ([0, 79], [40])
    assert holdout_split([3]) == ([3], [])
    fit, held = holdout_split(list(range(0, 150, 10)))
    assert set(fit) | set(held) == set(range(0, 150, 10)) and not set(fit) & set(held) and 0 in fit


def test_fit_split_fits_on_masks_that_show_the_segment_and_its_background():
    some = np.zeros((6, 8), bool)
    some[2:4, 3:5] = True
    none, filled = np.zeros_like(some), np.ones_like(some)
    # Where the first half shows both, the split is the usual one.
    assert fit_split({0: some, 20: none, 40: some}) == ([0, 40], [20])
    assert fit_split({0: some, 10: none, 20: none, 30: some}) == ([0, 20], [10, 30])
    # A segment that shows only in a later mask, a close-up that it fills: fitted on the other half.
    assert fit_split({0: none, 11: some}) == ([11], [0])
    assert fit_split({0: filled, 11: some}) == ([11], [0])
    assert fit_split({0: none, 10: some, 20: none, 30: none}) == ([10, 30], [0, 20])
    # No half shows both: fitted on every mask, and scored on them.
    assert fit_split({0: filled, 11: none}) == ([0, 11], [0, 11])
    assert fit_split({5: some}) == ([5], [])


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"max_side": 0}, "EnsembleConfig.max_side must be a whole number >= 1, got 0"),
        ({"model": "foo"}, "EnsembleConfig.model: unknown value 'foo'; choose one of logistic, mlp"),
        ({"smooth": -1}, "EnsembleConfig.smooth must be a whole number >= 0, got -1"),
        ({"vote_decay": -5}, "EnsembleConfig.vote_decay must be a number >= 0, got -5"),
        ({"smooth_weight": 2.0}, "EnsembleConfig.smooth_weight must be a number <= 1, got 2"),
        ({"samples": 0}, "EnsembleConfig.samples must be a whole number >= 1, got 0"),
        ({"synthetic": 0}, "EnsembleConfig.synthetic must be a whole number >= 1, got 0"),
        ({"C": 0.0}, "EnsembleConfig.C must be a number > 0"),
        ({"keep_within": float("nan")}, "EnsembleConfig.keep_within must be a finite number >= 0, got nan"),
        ({"image_features": 1}, "EnsembleConfig.image_features must be of type bool, got int"),
        ({"always_stack": "unet"}, "EnsembleConfig.always_stack must be a tuple of member names"),
        ({"votes": {"flow": -1}}, "EnsembleConfig.votes['flow'] must be a number >= 0, got -1"),
    ],
)
def test_ensemble_config_refuses_bad_values(settings, fragment):
    with pytest.raises(KeyframeError, match=re.escape(fragment)):
        EnsembleConfig(**settings)


def test_stacker_trusts_the_informative_member_and_drops_a_contrary_one():
    rng = np.random.default_rng(0)
    truth = rng.random(4000) > 0.6
    good = np.where(truth, 0.85, 0.15) + rng.normal(0, 0.1, 4000)
    noise = rng.random(4000)
    contrary = np.where(truth, 0.45, 0.55)  # weakly anti-correlated: must not get a negative vote
    probs = np.clip(np.stack([good, noise, contrary]), 0, 1)[:, None, :]
    features = stack_features(probs, np.zeros((1, 4000, 3), np.uint8))
    stacker = Stacker(EnsembleConfig()).fit(features, truth, members=3)
    weights = stacker.weights()
    assert weights[0] > 1.0 and abs(weights[1]) < 0.5 and weights[2] >= 0.0
    assert ((stacker.predict_proba(features) > stacker.threshold) == truth).mean() > 0.9


def test_stacker_one_class_falls_back_to_mean():
    features = stack_features(np.full((2, 1, 10), 0.7, np.float32), np.zeros((1, 10, 3), np.uint8))
    stacker = Stacker(EnsembleConfig()).fit(features, np.zeros(10, bool))
    np.testing.assert_allclose(stacker.predict_proba(features), 0.7, atol=1e-6)


def test_threshold_and_calibration():
    assert best_threshold(np.array([0.1, 0.45, 0.6, 0.9]), np.array([False, True, True, True])) == 0.4
    out = calibrate(np.array([0.0, 0.4, 0.7, 1.0]), 0.4)
    np.testing.assert_allclose(out, [0.0, 0.5, 0.75, 1.0], atol=1e-6)


def test_synthetic_clip_moves_the_object(small_sample):
    frames, masks = synthetic_clip(small_sample.frames[0], small_sample.masks[0] > 0, 3, seed=1)
    assert len(frames) == len(masks) == 4
    assert frames[3].shape == frames[0].shape and frames[3].dtype == np.uint8
    overlap = (masks[0] & masks[3]).sum() / (masks[0] | masks[3]).sum()
    assert 0.2 < overlap < 0.99 and masks[3].sum() > 0.5 * masks[0].sum()


def test_smoother_emits_every_frame_once_in_order_and_keeps_anchors():
    rng = np.random.default_rng(0)
    smoother = TemporalSmoother(k=2, weight=0.5, anchors=frozenset({3}))
    grey = (rng.random((32, 40)) * 255).astype(np.uint8)
    probs = [np.full((32, 40), v, np.float32) for v in (0.2, 0.4, 0.6, 1.0, 0.3, 0.1, 0.9)]
    out = []
    for i, p in enumerate(probs):
        out += list(smoother.push(i, grey, p))
    out += list(smoother.flush())
    assert [i for i, _ in out] == list(range(len(probs)))
    np.testing.assert_array_equal(out[3][1], probs[3])
    # A still scene: the smoothed value lies between the frame's own and its neighbours'.
    assert 0.2 < float(out[1][1].mean()) < 0.6


@pytest.mark.parametrize("side", [10, 14, 24])
def test_flow_align_follows_what_moves_in_frames_of_any_size(side):
    # Under DIS's smallest size too: a tiny frame's motion is tracked, not taken as still.
    from keyframe.segment.members.flow import dis_flow

    source, target = np.full((side, side), 40, np.uint8), np.full((side, side), 40, np.uint8)
    source[3:6, 2:5], target[3:6, 4:7] = 220, 220
    warped, confidence = flow_align((source > 100).astype(np.float32), target, source, dis_flow())
    np.testing.assert_array_equal(warped > 0.5, target > 100)
    assert confidence.shape == target.shape and confidence.min() > 0.5


def test_tune_ensemble_keeps_the_defaults_unless_a_trial_beats_them():
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1], 600)
    probs = rng.random((2, 1200))
    pixels = np.zeros((1, 1200, 3), np.uint8)
    # Foreground where exactly one member says so: no logistic stack (the default) draws that, a hidden layer does.
    either = (probs[0] > 0.5) ^ (probs[1] > 0.5)
    found = tune_ensemble(stack_features(probs[:, None, :], pixels), either, groups, EnsembleConfig(), trials=6, seed=0)
    assert found is not None
    config, info = found
    assert config.model == "mlp" and info["iou"] > info["default_iou"] + 0.1
    # Foreground where the first member says so: the defaults are already exact, and no trial can do better.
    first = probs[0] > 0.5
    assert tune_ensemble(stack_features(probs[:, None, :], pixels), first, groups, EnsembleConfig(), trials=3, seed=0) is None


def test_vote_lets_a_confident_member_overrule_only_an_unsure_stack():
    from keyframe.segment.ensemble import vote

    stack = np.array([0.55, 0.995, 0.45, 0.005])
    member = np.array([0.0, 0.0, 1.0, 1.0])
    out = vote(stack, [(0.57, member)])
    assert out[0] < 0.5 and out[1] > 0.5 and out[2] > 0.5 and out[3] < 0.5
    np.testing.assert_allclose(vote(stack, []), stack, atol=1e-6)


def test_propagating_members_vote_less_far_from_the_given_masks():
    from keyframe.io import ArrayFrames
    from keyframe.segment.members.flow import FlowMember
    from keyframe.segment.members.grabcut import GrabCutMember
    from keyframe.segment.pipeline import SegmentConfig, SegmentModel

    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    model = SegmentModel(ArrayFrames([np.zeros((16, 16, 3), np.uint8)] * 50), {0: mask, 40: mask}, SegmentConfig())
    model.ensemble = EnsembleConfig(votes={"flow": 0.5, "grabcut": 0.2}, vote_decay=20.0)
    model.members = {"flow": FlowMember(), "grabcut": GrabCutMember()}
    assert model._vote_weight("flow", 40) == 0.5
    np.testing.assert_allclose(model._vote_weight("flow", 20), 0.5 * np.exp(-1.0), rtol=1e-6)
    assert model._vote_weight("grabcut", 20) == 0.2 and model._vote_weight("cnn", 20) == 0.0


def test_tuning_a_stacker_without_image_features_never_adds_them():
    rng = np.random.default_rng(1)
    truth = rng.random(1200) > 0.5
    probs = np.clip(np.stack([np.where(truth, 0.7, 0.3) + rng.normal(0, 0.2, 1200), rng.random(1200)]), 0, 1)
    features = stack_features(probs[:, None, :], np.zeros((1, 1200, 3), np.uint8), image_features=False)
    groups = np.repeat([0, 1], 600)
    # Every trial runs on these columns (before, a trial with image features miscounted the members and failed).
    found = tune_ensemble(features, truth, groups, EnsembleConfig(image_features=False), trials=8, seed=0)
    assert found is None or found[0].image_features is False
