import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.stylize import FILTERS, ColorTransfer, apply_filter, lab_stats, reinhard_transfer


def test_reinhard_gives_the_target_statistics():
    rng = np.random.default_rng(0)
    source = rng.integers(40, 200, (32, 32, 3)).astype(np.uint8)
    target = np.clip(source[..., ::-1] * 0.6 + 60, 0, 255).astype(np.uint8)
    out = reinhard_transfer(source, source, target)
    mean, std = lab_stats(out)
    want_mean, want_std = lab_stats(target)
    np.testing.assert_allclose(mean, want_mean, atol=1.5)
    np.testing.assert_allclose(std, want_std, atol=1.5)


def test_fit_many_on_one_pair_equals_fit():
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (16, 16, 3)).astype(np.uint8) for _ in range(2))
    one, many = ColorTransfer.fit(a, b), ColorTransfer.fit_many([(a, b)])
    np.testing.assert_allclose(one.source_mean, many.source_mean, rtol=1e-5)
    np.testing.assert_allclose(one.target_std, many.target_std, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_are_deterministic_and_keep_size(name, small_sample):
    frame = small_sample.frames[0]
    out = apply_filter(name, frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, apply_filter(name, frame))
    assert np.abs(out.astype(int) - frame).mean() > 3  # it does change the look


def test_unknown_filter_is_a_clear_error():
    with pytest.raises(KeyframeError, match="unknown filter"):
        apply_filter("oil", np.zeros((4, 4, 3), np.uint8))
