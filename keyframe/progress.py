"""Progress reporting that keeps the library free of terminal code.

Long-running library functions take an optional ``progress`` callable,
``progress(done, total, note="")``; the CLI passes one that drives a rich
progress bar on stderr, tests and scripts pass nothing.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator, Optional, Protocol

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)


class ProgressFn(Protocol):
    def __call__(self, done: int, total: Optional[int], note: str = "") -> None: ...


def report(progress: Optional[ProgressFn], done: int, total: Optional[int], note: str = "") -> None:
    """Call ``progress`` if there is one (the library's only way of reporting work done)."""
    if progress is not None:
        progress(done, total, note)


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[ProgressFn]:
    """A rich progress bar on stderr, yielded as a ``progress(done, total, note)`` callable.

    The bar appears at the first report, so input refused before any work is done
    leaves only its error on the terminal.

    Examples
    --------
    >>> with progress_bar("decoding", enabled=False) as progress:
    ...     progress(1, 10)
    """
    if not enabled:
        yield lambda done, total, note="": None
        return
    console = Console(stderr=True)
    if not console.is_terminal:  # a log file or a pipe: a bar there shows only at the end, and the run looks hung
        yield progress_lines(description, lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}", markup=False),
    )
    bar = Progress(*columns, console=console, transient=False)
    task: Optional[TaskID] = None
    last, last_total = 0, None

    def update(done: int, total: Optional[int], note: str = "") -> None:
        nonlocal task, last, last_total
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total, completed=done, note=note)  # work kept: not this run's rate
        elif _new_stage(done, total, last, last_total):  # its own clock and rate
            bar.reset(task, total=total, completed=done, note=note)
        last, last_total = done, total
        bar.update(task, completed=done, total=total, note=note)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def _new_stage(done: int, total: Optional[int], last_done: int, last_total: Optional[int]) -> bool:
    """Whether a report of ``done`` of ``total`` starts a new stage of the work (the next segment's model, rendering
    after training) after one of ``last_done`` of ``last_total``: the count starts again, or counts towards another
    total (it may start above 0, at the frames an earlier run kept, which are no work of this stage's rate)."""
    return done < last_done or total != last_total


LINE_SECONDS = 10.0  # how often progress lines are written where there is no terminal to draw a bar on


def progress_lines(description: str, write: Callable[[str], None], every: float = LINE_SECONDS,
                   clock: Callable[[], float] = time.monotonic) -> ProgressFn:
    """A ``progress(done, total, note)`` callable that writes a line (``write``) at most every ``every`` seconds,
    at the start of each stage and when a stage is done: progress for a log file, where a bar cannot be drawn.

    Examples
    --------
    >>> seconds = iter(range(0, 100, 4))
    >>> progress = progress_lines("segmenting", print, every=10, clock=lambda: next(seconds))
    >>> for done in range(1, 6):
    ...     progress(done, 5, "masks")
    segmenting: 1/5 (20%), 0:00:04, masks
    segmenting: 4/5 (80%), 0:00:16, masks
    segmenting: 5/5 (100%), 0:00:20, masks
    """
    started = clock()
    last_line, last_done, last_total = None, 0, None

    def update(done: int, total: Optional[int], note: str = "") -> None:
        nonlocal last_line, last_done, last_total
        now = clock()
        starts = last_line is None or _new_stage(done, total, last_done, last_total)
        finished = total is not None and done >= total
        last_done, last_total = done, total
        if not (starts or finished or now - last_line >= every):
            return
        last_line = now
        share = f" ({100 * done // total}%)" if total else ""
        count = f"{done}/{total}" if total is not None else str(done)
        elapsed = int(now - started)
        line = f"{description}: {count}{share}, {elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        write(line + (f", {note}" if note else ""))

    return update
