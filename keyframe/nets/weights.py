"""Read a state-dict file and load it into a module with every key accounted for.

``torch.nn.Module.load_state_dict(strict=True)`` raises a long multi-line
``RuntimeError``; here the same checks end in one :class:`KeyframeError` line
that names the file, because a damaged or mismatched weights file is a user
problem (a broken install), not a bug.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from keyframe.errors import KeyframeError, fail

log = logging.getLogger(__name__)

# Naming a handful of offending keys is enough to diagnose; all of them would
# not fit on the one line an error gets.
_SHOWN_KEYS = 3


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a ``.pth`` state dict onto the CPU without running any pickled code.

    Raises
    ------
    KeyframeError
        If the file is missing, unreadable, or not a mapping of names to tensors.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.pth"
    >>> torch.save({"w": torch.zeros(2)}, p)
    >>> read_state_dict(p)["w"].shape
    torch.Size([2])
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file; all mean the same here
        raise fail(path, f"damaged weights file, not a torch state dict ({type(error).__name__})") from error
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise fail(path, "not a state dict (expected a mapping of names to tensors)")
    log.info("read %d tensors from %s", len(state), path)
    return dict(state)


def _describe(keys: list[str]) -> str:
    shown = ", ".join(sorted(keys)[:_SHOWN_KEYS])
    more = len(keys) - _SHOWN_KEYS
    return shown + (f" and {more} more" if more > 0 else "")


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], source: str | os.PathLike) -> None:
    """Copy ``state`` into ``module``, requiring the exact same keys and shapes.

    Parameters
    ----------
    module
        The network to fill in place.
    state
        Tensors named as in ``module.state_dict()``.
    source
        The file the tensors came from, named in the error message.

    Raises
    ------
    KeyframeError
        Naming missing keys, unused keys, shape mismatches or non-finite values.

    Examples
    --------
    >>> lin = nn.Linear(2, 3)
    >>> load_strict(lin, {"weight": torch.ones(3, 2), "bias": torch.zeros(3)}, "w.pth")
    >>> lin.weight.sum().item()
    6.0
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unused = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    # A file can unpickle fine and still be corrupt; NaNs would only show up
    # later as silently useless features.
    non_finite = [k for k in expected if k in state and state[k].is_floating_point() and not state[k].isfinite().all()]
    checks = [
        ("missing key", "missing keys", missing),
        ("unused key", "unused keys", unused),
        ("shape mismatch", "shape mismatches", mismatched),
        ("tensor with NaN or inf", "tensors with NaN or inf", non_finite),
    ]
    problems = [
        f"{len(keys)} {one if len(keys) == 1 else many} ({_describe(keys)})" for one, many, keys in checks if keys
    ]
    if problems:
        raise KeyframeError(f"{source}: incompatible weights: " + "; ".join(problems))
    module.load_state_dict(state, strict=True)
    log.info("loaded %d tensors into %s from %s", len(expected), type(module).__name__, source)
