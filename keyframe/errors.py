"""The one exception type that reaches a user as a message instead of a traceback."""


class KeyframeError(Exception):
    """Bad input or a failed precondition, phrased for the person who caused it.

    The message is one line that names the file (or option) and the problem;
    the CLI prints it and exits with code 2.
    """


def check_number(name: str, value: float, minimum: float = 0.0, inclusive: bool = False) -> float:
    """``value`` if it is a finite number above ``minimum`` (or equal to it, with ``inclusive``); a
    :class:`KeyframeError` naming ``name`` otherwise (NaN and infinities included).

    Examples
    --------
    >>> check_number("--fps", 25.0)
    25.0
    >>> check_number("--feather", float("nan"), inclusive=True)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --feather must be a number >= 0, got nan
    """
    import math

    number = float(value)
    if not math.isfinite(number) or number < minimum or (number == minimum and not inclusive):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise KeyframeError(f"{name} must be a number {bound}, got {value}")
    return number


def fail(path, problem: str) -> KeyframeError:
    """Build a :class:`KeyframeError` reading ``"<path>: <problem>"``."""
    return KeyframeError(f"{path}: {problem}")
