import json

import numpy as np
import pytest

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
