import pytest

from keyframe.progress import progress_bar


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch, request):
    """A terminal (rich's TTY_COMPATIBLE), with room for the whole bar: a narrow one (COLUMNS=30) cuts the note short,
    as it should. Tests marked ``log_file`` get none: stderr is then a file or a pipe."""
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    if "log_file" not in request.keywords:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")


def test_the_bar_appears_only_once_work_is_reported(capsys):
    with progress_bar("checking"):
        pass
    assert capsys.readouterr().err == ""
    with progress_bar("checking") as progress:
        progress(3, 4, "frames")
    err = capsys.readouterr().err
    assert "checking" in err and "3/4" in err


def test_an_error_before_any_work_leaves_no_bar(capsys):
    try:
        with progress_bar("checking"):
            raise ValueError("bad input")
    except ValueError:
        pass
    assert capsys.readouterr().err == ""


def test_a_note_is_shown_as_written_not_read_as_markup(capsys):
    for name in ("takes [/]a.mp4", "[bold]clip.mp4"):  # file names, as detect notes each video
        with progress_bar("searching") as progress:
            progress(1, 2, name)
        assert name in capsys.readouterr().err


def test_a_count_that_starts_again_is_a_new_stage_with_its_own_clock(monkeypatch, capsys):
    # The next segment's model counted up from 0 on the first one's clock: its rate, and so its eta, came out wrong.
    import keyframe.progress

    resets = []
    real_reset = keyframe.progress.Progress.reset
    monkeypatch.setattr(keyframe.progress.Progress, "reset",
                        lambda self, task, **fields: resets.append(fields["completed"]) or real_reset(self, task, **fields))
    with progress_bar("stylizing") as progress:
        for segment in ("0", "255"):
            for done in (10, 20, 30):
                progress(done, 30, f"segment {segment}")
        progress(31, 40, "rendering")  # counting from the 31 frames an earlier run kept: a new stage too
    assert resets == [10, 31]
    assert "rendering" in capsys.readouterr().err


@pytest.mark.log_file
def test_without_a_terminal_progress_is_written_as_lines_now_and_then(capsys):
    # Redirected to a log, the bar showed only when the run ended: a minute of nothing, as if it hung.
    with progress_bar("segmenting") as progress:
        for done in range(1, 101):
            progress(done, 100, "masks")
        progress(1, 7, "rendering")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["segmenting: 1/100 (1%), 0:00:00, masks", "segmenting: 100/100 (100%), 0:00:00, masks",
                     "segmenting: 1/7 (14%), 0:00:00, rendering"]


def test_work_kept_from_an_earlier_run_is_not_counted_in_the_rate(monkeypatch):
    # A resumed run reports the 300 frames it kept at once: taken for work done, they made the eta a fraction.
    import keyframe.progress

    bars = []

    class Recorded(keyframe.progress.Progress):
        def __init__(self, *columns, **options):
            super().__init__(*columns, **options)
            bars.append(self)

    monkeypatch.setattr(keyframe.progress, "Progress", Recorded)
    with progress_bar("extracting") as progress:
        progress(300, 328)
        progress(301, 328)
        progress(302, 328)
        (task,) = bars[0].tasks
        assert task.completed == 302 and sum(sample.completed for sample in task._progress) == 2
