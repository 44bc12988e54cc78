import torch

from keyframe.stylize import Generator, GeneratorConfig, PatchDiscriminator


def test_untrained_generator_returns_its_input():
    net = Generator(GeneratorConfig(widths=(8, 16), res_blocks=1))
    x = torch.rand(2, 3, 32, 48)
    assert torch.equal(net(x), x)


def test_generator_with_guides_keeps_size_and_outputs_rgb():
    config = GeneratorConfig(guide_channels=3, widths=(8, 16, 24), res_blocks=1, unshuffle=2)
    assert config.stride == 8
    assert Generator(config)(torch.rand(1, 6, 40, 64)).shape == (1, 3, 40, 64)


def test_fully_convolutional_patch_and_frame_agree_inside():
    # No normalisation layers: a patch sees the same function as the full frame,
    # so a crop of the full output equals the output of the crop away from its border.
    torch.manual_seed(0)
    net = Generator(GeneratorConfig(widths=(8, 16), res_blocks=1, unshuffle=1)).eval()
    for p in net.out.parameters():
        torch.nn.init.normal_(p, std=0.1)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        full = net(x)
        crop = net(x[..., 8:56, 8:56])
    torch.testing.assert_close(full[..., 24:40, 24:40], crop[..., 16:32, 16:32], atol=1e-5, rtol=0)


def test_config_round_trips_through_a_dict():
    config = GeneratorConfig(guide_channels=3, widths=(4, 8), res_blocks=2, unshuffle=1)
    assert GeneratorConfig.from_dict(config.to_dict()) == config


def test_patch_discriminator_gives_a_logit_map():
    assert PatchDiscriminator(width=8)(torch.rand(3, 3, 32, 32)).shape == (3, 1, 8, 8)
