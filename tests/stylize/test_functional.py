import numpy as np
import torch

from keyframe.stylize import functional as SF


def test_pad_then_crop_restores_the_frame():
    x = torch.rand(1, 3, 30, 17)
    padded, size = SF.pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (32, 24)
    assert torch.equal(SF.crop_to(padded, size), x)
    # Replicated edge, not zeros: the network sees no artificial border.
    assert torch.equal(padded[..., -1, :17], x[..., -1, :])


def test_tensor_image_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(SF.to_image(SF.to_tensor(image)), image)


def test_feathered_masks_of_a_partition_sum_to_one():
    labels = np.zeros((40, 50), np.uint8)
    labels[10:30, 15:35] = 255
    labels[:, 40:] = 3
    soft = sum(SF.feather(labels == v, 5) for v in (0, 3, 255))
    np.testing.assert_allclose(soft, 1.0, atol=1e-5)
    assert 0 < SF.feather(labels == 255, 5)[10, 25] < 1


def test_composite_blends_segments_without_leaking_the_original_at_seams():
    frame = np.zeros((20, 20, 3), np.uint8)
    labels = np.zeros((20, 20), np.uint8)
    labels[:, 10:] = 1
    layers = {0: np.full((20, 20, 3), 100, np.uint8), 1: np.full((20, 20, 3), 200, np.uint8)}
    out = SF.composite_frame(frame, labels, layers, radius=4)
    # Both segments stylized: every pixel is a mix of the two layers, none of the black frame.
    assert out.min() >= 100 and out.max() <= 200
    assert out[0, 0, 0] == 100 and out[0, 19, 0] == 200
    assert 100 < out[0, 10, 0] < 200
    # A segment without a layer keeps the frame.
    only = SF.composite_frame(frame, labels, {1: layers[1]}, radius=0)
    assert only[0, 0, 0] == 0 and only[0, 19, 0] == 200


def test_unblend_takes_a_feathered_layer_apart_from_the_frame_it_was_blended_over():
    rng = np.random.default_rng(0)
    frame, layer = (rng.integers(0, 256, (30, 30, 3), dtype=np.uint8) for _ in range(2))
    labels = np.zeros((30, 30), np.uint8)
    labels[:, 15:] = 1
    alpha = SF.feather(labels == 1, 4)
    blended = SF.composite_frame(frame, labels, {1: layer}, 4)  # a run that stylized segment 1 only
    recovered = SF.unblend(blended, frame, alpha).astype(float)
    inner = alpha > 0.25
    assert np.abs(recovered - layer)[inner].max() <= 2  # rounding, divided by alpha
    weighted = np.abs(alpha[..., None] * (recovered - layer))
    assert weighted.max() <= 1.0  # what a composite with the same feather takes of it: exact up to two roundings
    np.testing.assert_array_equal(recovered[alpha == 0], blended[alpha == 0])
    np.testing.assert_array_equal(SF.unblend(blended, frame, np.zeros((30, 30), np.float32)), blended)


def test_patches_are_centred_inside_the_mask():
    rng = np.random.default_rng(0)
    image = np.zeros((40, 60, 3), np.float32)
    image[20:30, 40:50] = 1.0  # the only place patches may centre on
    mask = np.zeros((40, 60), bool)
    mask[20:30, 40:50] = True
    padded = SF.pad_for_patches(image, 8)
    weight = SF.pad_for_patches(mask.astype(np.float32), 8)
    x, y, w = SF.sample_patches([padded], [padded], [weight], [np.flatnonzero(mask)], 8, 16, rng)
    assert x.shape == (16, 3, 8, 8) and y.shape == (16, 3, 8, 8) and w.shape == (16, 1, 8, 8)
    assert torch.all(x[:, :, 4, 4] == 1.0) and torch.all(w[:, 0, 4, 4] == 1.0)


def test_patch_sampling_is_reproducible_from_the_seed():
    image = SF.pad_for_patches(np.random.default_rng(1).random((30, 30, 3)).astype(np.float32), 8)
    weight = SF.pad_for_patches(np.ones((30, 30), np.float32), 8)
    args = ([image, image], [image, image], [weight, weight], [np.arange(900), np.arange(450)], 8, 10)
    a = SF.sample_patches(*args, np.random.default_rng(5))
    b = SF.sample_patches(*args, np.random.default_rng(5))
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_guided_upsample_carries_a_colour_map_to_full_resolution():
    full = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    low = torch.nn.functional.interpolate(full, size=(32, 32), mode="area")
    out = SF.guided_upsample(low, 0.5 * low + 0.2, full)
    assert out.shape == full.shape
    # An affine colour map is reproduced at full resolution, fine detail included.
    assert torch.mean(torch.abs(out - (0.5 * full + 0.2))) < 0.03


def test_bounding_box_with_margin_is_clipped():
    region = np.zeros((10, 10), bool)
    region[0, 9] = True
    assert SF.bounding_box(region, margin=3) == (slice(0, 4), slice(6, 10))
    assert SF.bounding_box(np.zeros((4, 4), bool)) is None
