"""Building blocks of EfficientNet-style networks: conv-BN-ReLU6 and the MBConv block."""

from __future__ import annotations

import torch
from torch import nn

from keyframe.nets import functional as KF

# TF's EfficientNet trains with BN epsilon 1e-3 and decay 0.99; the converted
# running statistics are only right with the same epsilon.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


class ConvBNAct(nn.Module):
    """Convolution without bias, batch norm, then optional ReLU6.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts.
    kernel
        Odd square kernel size.
    stride
        1 or 2.
    groups
        ``in_channels`` for a depthwise convolution.
    act
        Whether to end with ReLU6 (projections are linear).
    padding
        ``"same"`` (TensorFlow) or ``"symmetric"``; see :func:`keyframe.nets.functional.conv2d`.

    Examples
    --------
    >>> ConvBNAct(3, 8, 3, stride=2)(torch.zeros(1, 3, 9, 10)).shape
    torch.Size([1, 8, 5, 5])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
        padding: str = "same",
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()
        self.stride, self.groups, self.padding = stride, groups, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = KF.conv2d(x, self.conv.weight, None, self.stride, self.groups, self.padding)
        return self.act(self.bn(x))


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation (the "Lite" variant).

    1x1 expansion (skipped when ``expand == 1``), depthwise ``kernel`` x
    ``kernel`` convolution with ``stride``, linear 1x1 projection, and an
    identity shortcut when the shape is unchanged.

    Examples
    --------
    >>> MBConv(16, 24, kernel=3, stride=2, expand=6)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 24, 4, 4])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int, padding: str = "same"
    ):
        super().__init__()
        mid = in_channels * expand
        self.expand = ConvBNAct(in_channels, mid, 1, padding=padding) if expand != 1 else nn.Identity()
        self.depthwise = ConvBNAct(mid, mid, kernel, stride, groups=mid, padding=padding)
        self.project = ConvBNAct(mid, out_channels, 1, act=False, padding=padding)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y
