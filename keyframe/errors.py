"""The one exception type that reaches a user as a message instead of a traceback."""


class KeyframeError(Exception):
    """Bad input or a failed precondition, phrased for the person who caused it.

    The message is one line that names the file (or option) and the problem;
    the CLI prints it and exits with code 2.
    """


def fail(path, problem: str) -> KeyframeError:
    """Build a :class:`KeyframeError` reading ``"<path>: <problem>"``."""
    return KeyframeError(f"{path}: {problem}")
