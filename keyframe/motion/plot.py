"""The score-curve plot of a detection, drawn with OpenCV (no plotting library needed).

Examples
--------
>>> import numpy as np
>>> image = draw_scores(np.linspace(-0.2, 0.8, 50), threshold=0.3, intervals=[[20, 49]], fps=10)
>>> image.shape
(300, 800, 3)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from keyframe.errors import fail
from keyframe.io.images import PNG_SIGNATURE, write_image

CURVE = (40, 90, 200)
THRESHOLD = (200, 60, 40)
INTERVAL = (205, 235, 205)
AXIS = (60, 60, 60)
GRID = (225, 225, 225)
FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_SIZE = (160, 120)  # room for the axes' labels and margins around the curve
PLOTS_KIND = "movement detect --plot"  # what a folder of plots is, to keyframe.io.staged_dir
# The text chunk every plot carries, so that --plot replaces a plot of keyframe's and never a picture of the user's
# (as a video keyframe writes carries its comment tag). It comes right after the header: the file's first bytes.
PLOT_MARK = {"Software": "keyframe movement detect"}
OWN_PLOT_CHUNK = b"tEXtSoftware\0keyframe"
OWN_PLOT_HEAD = 128


CLOCK_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)  # seconds
CLOCK_SPAN = 120  # seconds from which the time axis reads as a clock (m:ss), on a clock's marks


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _time_step(span: float, target: int) -> float:
    """A step of ``span`` seconds into about ``target`` parts: 1-2-5 steps on a short axis, a clock's marks
    (15 s, 1 min, 5 min, 1 h ...) on a long one."""
    if span < CLOCK_SPAN:
        return _nice_step(span, target)
    return next((mark for mark in CLOCK_STEPS if mark >= span / max(target, 1)), _nice_step(span / 86400, target) * 86400)


def clock(seconds: float, long: bool) -> str:
    """A time axis label: ``12.5s`` on a short axis, ``m:ss`` or ``h:mm:ss`` on a ``long`` one (:data:`CLOCK_SPAN` or more).

    Examples
    --------
    >>> clock(2.5, long=False), clock(90, long=True), clock(3725, long=True)
    ('2.5s', '1:30', '1:02:05')
    """
    if not long:
        return f"{seconds:g}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _put_vertical(image: np.ndarray, text: str, x: int, middle_y: int, scale: float, colour) -> None:
    """Write ``text`` turned a quarter counter-clockwise (read bottom to top), its left edge at ``x``, centred
    on ``middle_y``: OpenCV writes only horizontally, so the text is drawn on a patch that is then turned."""
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, 1)
    patch = np.full((height + baseline + 2, width + 2, 3), 255, np.uint8)
    cv2.putText(patch, text, (1, height + 1), FONT, scale, colour, 1, cv2.LINE_AA)
    turned = np.rot90(patch)
    top = max(0, min(middle_y - turned.shape[0] // 2, image.shape[0] - turned.shape[0]))
    region = image[top:top + turned.shape[0], x:x + turned.shape[1]]
    np.minimum(region, turned[:region.shape[0], :region.shape[1]], out=region)  # ink over the white plot


def label_spot(points: np.ndarray, box: tuple[int, int], line_y: float, bounds: tuple[int, int, int, int],
               gap: int = 6) -> tuple[int, int]:
    """Where to write a line's label (the text's bottom-left corner, as ``cv2.putText`` takes it): just above
    or below the line at ``line_y``, at the plot's right, left or middle, wherever the curve's ``points`` (x, y
    rows) cross the label's ``box`` (width, height) least; right and above when several are free.

    Examples
    --------
    >>> curve = np.array([[x, 40.0] for x in range(150, 300)])      # just above the line, on the right half
    >>> label_spot(curve, (80, 10), 50.0, (0, 0, 300, 100))         # left, above the line
    (6, 44)
    """
    left, top, right, bottom = bounds
    width, height = box
    columns = (right - width - gap, left + gap, (left + right - width) // 2)
    rows = (line_y - gap, line_y + height + gap)  # baselines above and below the line
    best, fewest = None, None
    for row in rows:
        baseline = int(round(min(max(row, top + height + 2), bottom - 2)))
        for column in columns:
            inside = np.count_nonzero((points[:, 0] >= column - 2) & (points[:, 0] <= column + width + 2)
                                      & (points[:, 1] >= baseline - height - 2) & (points[:, 1] <= baseline + 2))
            if fewest is None or inside < fewest:
                best, fewest = (int(column), baseline), inside
    return best


def draw_scores(
    scores: np.ndarray,
    threshold: float,
    intervals: list[list[int]],
    fps: float | None = None,
    title: str = "",
    size: tuple[int, int] = (800, 300),
    times: np.ndarray | None = None,
) -> np.ndarray:
    """An RGB image of the per-frame score curve, the threshold (dashed) and the detected intervals (shaded);
    the time axis follows ``times``, when each frame is shown, where given (else frames at ``fps``)."""
    width, height = size
    if not (MIN_SIZE[0] <= width <= 8192 and MIN_SIZE[1] <= height <= 8192):
        raise ValueError(f"size must be between {MIN_SIZE[0]}x{MIN_SIZE[1]} and 8192x8192 pixels, got {width}x{height}")
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, 16, 30 if title else 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = np.asarray(scores, np.float64)
    finite = values[np.isfinite(values)]
    low = min(float(finite.min()) if len(finite) else 0.0, threshold, 0.0)
    high = max(float(finite.max()) if len(finite) else 1.0, threshold, 0.1)
    pad = (high - low) * 0.06
    low, high = low - pad, high + pad
    count = max(len(values), 2)

    def px(i):
        return left + plot_w * i / (count - 1)

    def py(v):
        return top + plot_h * (high - v) / (high - low)

    for first, last in intervals:
        cv2.rectangle(image, (int(px(first)), top), (int(math.ceil(px(last))), top + plot_h), INTERVAL, -1)
    step = _nice_step(high - low, 5)
    tick = math.ceil(low / step) * step
    while tick <= high:
        y = int(round(py(tick)))
        cv2.line(image, (left, y), (left + plot_w, y), GRID, 1)
        cv2.putText(image, f"{tick:.2g}", (18, y + 4), FONT, 0.4, AXIS, 1, cv2.LINE_AA)
        tick += step
    seconds = fps is not None and fps > 0
    for position, label in time_ticks(len(values), fps if seconds else None, times):
        x = int(round(px(position)))
        cv2.line(image, (x, top + plot_h), (x, top + plot_h + 4), AXIS, 1)
        (label_w, _), _ = cv2.getTextSize(label, FONT, 0.4, 1)
        cv2.putText(image, label, (min(max(x - label_w // 2, 2), width - label_w - 2), top + plot_h + 18), FONT, 0.4, AXIS,
                    1, cv2.LINE_AA)
    y = py(threshold)
    for x in range(left, left + plot_w, 12):
        cv2.line(image, (x, int(round(y))), (min(x + 6, left + plot_w), int(round(y))), THRESHOLD, 2, cv2.LINE_AA)
    points = np.array([(px(i), py(v)) for i, v in enumerate(values) if np.isfinite(v)], np.float64).reshape(-1, 2)
    label = f"threshold {threshold:.3f}"
    (label_w, label_h), _ = cv2.getTextSize(label, FONT, 0.4, 1)
    spot = label_spot(points, (label_w, label_h), y, (left, top, left + plot_w, top + plot_h))
    cv2.putText(image, label, spot, FONT, 0.4, THRESHOLD, 1, cv2.LINE_AA)
    if len(points) > 1:
        polyline = np.round(points * 16).astype(np.int32)
        cv2.polylines(image, [polyline], False, CURVE, 2, cv2.LINE_AA, shift=4)
    cv2.rectangle(image, (left, top), (left + plot_w, top + plot_h), AXIS, 1)
    cv2.putText(image, "time" if seconds else "frame", (left + plot_w // 2 - 15, height - 6), FONT, 0.45, AXIS, 1, cv2.LINE_AA)
    _put_vertical(image, "score", 2, top + plot_h // 2, 0.45, AXIS)
    if title:
        # OpenCV's fonts draw ASCII alone, and a file name that is not UTF-8 (held as surrogates) crashes it.
        title = title.encode("ascii", "replace").decode("ascii")
        cv2.putText(image, title, (left, 20), FONT, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    return image


def time_ticks(frames: int, fps: float | None, times: np.ndarray | None = None) -> list[tuple[float, str]]:
    """The time axis' ticks as (frame position, label): about 8 round seconds, placed by ``times`` (when each
    frame is shown, so a variable frame rate is drawn right) or at ``fps``; frame numbers without either.

    Examples
    --------
    >>> time_ticks(50, fps=10)[:3]
    [(0.0, '0s'), (10.0, '1s'), (20.0, '2s')]
    >>> time_ticks(3, fps=None)
    [(0.0, '0'), (1.0, '1'), (2.0, '2')]
    >>> time_ticks(4, fps=1.5, times=np.array([0.0, 0.5, 1.0, 3.0]))  # a frame held for 2 s at the end
    [(0.0, '0s'), (1.0, '0.5s'), (2.0, '1s'), (2.25, '1.5s'), (2.5, '2s'), (2.75, '2.5s'), (3.0, '3s')]
    >>> [label for _, label in time_ticks(25 * 3600, fps=25)][:4]        # an hour: on a clock's marks
    ['0:00', '10:00', '20:00', '30:00']
    """
    count = max(frames, 2)
    timed = times is not None and len(times) == frames and frames > 1
    span = float(times[-1]) if timed else (count - 1) / fps if fps else count - 1
    if fps or timed:
        step = _time_step(max(span, 1e-9), 8)
    else:
        step = max(_nice_step(max(span, 1e-9), 8), 1.0)  # frame numbers are whole
    long = span >= CLOCK_SPAN
    ticks, index = [], 0
    while index * step <= span + 1e-9:
        mark = index * step  # not a running sum: 0.1 added 30 times is not 3
        position = float(np.interp(mark, times, np.arange(frames))) if timed else mark * fps if fps else mark
        ticks.append((position, clock(mark, long) if fps or timed else f"{int(mark)}"))
        index += 1
    return ticks


def check_plot_output(path: str | os.PathLike, own_only: bool = False) -> None:
    """Refuse ``path`` for a score-curve plot unless it is named ``.png`` and any file there is a PNG: a model
    or a video given as ``--plot`` by mistake would be lost. With ``own_only`` (the command line's ``--plot``), a
    PNG there must be a plot keyframe wrote (:func:`is_own_plot`): a picture of the user's would be lost too."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise fail(path, "a plot is written as a PNG; give a name ending in .png")
    if path.is_file():
        with open(path, "rb") as handle:
            if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                raise fail(path, "exists and is not a PNG image, which the plot would replace; give another name")
        if own_only and not is_own_plot(path):
            raise fail(path, "exists and is not a plot keyframe wrote, which this one would replace (plots of versions "
                             "before 2026-12-07 carry no mark of it); give another name, or remove it")


def is_own_plot(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a score-curve plot keyframe wrote: a PNG whose first text chunk is :data:`PLOT_MARK`."""
    with open(path, "rb") as handle:
        return OWN_PLOT_CHUNK in handle.read(OWN_PLOT_HEAD)


def plot_detection(detection, path: str | os.PathLike, title: str | None = None, size: tuple[int, int] = (800, 300)) -> None:
    """Write the score-curve PNG of a :class:`~keyframe.motion.detect.Detection` to ``path`` (atomically); see
    :func:`check_plot_output` for the names it takes."""
    check_plot_output(path)
    if title is None:
        verdict = "detected" if detection.detected else "not detected"
        title = f"{os.path.basename(detection.path)}: {verdict}, score {detection.score:.3f}"
    image = draw_scores(detection.frame_scores, detection.threshold, detection.intervals, detection.fps, title, size,
                        detection.frame_seconds)
    write_image(path, image, sweep=True, text=PLOT_MARK)


def plot_search(results, videos, folder: str | os.PathLike, keep: bool = False) -> list[str]:
    """Write one score-curve PNG per :class:`~keyframe.motion.detect.Detection` of ``results`` (a
    :class:`~keyframe.motion.search.Search`'s ``ranked``, or one video's detection) into ``folder``, named by
    :func:`plot_names` (in the order ``videos`` were given, not by score); returns the names, in the order of
    ``results``.

    The folder is published whole (:func:`keyframe.io.staged_dir`): it must be new, empty or an earlier
    folder of plots, and apart from the videos, so that plots never mix with other files. An earlier folder's
    plots are replaced, unless ``keep``: then those of other names stay beside the new ones (one video's plot
    added to the plots of an earlier search).
    """
    from keyframe.io import staged_dir

    # Named as given (a link by its own name), with "." and ".." resolved to the folders they name.
    names = dict(zip(map(str, videos), plot_names([os.path.abspath(video) for video in videos])))
    with staged_dir(folder, key=None, inputs=list(videos), kind=PLOTS_KIND) as stage:
        if keep:
            _keep_earlier_plots(Path(folder), stage, set(names.values()))
        for result in results:
            plot_detection(result, stage / names[result.path])
    return [names[result.path] for result in results]


def _keep_earlier_plots(folder: Path, stage: Path, replaced: set[str]) -> None:
    """Take the plots keyframe published in ``folder``, but those named in ``replaced``, into its ``stage``.

    Only its own: a file someone added there since stays where it is, as publishing keeps it, and is never
    listed as an output (which a later run would remove).
    """
    from keyframe.io.atomic import carry_published, published_files

    carry_published(folder, stage, [name for name in published_files(folder) if name not in replaced])


def plot_names(videos: list[str]) -> list[str]:
    """``<stem>.png`` for each video; a stem that repeats (same name in two folders) gets ``-2``, ``-3``, ... in the
    order the videos are given, and a name that is taken already (``clip-2`` given as well) the next free number.

    Examples
    --------
    >>> plot_names(["a/clip.mp4", "b/clip.mp4", "clip-2.mp4", "frames"])
    ['clip.png', 'clip-3.png', 'clip-2.png', 'frames.png']
    """
    stems = [os.path.splitext(os.path.basename(os.path.normpath(video)))[0] for video in videos]
    names, taken = [], set()
    for stem in stems:
        name, number = stem, 1
        while name in taken or (number > 1 and name in stems):
            number += 1
            name = f"{stem}-{number}"
        taken.add(name)
        names.append(f"{name}.png")
    return names
