"""The one exception type that reaches a user as a message instead of a traceback, and checks that raise it."""

import math
import numbers
import os
import stat


class KeyframeError(Exception):
    """Bad input or a failed precondition, phrased for the person who caused it.

    The message is one line that names the file (or option) and the problem;
    the CLI prints it and exits with code 2.
    """


def check_number(name: str, value: float, minimum: float = 0.0, inclusive: bool = False, maximum: float | None = None,
                 unit: str = "") -> float:
    """``value`` if it is a finite number above ``minimum`` (or equal to it, with ``inclusive``) and at most
    ``maximum`` (when given; the message then names the ``unit``); a :class:`KeyframeError` naming ``name``
    otherwise (NaN and infinities included).

    Examples
    --------
    >>> check_number("--fps", 25.0)
    25.0
    >>> check_number("--feather", float("nan"), inclusive=True)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --feather must be a finite number >= 0, got nan
    >>> check_number("--grow", 500, inclusive=True, maximum=50, unit="pixels")
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --grow must be a number <= 50 (pixels), got 500
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise KeyframeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or (number == minimum and not inclusive):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise KeyframeError(f"{name} must be a {'' if math.isfinite(number) else 'finite '}number {bound}, got {value}")
    if maximum is not None and number > maximum:
        raise KeyframeError(f"{name} must be a number <= {maximum:g}{f' ({unit})' if unit else ''}, got {number:g}")
    return number


def is_seconds(value) -> bool:
    """Whether ``value`` is a time in seconds from a start: a finite number, 0 or more (not a bool).

    Examples
    --------
    >>> is_seconds(1.5), is_seconds(-1), is_seconds(float("inf")), is_seconds(True)
    (True, False, False, False)
    """
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0


MAX_SEED = 2**32 - 1


def missing_file(path, noun: str = "file") -> KeyframeError:
    """The error for a ``path`` that is no regular file: a folder, a device such as ``/dev/null`` or a pipe
    exists but holds no ``noun`` to read; anything else is missing.

    Examples
    --------
    >>> str(missing_file("/dev/null", "model file"))
    '/dev/null: is a device or a pipe, not a model file'
    >>> str(missing_file("/", "model file"))
    '/: is a folder, not a model file'
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return fail(path, f"no such {noun}")
    return fail(path, f"is a folder, not a {noun}" if stat.S_ISDIR(mode) else f"is a device or a pipe, not a {noun}")


def check_seed(seed: int) -> int:
    """``seed`` if it can seed every random generator keyframe uses (0 to :data:`MAX_SEED`, as NumPy's legacy
    generator and Optuna's sampler take them); a :class:`KeyframeError` otherwise.

    Examples
    --------
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: --seed must be from 0 to 4294967295, got -1
    """
    if not 0 <= seed <= MAX_SEED:
        raise KeyframeError(f"--seed must be from 0 to {MAX_SEED}, got {seed}")
    return seed


def fail(path, problem: str) -> KeyframeError:
    """Build a :class:`KeyframeError` reading ``"<path>: <problem>"``."""
    return KeyframeError(f"{path}: {problem}")


def is_whole(value) -> bool:
    """Whether ``value`` is a whole number: a Python or numpy integer, not a bool (``True`` is no count).

    Examples
    --------
    >>> import numpy as np
    >>> is_whole(3), is_whole(np.int64(3)), is_whole(3.0), is_whole(True)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_count(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is a whole number (not a bool) of at least ``minimum``; a :class:`KeyframeError` naming
    ``name`` otherwise.

    Examples
    --------
    >>> check_count("TrainConfig.batch_size", 0)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: TrainConfig.batch_size must be a whole number >= 1, got 0
    """
    if not is_whole(value) or value < minimum:
        raise KeyframeError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value
