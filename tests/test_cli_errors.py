"""How the command line ends: one line per error, and Ctrl-C read as an interruption even when clean-up fails."""

import subprocess
import sys

import pytest

from keyframe import cli


def _fail_while_interrupted():
    """As Optuna's journal lock does when Ctrl-C lands while it is released: the clean-up itself fails."""
    try:
        raise KeyboardInterrupt
    except BaseException:
        raise FileNotFoundError(2, "No such file or directory", "model.kfm.partial.lock1234.rename")


@pytest.mark.parametrize("command, code, says", [
    (_fail_while_interrupted, 130, "interrupted; no output was made to look complete"),
    (lambda: (_ for _ in ()).throw(FileNotFoundError(2, "No such file or directory", "gone.mp4")), 1,
     "error: gone.mp4: No such file or directory"),
])
def test_errors_end_in_one_line_and_an_interruption_stays_one(monkeypatch, capsys, command, code, says):
    monkeypatch.setattr(cli, "app", lambda **_: command())
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == code
    stderr = " ".join(capsys.readouterr().err.split())
    assert says in stderr and "Traceback" not in stderr and "lock1234" not in stderr


def test_other_errors_are_not_taken_for_an_interruption(monkeypatch):
    def broken():
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli, "app", lambda **_: broken())
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main()


def _interrupted_stderr(capsys) -> str:
    """Run the command line as ``sys.argv`` says; it must end as interrupted (130). Its stderr, spaces folded."""
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 130
    return " ".join(capsys.readouterr().err.split())


def test_ctrl_c_where_no_work_is_kept_says_so_instead_of_promising_a_resume(monkeypatch, capsys, tmp_path):
    import sys

    import keyframe.motion

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(keyframe.motion, "detect", interrupted)
    for extra, says in (([], "interrupted; nothing was kept: with --json OUT, detection keeps its work"),
                        (["--json", str(tmp_path / "found.json")], "resumes from the work it kept under a *.partial name")):
        monkeypatch.setattr(sys, "argv", ["keyframe", "movement", "detect", str(tmp_path / "m.kfm"), str(tmp_path / "v.mp4"), *extra])
        stderr = _interrupted_stderr(capsys)
        assert says in stderr and stderr.count("interrupted") == 1, stderr


def test_ctrl_c_while_a_movement_command_starts_says_what_was_kept(monkeypatch, capsys, tmp_path):
    # Ctrl-C while learn (one trial) or detect (no --json) still loaded the library promised a resume.
    import sys

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "writable", interrupted)  # the first thing either does once its imports are done
    model, video = str(tmp_path / "m.kfm"), str(tmp_path / "v.mp4")
    for command, says in ((["learn", video, "-o", model], "nothing was kept: learning starts afresh when run again"),
                          (["detect", model, video], "nothing was kept: with --json OUT, detection keeps its work"),
                          (["learn", video, "-o", model, "--trials", "2"], "resumes from the work it kept under a *.partial name"),
                          (["detect", model, video, "--json", str(tmp_path / "f.json")], "kept under a *.partial name")):
        monkeypatch.setattr(sys, "argv", ["keyframe", "movement", *command])
        stderr = _interrupted_stderr(capsys)
        assert says in stderr and stderr.count("interrupted") == 1, (command, stderr)


def test_ctrl_c_before_a_video_command_starts_its_work_says_nothing_was_kept(monkeypatch, capsys, tmp_path):
    # Ctrl-C while encode or preview still loaded their libraries or checked their outputs promised a resume.
    import sys

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "writable", interrupted)  # the first thing either does once its imports are done
    for command in (["frames", "encode", str(tmp_path), str(tmp_path / "v.mp4")],
                    ["segment", "preview", str(tmp_path), "--masks", str(tmp_path), "-o", str(tmp_path / "v.mp4")],
                    ["segment", "cutout", str(tmp_path), "--masks", str(tmp_path), "-o", str(tmp_path / "c.mov")]):
        monkeypatch.setattr(sys, "argv", ["keyframe", *command])
        stderr = _interrupted_stderr(capsys)
        assert "interrupted; nothing was kept: a video is written whole or not at all" in stderr, stderr
    # A folder of cut-outs is built under a *.partial name, and resumed.
    monkeypatch.setattr(sys, "argv", ["keyframe", "segment", "cutout", str(tmp_path), "--masks", str(tmp_path), "-o", str(tmp_path / "cut")])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 130
    assert "resumes from the work it kept under a *.partial name" in " ".join(capsys.readouterr().err.split())


def test_ctrl_c_while_the_toolkit_loads_ends_quietly():
    # The console script used to import keyframe.cli (torch, OpenCV, PyAV) before any handler was in place: a
    # Ctrl-C in that second printed a KeyboardInterrupt traceback.
    script = """
import sys
class Interrupted:
    def find_spec(self, name, path=None, target=None):
        if name == "keyframe.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupted())
from keyframe.launch import main
main()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "interrupted while starting; nothing was done"


def test_a_ctrl_c_once_the_command_has_ended_breaks_no_shutdown():
    # An impatient second Ctrl-C, or one just after success, came while Python shut down (torch's exit hooks):
    # "Exception ignored in atexit callback ... KeyboardInterrupt" and, at times, another exit code.
    script = """
import atexit, os, signal, sys, time
atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.3)))
sys.argv = ["keyframe", "frames", "--help"]
from keyframe.launch import main
main()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "KeyboardInterrupt" not in done.stderr, done.stderr


def test_python_dash_m_keyframe_runs_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "keyframe", "frames", "info", tmp_path / "none.mp4"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {tmp_path / 'none.mp4'}: no such file or folder"
    helped = subprocess.run([sys.executable, "-m", "keyframe", "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "Usage: keyframe" in helped.stdout
    from importlib.metadata import version

    told = subprocess.run([sys.executable, "-m", "keyframe", "--version"], capture_output=True, text=True, timeout=120)
    assert told.returncode == 0 and told.stdout.strip() == f"keyframe {version('keyframe')}"


def test_ctrl_c_while_segment_trains_says_nothing_was_kept_and_after_its_first_masks_promises_the_resume(
        monkeypatch, capsys, tmp_path):
    import sys

    import keyframe.segment
    from keyframe.io.atomic import partial_dir

    out = tmp_path / "out"

    def interrupted(frames, masks, out_dir, **options):
        if kept:  # as a run stopped after its first masks leaves them
            (partial_dir(out_dir) / ".work" / "255" / "ensemble").mkdir(parents=True, exist_ok=True)
            (partial_dir(out_dir) / ".work" / "255" / "ensemble" / "000000.png").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(keyframe.segment, "segment", interrupted)
    monkeypatch.setattr(sys, "argv", ["keyframe", "segment", str(tmp_path / "frames"), "--masks", str(tmp_path / "masks"),
                                      "-o", str(out)])
    for kept, says in ((False, "interrupted; nothing was kept: no mask was made yet"),
                       (True, "resumes from the work it kept under a *.partial name")):
        stderr = _interrupted_stderr(capsys)
        assert says in stderr and stderr.count("interrupted") == 1, stderr


def test_ctrl_c_while_the_sample_is_made_says_nothing_was_kept(monkeypatch, capsys, tmp_path):
    import sys

    import keyframe.sample

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keyframe.sample, "make_sample", interrupted)
    monkeypatch.setattr(sys, "argv", ["keyframe", "sample", str(tmp_path / "s")])
    stderr = _interrupted_stderr(capsys)
    assert "interrupted; nothing was kept: the sample is made whole; a rerun starts over" in stderr, stderr


def test_no_command_help_breaks_a_line_inside_a_paragraph():
    # Typer's rich help keeps a docstring's single line breaks: a wrapped docstring line shows as a ragged break in
    # --help (and in the group's command list, for the first paragraph).
    import inspect

    from keyframe.cli import app

    def docstrings(typer_app):
        for info in typer_app.registered_commands:
            yield info.callback.__name__, info.help or info.callback.__doc__ or ""
        for group in typer_app.registered_groups:
            yield from docstrings(group.typer_instance)

    found = dict(docstrings(app))
    assert "backbone_classify" in found and "movement_detect" in found
    ragged = {name: paragraph for name, doc in found.items() for paragraph in inspect.cleandoc(doc).split("\n\n")
              if "\n" in paragraph}
    assert not ragged
