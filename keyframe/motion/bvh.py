"""BVH motion capture: parse the hierarchy and motion, and compute joint positions (forward kinematics).

The file's own conventions are followed: every joint's channels are read in the
order listed, and its rotation is the product of the axis rotations in that
order (``Zrotation Xrotation Yrotation`` means ``R = Rz @ Rx @ Ry``, applied to
column vectors). A joint's local translation is its ``OFFSET``, or, when the
joint has position channels, the values of those channels (the common reading,
and the one that makes files whose every joint carries six channels, such as
the Bandai Namco sets, come out right). Units are the file's (often cm).

Examples
--------
>>> text = '''HIERARCHY
... ROOT Hips
... {
...   OFFSET 0 0 0
...   CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
...   JOINT Chest
...   {
...     OFFSET 0 10 0
...     CHANNELS 3 Zrotation Xrotation Yrotation
...     End Site
...     {
...       OFFSET 0 5 0
...     }
...   }
... }
... MOTION
... Frames: 1
... Frame Time: 0.04
... 1 2 3 0 0 0 90 0 0
... '''
>>> motion = parse_bvh(text)
>>> motion.names, motion.fps
(['Hips', 'Chest', 'Chest_end'], 25.0)
>>> motion.positions()[0].round(3).tolist()
[[1.0, 2.0, 3.0], [1.0, 12.0, 3.0], [-4.0, 12.0, 3.0]]
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keyframe.errors import KeyframeError, fail, is_whole, missing_file

log = logging.getLogger(__name__)

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
# The largest OFFSET or motion value read. No unit makes a real take reach it (1e15 mm is a billion km), and
# below it the skeleton's arithmetic (squared lengths, the camera's projection) cannot overflow into NaN.
MAX_VALUE = 1e15


@dataclass
class Joint:
    """One node of the skeleton.

    Attributes
    ----------
    name : the joint's name (``<parent>_end`` for an ``End Site``).
    parent : index of the parent joint, -1 for a root.
    offset : ``(3,)`` rest translation from the parent.
    channels : channel names in the file's order, e.g. ``["Zrotation", "Xrotation", "Yrotation"]``.
    first_channel : column of the first channel in a motion row.
    end_site : whether this is an ``End Site`` (no channels).
    """

    name: str
    parent: int
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)
    first_channel: int = 0
    end_site: bool = False

    @property
    def rotation_order(self) -> str:
        """The rotation axes in the file's order, e.g. ``"ZXY"`` (empty if the joint has none)."""
        return "".join(c[0] for c in self.channels if c in ROTATION_CHANNELS)


@dataclass
class Motion:
    """A parsed BVH file: the skeleton and one row of channel values per frame.

    Attributes
    ----------
    joints : joints in file order (a parent always comes before its children).
    values : ``(frames, channels)`` float64 channel values.
    frame_time : seconds per frame.
    path : where it was read from, for messages.
    """

    joints: list[Joint]
    values: np.ndarray
    frame_time: float
    path: str = "<string>"

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def __len__(self) -> int:
        return len(self.values)

    def positions(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """World positions of every joint for frames ``start:stop``, shaped ``(frames, joints, 3)``."""
        return forward_kinematics(self, start, stop)[0]


def euler_matrices(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices ``(N, 3, 3)`` for Euler angles applied in ``order`` (``R = R_order[0] @ R_order[1] @ ...``).

    Parameters
    ----------
    angles_deg : ``(N, len(order))`` angles in degrees, one column per axis of ``order``.
    order : axes such as ``"ZXY"``.

    Examples
    --------
    >>> m = euler_matrices(np.array([[90.0, 0.0]]), "ZX")[0]
    >>> (m @ [1, 0, 0]).round(6).tolist()
    [0.0, 1.0, 0.0]
    """
    angles_deg = np.asarray(angles_deg, dtype=float)
    if not isinstance(order, str) or not order or set(order) - set("XYZ"):
        raise ValueError(f"order is the rotation axes as capitals X, Y and Z (e.g. 'ZXY'), got {order!r}")
    if angles_deg.ndim != 2 or angles_deg.shape[1] != len(order):
        raise ValueError(f"angles_deg must be (N, {len(order)}), one column per axis of {order!r}, got shape "
                         f"{angles_deg.shape}")
    count = angles_deg.shape[0]
    out = np.broadcast_to(np.eye(3), (count, 3, 3)).copy()
    radians = np.deg2rad(angles_deg)
    for column, axis in enumerate(order):
        c, s = np.cos(radians[:, column]), np.sin(radians[:, column])
        r = np.zeros((count, 3, 3))
        if axis == "X":
            r[:, 0, 0] = 1
            r[:, 1, 1], r[:, 1, 2], r[:, 2, 1], r[:, 2, 2] = c, -s, s, c
        elif axis == "Y":
            r[:, 1, 1] = 1
            r[:, 0, 0], r[:, 0, 2], r[:, 2, 0], r[:, 2, 2] = c, s, -s, c
        else:  # Z
            r[:, 2, 2] = 1
            r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1] = c, -s, s, c
        out = out @ r
    return out


def forward_kinematics(motion: Motion, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World positions ``(F, J, 3)`` and orientations ``(F, J, 3, 3)`` of every joint in frames ``start:stop``.

    As for frame ranges everywhere in keyframe, a negative ``start`` or ``stop`` does not count from the end: it
    is refused, as is an empty range.

    Examples
    --------
    >>> motion = parse_bvh("HIERARCHY\\nROOT a\\n{\\nOFFSET 0 0 0\\nCHANNELS 1 Yrotation\\n"
    ...                    "End Site\\n{\\nOFFSET 1 0 0\\n}\\n}\\nMOTION\\nFrames: 1\\nFrame Time: 0.1\\n90\\n")
    >>> forward_kinematics(motion)[0][0, 1].round(6).tolist()
    [0.0, 0.0, -1.0]
    """
    total = len(motion.values)
    end = total if stop is None else stop
    if not (is_whole(start) and is_whole(end) and 0 <= start < min(end, total)):
        raise ValueError(f"forward_kinematics: frames {start}:{stop} hold none of the motion's {total} "
                         "(indices from the start, 0 or more; a negative one does not count from the end here)")
    values = motion.values[start:stop]
    frames = len(values)
    count = len(motion.joints)
    positions = np.zeros((frames, count, 3))
    rotations = np.zeros((frames, count, 3, 3))
    for index, joint in enumerate(motion.joints):
        local_t = np.broadcast_to(joint.offset, (frames, 3)).copy()
        rot_columns, order = [], ""
        for k, channel in enumerate(joint.channels):
            column = values[:, joint.first_channel + k]
            if channel in POSITION_CHANNELS:
                local_t[:, POSITION_CHANNELS.index(channel)] = column
            else:
                rot_columns.append(column)
                order += channel[0]
        if order:
            local_r = euler_matrices(np.stack(rot_columns, axis=1), order)
        else:
            local_r = np.broadcast_to(np.eye(3), (frames, 3, 3))
        if joint.parent < 0:
            positions[:, index] = local_t
            rotations[:, index] = local_r
        else:
            parent_r = rotations[:, joint.parent]
            positions[:, index] = positions[:, joint.parent] + np.einsum("fij,fj->fi", parent_r, local_t)
            rotations[:, index] = parent_r @ local_r
    return positions, rotations


class _Tokens:
    """Whitespace-separated words with their line numbers, for messages that point at the fault."""

    def __init__(self, lines: list[str], path: str):
        self.words = [(w, n + 1) for n, line in enumerate(lines) for w in line.split()]
        self.pos = 0
        self.path = path

    def error(self, problem: str) -> KeyframeError:
        line = self.words[min(self.pos, len(self.words) - 1)][1] if self.words else 1
        return fail(self.path, f"line {line}: {problem}")

    def next(self, what: str) -> str:
        if self.pos >= len(self.words):
            raise fail(self.path, f"ends early: expected {what}")
        word = self.words[self.pos][0]
        self.pos += 1
        return word

    def expect(self, word: str) -> None:
        got = self.next(repr(word))
        if got != word:
            self.pos -= 1
            raise self.error(f"expected {word!r}, found {got!r}")

    def number(self, what: str) -> float:
        word = self.next(what)
        try:
            return float(word)
        except ValueError:
            self.pos -= 1
            raise self.error(f"expected {what}, found {word!r}") from None

    def peek(self) -> str | None:
        return self.words[self.pos][0] if self.pos < len(self.words) else None


def _offset(tokens: _Tokens) -> np.ndarray:
    """The three numbers after ``OFFSET``, each finite and within :data:`MAX_VALUE`."""
    values = []
    for _ in range(3):
        value = tokens.number("an OFFSET value")
        if not abs(value) <= MAX_VALUE:
            tokens.pos -= 1
            raise tokens.error(f"OFFSET values must be finite numbers between -{MAX_VALUE:g} and {MAX_VALUE:g}, "
                               f"found {tokens.peek()!r}")
        values.append(value)
    return np.array(values)


def _parse_joint(tokens: _Tokens, name: str, parent: int, joints: list[Joint], channel_count: list[int]) -> None:
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = _offset(tokens)
    joint = Joint(name, parent, offset)
    index = len(joints)
    joints.append(joint)
    if tokens.peek() == "CHANNELS":
        tokens.next("CHANNELS")
        count = tokens.number("the number of channels")
        # The range first: int() of NaN or an infinity raises.
        if not 0 <= count <= 6 or count != int(count):
            tokens.pos -= 1
            raise tokens.error(f"a joint has 0 to 6 channels, not {tokens.peek()}")
        for _ in range(int(count)):
            channel = tokens.next("a channel name")
            if channel not in POSITION_CHANNELS + ROTATION_CHANNELS:
                tokens.pos -= 1
                raise tokens.error(f"unknown channel {channel!r}")
            joint.channels.append(channel)
        if len(set(joint.channels)) != len(joint.channels):
            raise tokens.error(f"joint {name!r} lists a channel twice")
        joint.first_channel = channel_count[0]
        channel_count[0] += len(joint.channels)
    while True:
        word = tokens.next("'JOINT', 'End Site' or '}'")
        if word == "}":
            return
        if word == "JOINT":
            _parse_joint(tokens, tokens.next("a joint name"), index, joints, channel_count)
        elif word == "End":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            end_offset = _offset(tokens)
            tokens.expect("}")
            joints.append(Joint(f"{name}_end", index, end_offset, end_site=True))
        else:
            tokens.pos -= 1
            raise tokens.error(f"expected 'JOINT', 'End Site' or '}}', found {word!r}")


def parse_bvh(text: str, path: str | os.PathLike = "<string>") -> Motion:
    """Parse BVH text into a :class:`Motion`.

    Raises
    ------
    KeyframeError
        ``"<path>: line N: <problem>"`` for a malformed hierarchy, or a motion
        section whose frame count or row lengths do not match the skeleton.
    """
    path = str(path)
    # Files saved by some Windows editors start with a byte-order mark, which is not part of 'HIERARCHY'.
    lines = text.removeprefix("\ufeff").splitlines()
    try:
        motion_line = next(n for n, line in enumerate(lines) if line.strip() == "MOTION")
    except StopIteration:
        raise fail(path, "has no MOTION section: not a BVH file, or cut short") from None
    tokens = _Tokens(lines[:motion_line], path)
    tokens.expect("HIERARCHY")
    joints: list[Joint] = []
    channel_count = [0]
    while tokens.peek() is not None:
        tokens.expect("ROOT")
        _parse_joint(tokens, tokens.next("the root's name"), -1, joints, channel_count)
    if not joints:
        raise fail(path, "has no ROOT joint")

    header = [line.strip() for line in lines[motion_line + 1 : motion_line + 3]]
    frames_line, time_line = motion_line + 2, motion_line + 3  # 1-based line numbers of the two header lines
    if len(header) < 2 or not header[0].startswith("Frames:") or not header[1].startswith("Frame Time:"):
        raise fail(path, f"line {frames_line}: expected 'Frames: N' and 'Frame Time: T' after MOTION")
    count_text, time_text = (line.split(":", 1)[1].strip() for line in header)
    try:
        frame_count = int(count_text)
    except ValueError:
        raise fail(path, f"line {frames_line}: the frame count must be a whole number, got {count_text!r}") from None
    try:
        frame_time = float(time_text)
    except ValueError:
        comma = " (a decimal point, not a comma)" if "," in time_text else ""
        raise fail(path, f"line {time_line}: the frame time must be a number of seconds{comma}, got {time_text!r}") from None
    if frame_count < 0:
        raise fail(path, f"line {frames_line}: the frame count must not be negative, got {frame_count}")
    if frame_count == 0:
        raise fail(path, f"line {frames_line}: has no frames of motion")
    if not math.isfinite(frame_time) or frame_time <= 0 or not math.isfinite(1.0 / frame_time):
        raise fail(path, f"line {time_line}: Frame Time must be a positive number of seconds, got {frame_time}")
    rows = [(number + 1, line) for number, line in enumerate(lines) if number >= time_line and line.strip()]
    if len(rows) < frame_count:
        raise fail(path, f"line {frames_line}: declares {frame_count} frames but has {len(rows)}: the file is cut short")
    if len(rows) > frame_count:  # an exporter's count that lags, or takes joined end to end: say what is left out
        log.warning("%s: line %d declares %d frames, but %d rows of motion follow; the rows from line %d on are left "
                    "out", path, frames_line, frame_count, len(rows), rows[frame_count][0])
    parsed = []
    for line_number, row in rows[:frame_count]:
        words = row.split()
        if len(words) != channel_count[0]:
            raise fail(path, f"line {line_number}: motion row has {len(words)} values, the skeleton has {channel_count[0]} channels")
        parsed.append(words)
    try:
        values = np.array(parsed, dtype=np.float64).reshape(frame_count, channel_count[0])
    except ValueError:
        values = None
    if values is None or not np.all(np.abs(values) <= MAX_VALUE):
        # Find the first offending value, for a message that points at it.
        for (line_number, _), words in zip(rows, parsed):
            for column, word in enumerate(words):
                try:
                    number = float(word)
                except ValueError:
                    raise fail(path, f"line {line_number}: motion value {column + 1} is not a number: {word!r}") from None
                if not abs(number) <= MAX_VALUE:
                    raise fail(path, f"line {line_number}: motion value {column + 1} is {word!r}; values must be finite "
                               f"numbers between -{MAX_VALUE:g} and {MAX_VALUE:g}")
        values = np.array([[float(word) for word in words] for words in parsed]).reshape(frame_count, channel_count[0])
    log.info("%s: %d joints, %d channels, %d frames at %.3g fps", path, len(joints), channel_count[0], frame_count, 1 / frame_time)
    return Motion(joints, values, frame_time, path)


def read_bvh(path: str | os.PathLike) -> Motion:
    """Read and parse a BVH file.

    Examples
    --------
    >>> motion = read_bvh("walk.bvh")  # doctest: +SKIP
    >>> motion.positions().shape  # doctest: +SKIP
    (273, 26, 3)
    """
    path = Path(path)
    if path.is_dir():
        raise fail(path, "is a folder, not a BVH file")
    if not path.is_file():
        raise missing_file(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise fail(path, f"cannot be read ({error.strerror or error})") from None
    # Some Windows exporters write UTF-16, which would read as no MOTION section at all.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # its byte-order mark says which
    elif len(data) > 1 and (data[0] == 0) != (data[1] == 0):  # 'H' of HIERARCHY and a zero byte
        encoding = "utf-16-be" if data[0] == 0 else "utf-16-le"
    else:
        encoding = "utf-8"
    text = data.decode(encoding, errors="replace")
    return parse_bvh(text, path)
