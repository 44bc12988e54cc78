"""The backbone registry."""

import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.nets import BACKBONES, available_backbones, get_backbone


def test_default_is_efficientnet_lite0():
    assert available_backbones()[0] == "efficientnet_lite0"
    assert get_backbone.__defaults__[0] == "efficientnet_lite0"


def test_keywords_reach_the_factory():
    net = get_backbone(pretrained=False, channels_last=False)
    assert net.stem.conv.weight.is_contiguous()


def test_unknown_backbone():
    with pytest.raises(KeyframeError, match="resnet9000: unknown backbone; choose from efficientnet_lite0"):
        get_backbone("resnet9000")


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        BACKBONES["mine"] = torch.nn.Identity


def test_max_maps_stops_early_with_the_same_maps():
    net = get_backbone(pretrained=False)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        every, first_two = net.features(x), net.features(x, max_maps=2)
    assert len(first_two) == 2 and all(torch.equal(a, b) for a, b in zip(every, first_two))
