"""The score-curve plot's axes."""

import numpy as np

from keyframe.motion.plot import draw_scores, time_ticks


def test_the_score_axis_is_named_in_the_left_margin():
    image = draw_scores(np.linspace(-1, 1, 100), 0.0, [], fps=25)
    inked = (image[:, :16].min(axis=2) < 128).any(axis=1)  # rows with ink left of the tick values
    rows = np.flatnonzero(inked)
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 5) + 1)  # letters are a few rows apart
    word = max(runs, key=len)
    assert word[-1] - word[0] > 24  # "score" turned upright, not a tick value's 10 rows
    assert abs((word[0] + word[-1]) / 2 - (14 + (300 - 14 - 40) / 2)) < 6  # centred on the plot's height


def test_a_long_clip_reads_as_a_clock_and_a_short_one_in_seconds():
    assert [label for _, label in time_ticks(250, fps=25)][:3] == ["0s", "2s", "4s"]
    minutes = time_ticks(25 * 600 + 1, fps=25)  # ten minutes
    assert [label for _, label in minutes] == ["0:00", "2:00", "4:00", "6:00", "8:00", "10:00"]
    assert minutes[1][0] == 25 * 120  # placed at its frame
    day = time_ticks(2 * 24 * 3600 + 1, fps=1)
    assert day[1][1] == "6:00:00" and len(day) == 9


def test_tick_labels_stay_inside_the_picture():
    image = draw_scores(np.zeros(15001), 0.5, [], fps=25, size=(300, 150))  # the last tick, 10:00, at the right edge
    assert (image[-30:, -2:] == 255).all()  # nothing written over the right edge
