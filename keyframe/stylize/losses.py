"""Training losses: masked L1, a perceptual loss on early EfficientNet-Lite0 features, and a hinge GAN loss.

The perceptual loss stands in for the VGG loss of Texler et al. 2020: it compares
the frozen, ImageNet-trained backbone's first feature maps (strides 2 and 4),
which respond to edges, strokes and texture rather than exact pixel values.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean absolute error weighted per pixel by ``weight`` ``(B, 1, H, W)``.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 2, 2); y = torch.ones(1, 3, 2, 2); w = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    >>> float(masked_l1(x, y, w))
    1.0
    """
    total = (weight.sum() * prediction.shape[1]).clamp_min(1e-6)
    return ((prediction - target).abs() * weight).sum() / total


class PerceptualLoss(nn.Module):
    """L1 distance between the early feature maps of a frozen backbone.

    Parameters
    ----------
    backbone
        A module with ``features(x, max_maps) -> list of maps`` taking RGB in
        [0, 1] (``keyframe.nets.get_backbone("efficientnet_lite0")``); only the
        stages up to the last map used are run.
    maps
        How many of the finest feature maps to compare.

    Examples
    --------
    >>> from keyframe.nets import get_backbone  # doctest: +SKIP
    >>> loss = PerceptualLoss(get_backbone("efficientnet_lite0"))  # doctest: +SKIP
    >>> float(loss(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))) > 0  # doctest: +SKIP
    True
    """

    def __init__(self, backbone: nn.Module, maps: int = 2):
        super().__init__()
        self.backbone = backbone
        self.maps = maps

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.backbone.features(x, max_maps=self.maps)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        both = self.features(torch.cat([prediction, target]))
        return sum(F.l1_loss(*f.chunk(2)) for f in both) / len(both)


def load_perceptual(maps: int = 2) -> PerceptualLoss | None:
    """The EfficientNet-Lite0 perceptual loss, or None (with a warning) when the backbone cannot be built."""
    try:
        from keyframe.nets import get_backbone

        backbone = get_backbone("efficientnet_lite0")
    except Exception as error:  # missing weights package or an older keyframe.nets: train on L1 alone
        log.warning("perceptual loss off: EfficientNet-Lite0 unavailable (%s)", error)
        return None
    backbone.requires_grad_(False)
    return PerceptualLoss(backbone.eval(), maps)


def generator_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Adversarial loss of the generator (hinge GAN): raise the critic's score of its output."""
    return -fake_logits.mean()


def critic_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the critic: real patches above +1, generated ones below -1."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
