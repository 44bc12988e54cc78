"""Ctrl-C held until a loop reaches a point where its state is whole.

A training step changes the weights, the optimiser and the step count one
after the other: a ``KeyboardInterrupt`` raised in between leaves a state that
no uninterrupted run ever had, which cannot be saved for an exact resume. Inside
:func:`held_interrupts` a Ctrl-C is only noted; the loop looks at
``held.requested`` where its state is whole, saves it, and stops there. A
second Ctrl-C stops at once, for a user who will not wait.

Examples
--------
>>> with held_interrupts() as held:
...     for step in range(3):
...         pass  # one whole step
...         if held.requested:
...             raise KeyboardInterrupt  # after saving the state
>>> held.requested
False
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class HeldInterrupt:
    """Whether a Ctrl-C came while it was held (``requested``)."""

    def __init__(self) -> None:
        self.requested = False

    def _note(self, signum, frame) -> None:
        if self.requested:  # the second one: stop now
            raise KeyboardInterrupt
        self.requested = True


def _raises_keyboard_interrupt(handler) -> bool:
    """Whether ``handler`` is one that turns a signal into ``KeyboardInterrupt``: Python's own for SIGINT, or a
    Python function (the command line sets one for SIGTERM). Default and ignored signals are left as they are."""
    return handler is signal.default_int_handler or (callable(handler) and handler not in (signal.SIG_DFL, signal.SIG_IGN))


@contextmanager
def held_interrupts() -> Iterator[HeldInterrupt]:
    """Hold SIGINT (and SIGTERM where it is set to stop as Ctrl-C) for the block; see the module's example.

    Only the main thread can set signal handlers: elsewhere, and for signals a program handles its own way,
    nothing is held and ``requested`` stays False.
    """
    held = HeldInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    taken = [number for number, handler in previous.items() if _raises_keyboard_interrupt(handler)]
    for number in taken:
        signal.signal(number, held._note)
    try:
        yield held
    finally:
        for number in taken:
            signal.signal(number, previous[number])
