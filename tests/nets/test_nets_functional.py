"""The functional core: TF padding, image conversion, framing, top-k."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from keyframe.nets import functional as KF


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 3, 2, (0, 1)),
        (225, 3, 2, (1, 1)),
        (112, 5, 2, (1, 2)),
        (97, 5, 2, (2, 2)),
        (7, 3, 1, (1, 1)),
        (1, 5, 2, (2, 2)),
    ],
)
def test_same_padding_matches_tensorflow(size, kernel, stride, expected):
    assert KF.same_padding(size, kernel, stride) == expected


@pytest.mark.parametrize("shape", [(1, 2, 8, 8), (1, 2, 9, 10), (2, 2, 5, 6)])
@pytest.mark.parametrize("kernel", [3, 5])
def test_strided_same_conv_pads_bottom_right(shape, kernel):
    gen = torch.Generator().manual_seed(0)
    x, w = torch.rand(shape, generator=gen), torch.rand(3, 2, kernel, kernel, generator=gen)
    top, bottom = KF.same_padding(shape[2], kernel, 2)
    left, right = KF.same_padding(shape[3], kernel, 2)
    expected = F.conv2d(F.pad(x, (left, right, top, bottom)), w, stride=2)
    torch.testing.assert_close(KF.conv2d(x, w, stride=2), expected)
    assert KF.conv2d(x, w, stride=2, padding="symmetric").shape == expected.shape


def test_unknown_padding():
    with pytest.raises(ValueError, match="padding"):
        KF.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), padding="reflect")


def test_images_to_tensor_layouts():
    image = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    single = KF.images_to_tensor(image)
    assert single.shape == (1, 3, 5, 7) and single.dtype == torch.float32
    assert single[0, 2, 1, 3].item() == pytest.approx(image[1, 3, 2] / 255)
    assert KF.images_to_tensor([image, image]).shape == (2, 3, 5, 7)
    assert KF.images_to_tensor(np.stack([image] * 3)).shape == (3, 3, 5, 7)


BAD_IMAGES = [np.zeros((5, 7), np.uint8), np.zeros((5, 7, 4), np.uint8), np.zeros((5, 7, 3), np.float32)]


@pytest.mark.parametrize("bad", BAD_IMAGES)
def test_images_to_tensor_rejects(bad):
    with pytest.raises(ValueError):
        KF.images_to_tensor(bad)


@pytest.mark.parametrize("shape", [(300, 451), (451, 300), (100, 100)])
def test_resize_center_crop(shape):
    assert KF.resize_center_crop(torch.rand(1, 3, *shape), 224).shape == (1, 3, 224, 224)


def test_top_k_is_sorted_probabilities():
    probs, index = KF.top_k(torch.tensor([[0.0, 3.0, 1.0, 2.0]]), k=3)
    assert index.tolist() == [[1, 3, 2]]
    assert probs[0].sum().item() < 1 and torch.all(probs[0, :-1] >= probs[0, 1:])
