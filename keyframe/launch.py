"""The ``keyframe`` command's entry point, kept light: a Ctrl-C while the toolkit is still loading (torch, OpenCV,
PyAV take a second or more) ends the command quietly, as a Ctrl-C later does, instead of with a traceback."""

import sys


def main() -> None:
    """Console-script entry point: load :mod:`keyframe.cli` and run it."""
    try:
        from keyframe.cli import main as run
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was done", file=sys.stderr)
        sys.exit(130)
    run()
