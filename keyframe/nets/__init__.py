"""Pretrained image backbones: multi-scale features, embeddings and ImageNet logits.

Backbones take RGB floats in ``[0, 1]`` shaped ``(B, 3, H, W)`` (any ``H, W``;
see :func:`images_to_tensor` for uint8 images) and normalise internally. They
are built frozen, in eval mode; call ``unfreeze(from_stage=k)`` to fine-tune.

Examples
--------
>>> import numpy as np, torch
>>> net = get_backbone()
>>> x = images_to_tensor(np.zeros((97, 130, 3), np.uint8))
>>> with torch.inference_mode():
...     maps = net.features(x)
>>> [m.shape[-2:] for m in maps][-1], net.feature_channels
(torch.Size([4, 5]), (16, 24, 40, 112, 320))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType

import cv2
import numpy as np
import torch
from torch import nn

from keyframe.errors import KeyframeError, check_count
from keyframe.nets.efficientnet_lite import BackboneOutput, EfficientNetLite, efficientnet_lite0
from keyframe.nets.functional import images_to_tensor, resize_center_crop, top_k

DEFAULT_BACKBONE = "efficientnet_lite0"

# Read-only so that no caller can register a backbone behind another's back;
# a new backbone is added here, as a factory taking ``pretrained`` and keywords.
BACKBONES: Mapping[str, Callable[..., nn.Module]] = MappingProxyType({
    "efficientnet_lite0": efficientnet_lite0,
})

__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "BackboneOutput",
    "EfficientNetLite",
    "available_backbones",
    "classify",
    "efficientnet_lite0",
    "get_backbone",
    "imagenet_class_names",
    "images_to_tensor",
    "resize_center_crop",
    "top_k",
]


def available_backbones() -> tuple[str, ...]:
    """Names accepted by :func:`get_backbone`, default first.

    Examples
    --------
    >>> available_backbones()[0]
    'efficientnet_lite0'
    """
    return (DEFAULT_BACKBONE, *sorted(n for n in BACKBONES if n != DEFAULT_BACKBONE))


def get_backbone(name: str = DEFAULT_BACKBONE, pretrained: bool = True, **kwargs) -> nn.Module:
    """Build a backbone by name, frozen and in eval mode.

    Parameters
    ----------
    name
        One of :func:`available_backbones`.
    pretrained
        Load the ImageNet weights (shipped with a pip package; nothing is downloaded).
    **kwargs
        Passed to the backbone's factory, e.g. ``weights=`` a fine-tuned file
        or ``channels_last=False``.

    Raises
    ------
    KeyframeError
        For an unknown name, or weights that are missing or damaged.

    Examples
    --------
    >>> get_backbone("efficientnet_lite0", pretrained=False).embedding_dim
    1280
    """
    if name not in BACKBONES:
        raise KeyframeError(f"{name}: unknown backbone; choose from {', '.join(available_backbones())}")
    return BACKBONES[name](pretrained=pretrained, **kwargs)


def _shrunk(images: np.ndarray, short_side: int) -> np.ndarray:
    """uint8 ``images`` (one or a batch) area-averaged to ``short_side`` pixels on their short side when they are
    more than twice that: a large photo would otherwise be made a float tensor whole (4 bytes a sample) only to
    be shrunk to the classifier's square."""
    height, width = images.shape[-3:-1] if images.ndim >= 3 else (0, 0)
    if images.dtype != np.uint8 or min(height, width) <= 2 * short_side:
        return images
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if images.ndim == 3:
        return cv2.resize(images, size, interpolation=cv2.INTER_AREA)
    return np.stack([cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images])


IMAGENET_CLASSES = 1000
MIN_CLASSIFY_SIDE = 32  # the backbone's coarsest stride: a smaller square leaves it less than one cell


def imagenet_class_names() -> list[str]:
    """The ImageNet classes' names, by the index :func:`classify` gives (each its WordNet synset's first lemma;
    two pairs share a name: 134 and 517 are both ``crane``, the bird and the machine, and 638 and 639 ``maillot``).

    Examples
    --------
    >>> names = imagenet_class_names()
    >>> len(names), names[0], names[281]
    (1000, 'tench', 'tabby')
    """
    from importlib.resources import files

    lines = files("keyframe.nets").joinpath("imagenet_classes.txt").read_text(encoding="utf-8").splitlines()
    return [line.split(",")[0].strip() for line in lines]


def classify(
    images: np.ndarray | torch.Tensor | str | os.PathLike, k: int = 5, backbone: nn.Module | None = None, size: int = 224
) -> list[list[tuple[int, float]]]:
    """Top-``k`` ImageNet ``(class index, probability)`` pairs per image, best first.

    Each image is framed as in ImageNet evaluation (short side scaled,
    centred ``size`` square), which is what the classifier was trained on.

    Parameters
    ----------
    images
        uint8 RGB ``(H, W, 3)`` / ``(B, H, W, 3)`` (an array or a tensor), or a float ``(B, 3, H, W)`` or
        ``(3, H, W)`` tensor in ``[0, 1]``; or an image file's path, read upright with any transparent part
        over white (:func:`~keyframe.io.images.flattened`).
    k
        How many classes to return per image (1 to 1000).
    backbone
        A built backbone to reuse; the default one is loaded otherwise.
    size
        Side of the square the classifier sees.

    Examples
    --------
    >>> import skimage.data
    >>> classify(skimage.data.chelsea(), k=1)[0][0][0] in range(281, 286)  # a cat
    True
    """
    check_count("classify k", k)
    if k > IMAGENET_CLASSES:
        raise KeyframeError(f"classify k must be at most {IMAGENET_CLASSES}, the ImageNet classes, got {k}")
    check_count("classify size", size, minimum=MIN_CLASSIFY_SIDE)
    if isinstance(images, (str, os.PathLike)):
        from keyframe.io.images import flattened, read_image_alpha

        images = flattened(*read_image_alpha(images))
    backbone = get_backbone() if backbone is None else backbone
    if isinstance(images, torch.Tensor) and not images.is_floating_point():
        images = images.numpy()  # uint8 pixels, as images_to_tensor takes them
    if not isinstance(images, torch.Tensor):
        images = _shrunk(np.asarray(images), 2 * size)
    x = images if isinstance(images, torch.Tensor) else images_to_tensor(images)
    if x.ndim == 3:
        x = x[None]  # one (3, H, W) image
    with torch.inference_mode():
        probs, index = top_k(backbone.logits(resize_center_crop(x, size)), k)
    return [list(zip(i.tolist(), p.tolist())) for i, p in zip(index, probs)]
