import pytest

from keyframe.progress import progress_bar


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """Room for the whole bar: a narrow terminal (COLUMNS=30) cuts the note short, as it should."""
    monkeypatch.setenv("COLUMNS", "120")


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
        progress(1, 12, "rendering")
    assert resets == [10, 1]
    assert "rendering" in capsys.readouterr().err
