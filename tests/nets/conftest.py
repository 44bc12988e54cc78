"""Shared fixtures for the backbone tests: one pretrained network for the whole session."""

import pytest
import skimage.data

from keyframe.nets import get_backbone


@pytest.fixture(scope="session")
def backbone():
    # Loading once keeps the suite fast; tests that change freezing build their own.
    return get_backbone()


@pytest.fixture(scope="session")
def chelsea():
    return skimage.data.chelsea()


@pytest.fixture(scope="session")
def coffee():
    return skimage.data.coffee()
