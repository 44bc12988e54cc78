"""Write one benchmark's section of ``docs/benchmarks.md`` without touching the others."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import torch

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (or `python -m bench.NAME` for one section); do not edit by hand.\n"
    "Each section says when and on what machine it was measured.\n"
)


def machine() -> str:
    """A one-line description of where the numbers were taken."""
    return (
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def load_note() -> str:
    """The machine's load when called (call it before the work), so readers can tell contended timings apart."""
    load = os.getloadavg()[0]
    busy = "other jobs were running, so times are pessimistic" if load > 1.0 else "no other jobs were running"
    return f"1-minute load average {load:.1f} on {os.cpu_count()} cores when the run started ({busy})"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """Render rows as a GitHub markdown table; floats get 3 significant decimals."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, body: str, stamp: str | None = None, report: Path = REPORT) -> None:
    """Replace (or append) the section called ``name`` in ``report`` (docs/benchmarks.md); ``stamp``: the day it
    was measured (today unless given)."""
    report.parent.mkdir(parents=True, exist_ok=True)
    text = report.read_text() if report.exists() else HEADER
    stamp = stamp or time.strftime("%Y-%m-%d")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"_Measured {stamp} on {machine()}; `python -m bench.{name}`._\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->"
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    report.write_text(text)
