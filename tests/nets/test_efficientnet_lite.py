"""EfficientNet-Lite0: predictions, preprocessing, feature geometry, freezing."""

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from keyframe.nets import classify, efficientnet_lite0, images_to_tensor
from keyframe.nets import functional as KF
from keyframe.nets.efficientnet_lite import EfficientNetLite, load_pretrained

CATS = range(281, 286)
CUPS = {967, 968, 504}  # espresso, cup, coffee mug
DAVIS = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis"
CARS = [436, 468, 479, 511, 581, 609, 627, 656, 661, 717, 751, 817]
BEARS = [294, 295, 296, 297]


def test_chelsea_is_a_cat(backbone, chelsea):
    (best, probability), *_ = classify(chelsea, k=5, backbone=backbone)[0]
    assert best in CATS
    assert probability > 0.2


def test_coffee_is_a_cup(backbone, coffee):
    assert classify(coffee, k=1, backbone=backbone)[0][0][0] in CUPS


def test_batch_matches_single_images(backbone, chelsea, coffee):
    both = classify(np.stack([chelsea, coffee[:300, :451]]), k=1, backbone=backbone)
    assert both[0][0][0] in CATS and both[1][0][0] in CUPS


def test_odd_sized_input_gives_every_stride(backbone):
    x = torch.rand(2, 3, 97, 130, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = backbone(x)
    assert backbone.feature_strides == (2, 4, 8, 16, 32)
    assert backbone.feature_channels == (16, 24, 40, 112, 320)
    for feature, stride, channels in zip(out.features, backbone.feature_strides, backbone.feature_channels):
        assert feature.shape == (2, channels, math.ceil(97 / stride), math.ceil(130 / stride))
    assert out.embedding.shape == (2, backbone.embedding_dim)
    assert out.logits.shape == (2, 1000)
    # The single pass must agree with the methods that stop early.
    with torch.inference_mode():
        torch.testing.assert_close(out.embedding, backbone.embed(x))
        torch.testing.assert_close(out.logits, backbone.logits(x))


def test_rejects_uint8_and_wrong_channels(backbone):
    with pytest.raises(ValueError, match="float RGB"):
        backbone.features(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="float RGB"):
        backbone.features(torch.zeros(1, 4, 32, 32))


def test_images_of_0_to_255_are_refused_and_other_layouts_of_one_image_classify_alike(backbone, chelsea):
    x = images_to_tensor(chelsea)
    with pytest.raises(ValueError, match=r"expected RGB values in \[0, 1\], got 0 to 231 \(0-255 values\? divide"):
        backbone.embed(x * 255)  # it gave a plausible embedding: 4% for the best class
    with pytest.raises(ValueError, match="expected RGB values in"):
        classify(x * 255, backbone=backbone)
    best = classify(chelsea, k=1, backbone=backbone)[0][0][0]
    assert classify(torch.from_numpy(chelsea), k=1, backbone=backbone)[0][0][0] == best  # a uint8 (H, W, 3) tensor
    assert classify(x[0], k=1, backbone=backbone)[0][0][0] == best  # one (3, H, W) image
    with torch.inference_mode():
        torch.testing.assert_close(backbone.embed(x.double()), backbone.embed(x))  # float64 is taken as float32
    with pytest.raises(ValueError, match="max_maps is how many feature maps to return, 1 or more"):
        backbone.features(x, max_maps=0)  # it returned every map


def test_classify_reads_a_path_and_names_a_bad_k_or_size(backbone, chelsea, tmp_path):
    from keyframe.errors import KeyframeError
    from keyframe.io import write_image

    write_image(tmp_path / "cat.png", chelsea)
    assert classify(tmp_path / "cat.png", k=1, backbone=backbone) == classify(chelsea, k=1, backbone=backbone)
    assert classify(str(tmp_path / "cat.png"), k=1, backbone=backbone)[0][0][0] in range(281, 286)
    for options, message in (({"k": 0}, "classify k must be a whole number >= 1, got 0"),
                             ({"k": 1.5}, "classify k must be a whole number >= 1, got 1.5"),
                             ({"k": 1001}, "classify k must be at most 1000"),
                             ({"size": 0}, "classify size must be a whole number >= 32, got 0")):
        with pytest.raises(KeyframeError, match=re.escape(message)):  # not torch's errors from topk or interpolate
            classify(chelsea, backbone=backbone, **options)
    with pytest.raises(KeyframeError, match="nope.png: no such file"):
        classify(tmp_path / "nope.png", backbone=backbone)


def test_channels_last_is_only_a_layout(backbone, chelsea):
    plain = efficientnet_lite0(channels_last=False)
    x = KF.resize_center_crop(images_to_tensor(chelsea))
    with torch.inference_mode():
        torch.testing.assert_close(plain.logits(x), backbone.logits(x), atol=1e-3, rtol=1e-3)


def test_input_scaling_matches_the_training_statistics(chelsea, coffee):
    """The stem's batch-norm statistics record what inputs the weights saw in training.

    With (255 x - 127) / 128 the stem outputs' variance is near the stored
    running variance; ImageNet mean/std scaling overshoots it about 2.7x.
    """
    x = torch.cat([KF.resize_center_crop(images_to_tensor(im)) for im in (chelsea, coffee)])

    def log_variance_error(mean, std):
        net = load_pretrained(EfficientNetLite(mean=mean, std=std))
        with torch.inference_mode():
            y = KF.conv2d(KF.normalize(x, net.mean, net.std), net.stem.conv.weight, None, stride=2)
        ratio = y.var(dim=(0, 2, 3)) / net.stem.bn.running_var
        return ratio[net.stem.bn.running_var > 1e-3].log().abs().median().item()

    assert log_variance_error(KF.HALF_MEAN, KF.HALF_STD) < log_variance_error(KF.IMAGENET_MEAN, KF.IMAGENET_STD) - 0.2


@pytest.mark.slow
@pytest.mark.skipif(not DAVIS.is_dir(), reason="needs ../shared/data/davis")
def test_tf_same_padding_predicts_better_than_symmetric(backbone):
    """The weights come from TensorFlow: its "same" padding beats symmetric padding clearly."""
    frames = [(path, BEARS) for path in sorted((DAVIS / "bear" / "frames").glob("*.jpg"))[::20]]
    frames += [(path, CARS) for path in sorted((DAVIS / "car-turn" / "frames").glob("*.jpg"))[::20]]
    x = torch.cat([KF.resize_center_crop(images_to_tensor(cv2.imread(str(p))[..., ::-1])) for p, _ in frames])

    def mean_log_likelihood(net):
        with torch.inference_mode():
            probs = net.logits(x).softmax(-1)
        return np.mean([probs[i, classes].sum().log().item() for i, (_, classes) in enumerate(frames)])

    symmetric = load_pretrained(EfficientNetLite(padding="symmetric"))
    assert mean_log_likelihood(backbone) > mean_log_likelihood(symmetric) + 0.15


def test_frozen_by_default(backbone):
    assert not backbone.training
    assert not any(p.requires_grad for p in backbone.parameters())


def test_frozen_backbone_passes_gradients_to_its_input(backbone):
    # What a perceptual loss needs: no weight gradients, but d(loss)/d(image).
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    backbone.features(x)[2].square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in backbone.parameters())


def test_train_mode_keeps_frozen_stages_in_eval():
    net = efficientnet_lite0(pretrained=False).train()
    leaves = [m for m in net.modules() if not list(m.children())]
    assert not any(m.training for m in leaves)


def test_unfreeze_from_stage_trains_only_later_stages():
    net = efficientnet_lite0(pretrained=False).unfreeze(from_stage=6).train()
    stages = net.stage_modules()
    assert len(stages) == net.num_stages == 9
    for index, stage in enumerate(stages):
        assert all(p.requires_grad == (index >= 6) for p in stage.parameters())
        assert stage.training == (index >= 6)
    assert net.dropout.training

    net.logits(torch.rand(2, 3, 32, 32)).sum().backward()
    assert net.stem.conv.weight.grad is None
    assert net.classifier.weight.grad is not None and net.stages[5][0].project.conv.weight.grad is not None

    net.freeze()
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_unfreeze_checks_the_stage():
    net = efficientnet_lite0(pretrained=False)
    with pytest.raises(ValueError, match="from_stage"):
        net.unfreeze(from_stage=10)
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
