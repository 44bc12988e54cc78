"""The seed's shifted windows, and the clip-length check."""

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.motion.windows import WindowConfig, check_length, make_windows, shifted_sequences, window_count


def test_windows_are_the_seeds_columns_read_top_to_bottom():
    features = np.arange(20, dtype=np.float32)[:, None] * [1, -1]
    inputs, targets = make_windows(features, length=9)
    seq_in, seq_out = shifted_sequences(features, length=9)
    assert inputs.shape == (11, 9, 2) and seq_in.shape == (9, 11, 2)
    np.testing.assert_array_equal(inputs, seq_in.transpose(1, 0, 2))
    np.testing.assert_array_equal(targets, seq_out.transpose(1, 0, 2))
    # Targets are the inputs shifted by one frame; the last target is the last frame.
    np.testing.assert_array_equal(targets[:, :-1], inputs[:, 1:])
    assert targets[-1, -1, 0] == 19


@pytest.mark.parametrize("length", [2, 5, 9, 16])
def test_window_count_matches_make_windows(length):
    for frames in range(0, 40):
        assert window_count(frames, length) == len(make_windows(np.zeros((frames, 1)), length)[0])


def test_clip_shorter_than_window_names_the_clip():
    check_length(10, 9, "ok.mp4")
    with pytest.raises(KeyframeError, match=r"short\.mp4: has 9 frames; a window of 9 needs at least 10"):
        check_length(9, 9, "short.mp4")


def test_window_config_rejects_nonsense():
    with pytest.raises(ValueError):
        WindowConfig(length=1)
    with pytest.raises(ValueError, match="window length must be a whole number from 2 to 1000 frames, got 2.5"):
        WindowConfig(length=2.5)
    assert WindowConfig(length=4).span == 5


def test_the_window_helpers_check_length_and_stride_as_the_config_does():
    features = np.arange(12.0)[:, None]
    for length, stride, message in [(0, 1, "window length"), (-3, 1, "window length"), (3, 0, "window stride")]:
        with pytest.raises(ValueError, match=message):  # they gave empty windows or a ZeroDivisionError
            make_windows(features, length=length, stride=stride)
    with pytest.raises(ValueError, match="window length"):
        shifted_sequences(features, length=0)
    inputs, targets = make_windows(list(range(12)), length=3)  # a list is taken as an array
    assert inputs.shape == (9, 3) and targets[0].tolist() == [1, 2, 3]
    assert make_windows(features, length=20)[0].shape == (0, 20, 1)  # too few frames: no window, as documented
