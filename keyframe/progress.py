"""Progress reporting that keeps the library free of terminal code.

Long-running library functions take an optional ``progress`` callable,
``progress(done, total, note="")``; the CLI passes one that drives a rich
progress bar on stderr, tests and scripts pass nothing.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Protocol

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
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}", markup=False),
    )
    bar = Progress(*columns, console=Console(stderr=True), transient=False)
    task: Optional[TaskID] = None
    last = 0

    def update(done: int, total: Optional[int], note: str = "") -> None:
        nonlocal task, last
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total, note=note)
        elif done < last:  # a new stage (the next segment's model, rendering after training): its own clock and rate
            bar.reset(task, total=total, completed=done, note=note)
        last = done
        bar.update(task, completed=done, total=total, note=note)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
