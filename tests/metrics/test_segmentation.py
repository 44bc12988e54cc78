import json

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import write_mask
from keyframe.metrics import boundary_f, boundary_map, boundary_tolerance, evaluate_masks, jaccard, sequence_stats
from tests.conftest import run_cli


def square(shape, top, left, size):
    mask = np.zeros(shape, bool)
    mask[top : top + size, left : left + size] = True
    return mask


def test_jaccard_cases():
    empty = np.zeros((10, 10), bool)
    assert jaccard(empty, empty) == 1.0
    assert jaccard(square((10, 10), 0, 0, 4), empty) == 0.0
    assert jaccard(square((10, 10), 0, 0, 4), square((10, 10), 0, 2, 4)) == pytest.approx(8 / 24)


def test_boundary_map_follows_davis():
    mask = square((5, 5), 1, 1, 2)
    expected = np.array(
        [
            [1, 1, 1, 0, 0],
            [1, 0, 1, 0, 0],
            [1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ],
        bool,
    )
    np.testing.assert_array_equal(boundary_map(mask), expected)
    full = np.ones((3, 3), bool)
    assert not boundary_map(full).any()
    edge = np.zeros((3, 3), bool)
    edge[2, 0] = True  # last row: compared with east only
    assert boundary_map(edge)[2, 0] and not boundary_map(edge)[2, 2]


def test_boundary_tolerance_davis_480p():
    assert boundary_tolerance((480, 854)) == 8


def test_boundary_f_edge_cases():
    empty = np.zeros((40, 40), bool)
    box = square((40, 40), 10, 10, 15)
    assert boundary_f(empty, empty) == 1.0
    assert boundary_f(empty, box) == 0.0  # no predicted boundary, a true one
    assert boundary_f(box, empty) == 0.0
    assert boundary_f(box, box) == 1.0
    shifted = square((40, 40), 11, 10, 15)  # one pixel: inside a radius-1 disk
    assert boundary_f(shifted, box, tolerance=1) == 1.0
    assert boundary_f(square((40, 40), 14, 14, 15), box, tolerance=1) < 0.5


def test_sequence_stats_recall_and_decay():
    stats = sequence_stats([0.9, 0.9, 0.9, 0.8, 0.4, 0.4, 0.3, 0.3])
    assert stats.mean == pytest.approx(0.6125)
    assert stats.recall == 0.5
    # DAVIS bins 8 frames as [0:3], ..., [5:8]: first bin 0.9, last (0.4 + 0.3 + 0.3) / 3.
    assert stats.decay == pytest.approx(0.9 - 1.0 / 3)


def test_evaluate_masks_and_cli(tmp_path):
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    for i in range(4):
        write_mask(truth / f"{i:05d}.png", square((60, 80), 10, 10, 30) * np.uint8(255))
        write_mask(pred / f"{i:05d}.png", square((60, 80), 10, 10 + i, 30) * np.uint8(255))
    write_mask(pred / "extra.png", np.zeros((60, 80), np.uint8))  # ignored: no truth
    scores = evaluate_masks(pred, truth)
    assert scores["frames"] == 4
    expected_j = np.mean([jaccard(square((60, 80), 10, 10 + i, 30), square((60, 80), 10, 10, 30)) for i in range(4)])
    assert scores["J"]["mean"] == pytest.approx(expected_j)
    assert scores["JF"] == pytest.approx((scores["J"]["mean"] + scores["F"]["mean"]) / 2)
    result = run_cli("segment", "eval", pred, truth, "--json", tmp_path / "s.json")
    assert result.returncode == 0, result.stderr
    assert "J&F" in result.stdout
    saved = json.loads((tmp_path / "s.json").read_text())
    assert set(saved["per_frame"]) == {"00000", "00001", "00002", "00003"}
    # An earlier eval's JSON is replaced; any other file is refused before any work, and kept.
    assert run_cli("segment", "eval", pred, truth, "--json", tmp_path / "s.json").returncode == 0
    (tmp_path / "notes.json").write_text("mine")
    refused = run_cli("segment", "eval", pred, truth, "--json", tmp_path / "notes.json")
    assert refused.returncode == 2 and "notes.json: exists and is not a segment eval's JSON" in " ".join(refused.stderr.split())
    assert (tmp_path / "notes.json").read_text() == "mine"


def _write_sequence(folder, masks):
    for i, mask in enumerate(masks):
        write_mask(folder / f"{i:05d}.png", mask)
    return folder


def two_objects(shape=(60, 80)):
    """A label map with object 1 top left and object 2 bottom right (far apart: beyond F's tolerance)."""
    mask = np.zeros(shape, np.uint8)
    mask[square(shape, 5, 5, 15)] = 1
    mask[square(shape, 35, 50, 15)] = 2
    return mask


def test_label_maps_are_scored_per_object(tmp_path):
    truth = _write_sequence(tmp_path / "truth", [two_objects()] * 4)
    perfect = evaluate_masks(_write_sequence(tmp_path / "same", [two_objects()] * 4), truth)
    assert perfect["J"]["mean"] == perfect["F"]["mean"] == 1.0 and perfect["objects"] == [1, 2]
    # The two objects' labels swapped: each object is where the other is, so nothing matches
    # (scored as one foreground this was a perfect 1.0).
    swapped = np.where(two_objects() > 0, 3 - two_objects(), 0).astype(np.uint8)
    scores = evaluate_masks(_write_sequence(tmp_path / "swapped", [swapped] * 4), truth)
    assert scores["J"]["mean"] == 0.0 and scores["F"]["mean"] == 0.0 and scores["JF"] == 0.0
    assert scores["per_frame"]["00000"]["objects"]["1"] == {"J": 0.0, "F": 0.0}
    result = run_cli("segment", "eval", tmp_path / "swapped", truth)
    assert result.returncode == 0, result.stderr
    assert "J 0.000" in result.stdout and "J&F 0.000" in result.stdout


def test_objects_are_averaged_as_davis_does(tmp_path):
    """Each object's statistics over the frames, then their mean: object 1 perfect, object 2 missed."""
    only_first = np.where(two_objects() == 1, 1, 0).astype(np.uint8)
    scores = evaluate_masks(_write_sequence(tmp_path / "pred", [only_first] * 4),
                            _write_sequence(tmp_path / "truth", [two_objects()] * 4))
    assert scores["J"] == {"mean": 0.5, "recall": 0.5, "decay": 0.0}  # per-frame means (0.5) would give recall 0
    assert scores["per_object"]["2"]["J"]["mean"] == 0.0 and scores["per_object"]["1"]["F"]["mean"] == 1.0


def test_an_object_absent_from_a_frame_scores_one_there(tmp_path):
    first_only = np.where(two_objects() == 1, 1, 0).astype(np.uint8)
    truth = _write_sequence(tmp_path / "truth", [two_objects(), first_only])
    scores = evaluate_masks(_write_sequence(tmp_path / "pred", [two_objects(), first_only]), truth)
    assert scores["objects"] == [1, 2] and scores["J"]["mean"] == 1.0
    assert scores["per_frame"]["00001"]["objects"]["2"] == {"J": 1.0, "F": 1.0}


def test_void_pixels_of_a_label_map_are_background_as_the_davis_2017_evaluation_reads_them(tmp_path):
    import cv2

    outlined = two_objects()
    edges = cv2.morphologyEx((outlined > 0).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    outlined[edges & (outlined == 0)] = 255  # the void ring DAVIS 2017 draws around its objects
    scores = evaluate_masks(_write_sequence(tmp_path / "pred", [two_objects()] * 2),
                            _write_sequence(tmp_path / "truth", [outlined] * 2))
    assert scores["objects"] == [1, 2] and scores["JF"] == 1.0
    one = np.where(outlined == 2, 0, outlined).astype(np.uint8)  # one object and void: still scored as object 1
    scores = evaluate_masks(_write_sequence(tmp_path / "pred1", [np.where(two_objects() == 1, 1, 0).astype(np.uint8)]),
                            _write_sequence(tmp_path / "truth1", [one]))
    assert scores["objects"] == [1] and scores["JF"] == 1.0


def test_a_binary_truth_counts_any_nonzero_value_as_foreground(tmp_path):
    truth = _write_sequence(tmp_path / "truth", [(two_objects() > 0).astype(np.uint8) * 255])
    pred = _write_sequence(tmp_path / "pred", [two_objects()])  # other values, same pixels
    scores = evaluate_masks(pred, truth)
    assert scores["J"]["mean"] == scores["F"]["mean"] == 1.0 and scores["objects"] == []
    assert "per_object" not in scores and set(scores["per_frame"]["00000"]) == {"J", "F"}


def test_a_file_or_an_empty_folder_given_for_masks_is_named_for_what_it_is(tmp_path):
    truth = _write_sequence(tmp_path / "truth", [two_objects()])
    (tmp_path / "clip.mp4").write_bytes(b"not a folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyframeError, match="clip.mp4: is a file, not a folder of masks"):
        evaluate_masks(tmp_path / "clip.mp4", truth)
    with pytest.raises(KeyframeError, match="missing: no such folder of masks"):
        evaluate_masks(truth, tmp_path / "missing")
    with pytest.raises(KeyframeError, match="empty: contains no mask images"):
        evaluate_masks(tmp_path / "empty", truth)
    result = run_cli("segment", "eval", truth, tmp_path / "empty")
    assert result.returncode == 2 and "empty: contains no mask images" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("shape", [(0, 0), (0, 12), (5,), (20, 20, 1)])
def test_boundary_f_refuses_empty_and_other_than_2d_masks(shape):
    with pytest.raises(ValueError, match=r"boundary_f needs 2-D masks \(H, W\) of at least one pixel"):
        boundary_f(np.zeros(shape), np.zeros(shape))


@pytest.mark.parametrize("tolerance", [-5, -1, 0.008, 2.5, 58, 1e9, float("nan")])
def test_boundary_f_refuses_tolerances_that_are_no_radius_within_the_masks(tolerance):
    box = square((40, 40), 10, 10, 15)
    # -5 acted as radius 1 (an empty disk, replaced by OpenCV's 3x3), 1e9 ran out of memory.
    with pytest.raises(ValueError, match=r"tolerance must be a whole number of pixels from 0 to 57 \(the masks' diagonal\)"):
        boundary_f(box, square((40, 40), 13, 10, 15), tolerance=tolerance)


def test_boundary_f_takes_whole_tolerances_up_to_the_diagonal():
    box, shifted = square((40, 40), 10, 10, 15), square((40, 40), 13, 10, 15)
    assert boundary_f(shifted, box, tolerance=0) < boundary_f(shifted, box, tolerance=2) < 1.0
    assert boundary_f(shifted, box, tolerance=2.0) == boundary_f(shifted, box, tolerance=np.int64(2))
    assert boundary_f(shifted, box, tolerance=3) == boundary_f(shifted, box, tolerance=57) == 1.0
    with pytest.raises(TypeError, match="tolerance must be a number of pixels or None, got str"):
        boundary_f(box, box, tolerance="8")


def test_a_predicted_mask_cut_short_or_of_another_size_is_refused_before_any_mask_is_decoded(tmp_path, monkeypatch):
    import keyframe.io.images

    truth = _write_sequence(tmp_path / "truth", [square((60, 80), 10, 10, 30) * np.uint8(255)] * 3)
    pred = _write_sequence(tmp_path / "pred", [square((60, 80), 10, 10, 30) * np.uint8(255)] * 3)
    decoded = []
    real_read_mask = keyframe.io.images.read_mask
    monkeypatch.setattr(keyframe.io.images, "read_mask", lambda path: decoded.append(path) or real_read_mask(path))
    last = pred / "00002.png"
    last.write_bytes(last.read_bytes()[:-20])
    with pytest.raises(KeyframeError, match="00002.png: is truncated"):
        evaluate_masks(pred, truth)
    write_mask(last, np.zeros((40, 80), np.uint8))
    with pytest.raises(KeyframeError, match="00002.png: is 80x40 but its truth is 80x60"):
        evaluate_masks(pred, truth)
    assert not decoded
