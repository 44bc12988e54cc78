"""Backbone inference speed: EfficientNet-Lite0 embeddings on the CPU.

Images per second of the embedding forward (all feature maps, head and
pooling) at 224x224 and 480x854 (DAVIS frames), batch 1 and 16, with weights
in contiguous (NCHW) and channels-last (NHWC) layout, under
``torch.inference_mode``. Run from the repository root::

    python -m bench.backbone
"""

from __future__ import annotations

import logging
import statistics
import time

import torch

from bench.report import load_note, markdown_table, write_section
from keyframe.nets import get_backbone

log = logging.getLogger(__name__)

SIZES = ((224, 224), (480, 854))
BATCHES = (1, 16)
# Enough repeats for a stable median without letting the slowest case
# (contiguous, 16 frames of 480x854) dominate the whole run.
MIN_SECONDS = 2.0
MIN_REPEATS, MAX_REPEATS = 1, 20
MAX_THREADS = 2  # the machine is shared; more threads only fight the other users


def seconds_per_batch(net: torch.nn.Module, x: torch.Tensor) -> float:
    """Median wall time of ``net.embed(x)``, after one warm-up pass that builds oneDNN kernels."""
    with torch.inference_mode():
        net.embed(x)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < MAX_REPEATS and (len(times) < MIN_REPEATS or time.perf_counter() - start < MIN_SECONDS):
            tick = time.perf_counter()
            net.embed(x)
            times.append(time.perf_counter() - tick)
    return statistics.median(times)


def measure() -> list[list]:
    """One table row per (size, batch, layout)."""
    nets = {"contiguous": get_backbone(channels_last=False), "channels_last": get_backbone(channels_last=True)}
    rows = []
    for height, width in SIZES:
        for batch in BATCHES:
            x = torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(0))
            baseline = None
            for layout, net in nets.items():
                seconds = seconds_per_batch(net, x)
                baseline = baseline or seconds
                rows.append([f"{height}x{width}", batch, layout, seconds * 1000, batch / seconds, baseline / seconds])
                log.info("%s", rows[-1])
    return rows


def main() -> None:
    torch.set_num_threads(min(MAX_THREADS, torch.get_num_threads()))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load = load_note()
    rows = measure()
    table = markdown_table(["input (HxW)", "batch", "weights layout", "ms / batch", "images / s", "speed-up"], rows)
    body = (
        "Embedding forward (`backbone.embed`: all five feature maps, 1280-channel head, pooling) under "
        "`torch.inference_mode`, float32 input already in memory; one warm-up pass, then the median of the runs in 2 s "
        "(at least one). "
        "Speed-up is against contiguous NCHW weights at the same size and batch. `get_backbone()` builds "
        "channels-last by default.\n\n"
        f"{table}\n\n"
        f"{load}."
    )
    write_section("backbone", "Backbone: EfficientNet-Lite0 inference", body)
    print(table)


if __name__ == "__main__":
    main()
