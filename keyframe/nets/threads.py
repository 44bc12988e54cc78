"""How many CPU threads torch uses, set for a block of work and restored after.

Torch threads meet at every operation: on a small 2-core machine that other
jobs already keep busy, or for tiny tensors, they mostly wait for each other
(two threads were measured 3-10x slower per training step than one on a busy
2-core CPU), so each pipeline picks its thread count per block of work.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def auto_threads() -> int:
    """Torch threads for this machine now: the process setting, lowered to the cores other jobs leave free.

    On an idle machine this returns the process setting unchanged.

    Examples
    --------
    >>> 1 <= auto_threads() <= torch.get_num_threads()
    True
    """
    current = torch.get_num_threads()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return current
    free = round((os.cpu_count() or 1) - load)
    return max(1, min(current, free))


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run a block with ``count`` torch CPU threads (unchanged if None), restoring the previous setting after.

    Examples
    --------
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    """
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
