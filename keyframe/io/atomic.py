"""Outputs that never look complete before they are.

A file is written under a temporary name beside its target and renamed into
place only when it is whole; a folder of outputs is built as ``<name>.partial``
and renamed when done, so an interrupted run leaves an obviously unfinished
folder that the next run resumes from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)
NAME_BYTES = 255  # the longest file name most file systems take


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path that becomes ``path`` only if the block succeeds.

    The temporary name keeps the suffix, so writers that choose a format by
    extension (OpenCV, PyAV) still work.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, data, indent: int = 2) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (see :func:`atomic_path`); returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = write_json(pathlib.Path(tempfile.mkdtemp()) / "x.json", {"a": 1}, indent=None)
    >>> target.read_text()
    '{"a": 1}'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=indent))
    return Path(path)


def check_writable(path: str | os.PathLike, folder: bool = False) -> Path:
    """Refuse, before any work, an output ``path`` that could not be written: a file named by an existing
    folder (or a folder by an existing file), or a place under a file or a folder that may not be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> where = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable(where / "new" / "model.kfm").name
    'model.kfm'
    >>> check_writable(where)
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: ...: is a folder; give a file name
    """
    from keyframe.errors import fail

    target = Path(path)
    # Outputs are first written under longer temporary names (".partial", ".<name>.<hex>.tmp").
    too_long = [part for part in target.parts if len(os.fsencode(part)) > NAME_BYTES - 24]
    if too_long:
        raise fail(f"{too_long[0][:40]}...", f"cannot be written: names longer than {NAME_BYTES - 24} bytes are not supported")
    if target.is_dir() and not folder:
        raise fail(target, "is a folder; give a file name")
    if target.exists() and not target.is_dir() and folder:
        raise fail(target, "exists and is not a folder")
    existing = target.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise fail(target, f"cannot be written: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise fail(target, f"cannot be written: {existing} is not writable")
    try:  # the permission bits do not tell everything (root, read-only or special file systems): try it
        handle, probe = tempfile.mkstemp(prefix=".keyframe-probe-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise fail(target, f"cannot be written in {existing}: {error.strerror or error}") from None
    return target


def file_stamp(video) -> list[int] | None:
    """Size and modification time of a video file or frame folder (kept work is reused only if they match);
    None for frames that are not on disk, whose work is not kept."""
    if not isinstance(video, (str, os.PathLike)):
        return None
    path = Path(video)
    try:
        if path.is_dir():
            files = [entry.stat() for entry in os.scandir(path) if entry.is_file()]
            return [len(files), sum(f.st_size for f in files), max((f.st_mtime_ns for f in files), default=0)]
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def partial_dir(out_dir: str | os.PathLike) -> Path:
    """The staging folder of ``out_dir``: where an unfinished run keeps its work."""
    out = Path(out_dir)
    return out.with_name(out.name + ".partial")


STAGE_KEY = ".settings.json"  # in a staging folder: what its work was made from
OUTPUTS = ".keyframe-outputs.json"  # in a published folder: the files the run that made it wrote


@contextlib.contextmanager
def staged_dir(out_dir: str | os.PathLike, key=None) -> Iterator[Path]:
    """Build a folder of outputs under ``<out_dir>.partial`` and publish it at the end.

    A staging folder left by an interrupted run is reused, so callers can skip
    the files it already holds (resume), but only if it was made from the same
    ``key`` (any JSON-able description of the inputs and settings; None: always
    reused): work from other settings is thrown away, never mixed in. On success
    the folder is published (:func:`publish`). On failure it stays for the next run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with staged_dir(out) as stage:
    ...     _ = (stage / "a.txt").write_text("1")
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['a.txt']
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        from keyframe.errors import fail

        raise fail(out, "exists and is not a folder")
    stage = partial_dir(out)
    if key is not None:
        wanted = json.dumps(key, sort_keys=True, default=str)
        key_file = stage / STAGE_KEY
        if stage.exists() and (not key_file.is_file() or key_file.read_text() != wanted):
            log.info("%s: made with other inputs or settings; starting afresh", stage)
            shutil.rmtree(stage)
        stage.mkdir(parents=True, exist_ok=True)
        key_file.write_text(wanted)
    stage.mkdir(parents=True, exist_ok=True)
    yield stage
    (stage / STAGE_KEY).unlink(missing_ok=True)
    publish(stage, out)


def publish(stage: Path, out: Path) -> None:
    """Move everything under ``stage`` into ``out``, which then holds this run's outputs, and remove ``stage``.

    ``out`` lists the files it got in a hidden ``.keyframe-outputs.json``. Into a folder published
    before, the files of the earlier run that this one did not write are removed, so a rerun with
    fewer frames leaves no stale ones behind; files that no run of keyframe wrote there are kept
    (with a warning), never deleted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "frames"
    >>> for count in (3, 2):
    ...     with staged_dir(out) as stage:
    ...         for index in range(count):
    ...             _ = (stage / f"{index}.png").write_text("x")
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['0.png', '1.png']
    """
    written = sorted(str(path.relative_to(stage)) for path in stage.rglob("*") if not path.is_dir())
    (stage / OUTPUTS).write_text(json.dumps({"files": written}))
    if not out.exists():
        os.replace(stage, out)
        return
    earlier = _earlier_outputs(out)
    for name in set(earlier) - set(written):
        _remove_with_empty_parents(out / name, out)
    foreign = [path for path in out.rglob("*") if not path.is_dir() and path.name != OUTPUTS
               and str(path.relative_to(out)) not in earlier and str(path.relative_to(out)) not in written]
    if foreign:
        log.warning("%s: kept %d file(s) that keyframe did not write there (e.g. %s) beside the new outputs",
                    out, len(foreign), foreign[0].relative_to(out))
    for source in sorted(stage.rglob("*"), key=lambda p: len(p.parts)):
        target = out / source.relative_to(stage)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    shutil.rmtree(stage)


def _earlier_outputs(out: Path) -> list[str]:
    """The files an earlier run published in ``out`` (none when it was not made by keyframe); a listed name that
    is not a plain file inside ``out`` (a hand-edited list) is ignored, so nothing outside is ever removed."""
    try:
        names = [str(name) for name in json.loads((out / OUTPUTS).read_text())["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    inside = out.resolve()
    return [name for name in names if not Path(name).is_absolute() and ".." not in Path(name).parts
            and inside in (out / name).resolve().parents and not (out / name).is_symlink()]


def _remove_with_empty_parents(path: Path, root: Path) -> None:
    """Remove the file ``path`` and the folders above it, up to ``root``, that it leaves empty."""
    path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == root or root not in folder.parents or not folder.is_dir() or any(folder.iterdir()):
            break
        folder.rmdir()
