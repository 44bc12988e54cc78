"""The ``keyframe`` command's entry point, kept light: a Ctrl-C while the command line itself is still loading
(before :func:`keyframe.cli.main` handles interruptions) ends the command quietly instead of with a traceback."""

import signal
import sys


def main() -> None:
    """Console-script entry point: load :mod:`keyframe.cli` and run it."""
    try:
        from keyframe.cli import main as run
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was done", file=sys.stderr)
        sys.exit(130)
    try:
        run()
    finally:
        # The command has ended and said how: a Ctrl-C now (an impatient second one, or one just after success)
        # would only break the interpreter's shutdown with a traceback and change the exit code.
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
