"""Growing segments into the background (`--grow`): hair or fur the masks left out."""

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import grow_segments, open_frames, write_image, write_mask
from keyframe.io.images import SegmentMasks


def test_each_background_pixel_within_reach_takes_its_nearest_segment():
    labels = np.zeros((40, 60), np.uint8)
    labels[10:30, 5:15], labels[10:30, 40:50] = 3, 255
    grown = grow_segments(labels, 4)
    near_three, near_255 = np.zeros_like(labels, bool), np.zeros_like(labels, bool)
    rows, cols = np.mgrid[:40, :60]
    for value, box, near in ((3, (10, 30, 5, 15), near_three), (255, (10, 30, 40, 50), near_255)):
        dy = np.maximum(np.maximum(box[0] - rows, rows - (box[1] - 1)), 0)
        dx = np.maximum(np.maximum(box[2] - cols, cols - (box[3] - 1)), 0)
        near |= np.hypot(dy, dx) <= 4 - 0.5  # well inside the reach: OpenCV's distance is close to the true one
    assert (grown[near_three] == 3).all() and (grown[near_255] == 255).all()
    assert grown[0, 30] == 0 and grown[20, 27] == 0  # far from both: still background
    assert (grown[labels != 0] == labels[labels != 0]).all()  # segments keep every pixel they had
    assert set(np.unique(grown).tolist()) == {0, 3, 255}


def test_two_segments_share_the_gap_between_them_by_distance():
    labels = np.zeros((1, 12), np.uint8)
    labels[0, 0], labels[0, 11] = 1, 2
    assert grow_segments(labels, 20).tolist() == [[1] * 6 + [2] * 6]


def test_nothing_to_grow_returns_the_labels_and_bad_reaches_are_refused():
    empty, full = np.zeros((5, 5), np.uint8), np.full((5, 5), 7, np.uint8)
    assert (grow_segments(empty, 3) == 0).all() and (grow_segments(full, 3) == 7).all()
    labels = np.zeros((5, 5), np.uint8)
    labels[2, 2] = 9
    assert np.array_equal(grow_segments(labels, 0), labels)
    for bad, message in ((-1, "must be a number >= 0"), (51, "must be a number <= 50"), (float("nan"), "must be a finite number")):
        with pytest.raises(KeyframeError, match=f"--grow {message}"):
            grow_segments(labels, bad)


def test_segment_masks_grow_what_they_read_and_name_the_growth_in_their_identity(tmp_path):
    labels = np.zeros((16, 16), np.uint8)
    labels[6:10, 6:10] = 255
    write_image(tmp_path / "frames" / "a.png", np.zeros((16, 16, 3), np.uint8))
    write_mask(tmp_path / "masks" / "a.png", labels)
    source = open_frames(tmp_path / "frames")
    plain, grown = SegmentMasks(tmp_path / "masks", source), SegmentMasks(tmp_path / "masks", source, grow=2)
    assert (plain.labels("a") == 255).sum() == 16 and (grown.labels("a") == 255).sum() > 16
    assert np.array_equal(grown.read("a"), labels) and grown.check_all() == {0, 255}
    assert "grow" not in plain.identity() and grown.identity()["grow"] == 2.0
    with pytest.raises(KeyframeError, match="--grow must be a number <= 50"):
        SegmentMasks(tmp_path / "masks", source, grow=80)


def test_checking_every_mask_names_the_first_bad_one_in_frame_order(tmp_path):
    # The masks are read on every core: the error must still be the first bad frame's, and the values all of them.
    for index in range(12):
        write_image(tmp_path / "frames" / f"{index:03d}.png", np.zeros((8, 8, 3), np.uint8))
        write_mask(tmp_path / "masks" / f"{index:03d}.png", np.full((8, 8), index + 1, np.uint8))
    source = open_frames(tmp_path / "frames")
    assert SegmentMasks(tmp_path / "masks", source).check_all() == set(range(1, 13))
    folding = np.zeros((8, 8, 3), np.uint8)
    folding[:4], folding[4:] = (255, 0, 0), (0, 255, 0)  # red and green objects that fold into one value
    for index in (9, 4):
        write_image(tmp_path / "masks" / f"{index:03d}.png", folding)
    with pytest.raises(KeyframeError, match="004.png: holds 2 colours"):
        SegmentMasks(tmp_path / "masks", source).check_all()
