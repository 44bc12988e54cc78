"""Fixtures of the segmentation tests: the small sample as a frame folder with masks."""

from __future__ import annotations

import numpy as np
import pytest

from keyframe.io import write_image, write_mask


@pytest.fixture(scope="session")
def sample_dirs(tmp_path_factory, small_sample):
    """``(frames_dir, truth_dir)`` of the 24-frame 160x120 sample (masks 0/255)."""
    root = tmp_path_factory.mktemp("sample")
    for stem, frame, mask in zip(small_sample.stems, small_sample.frames, small_sample.masks):
        write_image(root / "frames" / f"{stem}.png", frame)
        write_mask(root / "truth" / f"{stem}.png", mask)
    return root / "frames", root / "truth"


def give_masks(small_sample, folder, indices, masks=None):
    """Write the sample's masks (or ``masks``) of ``indices`` into ``folder``; returns the folder."""
    masks = small_sample.masks if masks is None else masks
    for i in indices:
        write_mask(folder / f"{small_sample.stems[i]}.png", masks[i])
    return folder


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One torch thread, as ``segment`` uses: on a busy 2-core machine two are many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
