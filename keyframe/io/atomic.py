"""Outputs that never look complete before they are.

A file is written under a temporary name beside its target and renamed into
place only when it is whole; a folder of outputs is built as ``<name>.partial``
and renamed when done, so an interrupted run leaves an obviously unfinished
folder that the next run resumes from.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator


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
    return target


def partial_dir(out_dir: str | os.PathLike) -> Path:
    """The staging folder of ``out_dir``: where an unfinished run keeps its work."""
    out = Path(out_dir)
    return out.with_name(out.name + ".partial")


@contextlib.contextmanager
def staged_dir(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Build a folder of outputs under ``<out_dir>.partial`` and publish it at the end.

    A staging folder left by an interrupted run is reused, so callers can skip
    the files it already holds (resume). On success every file is moved into
    ``out_dir`` (created if needed; files of the same name are replaced, others
    kept) and the staging folder is removed. On failure it stays for the next run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with staged_dir(out) as stage:
    ...     _ = (stage / "a.txt").write_text("1")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        from keyframe.errors import fail

        raise fail(out, "exists and is not a folder")
    stage = partial_dir(out)
    stage.mkdir(parents=True, exist_ok=True)
    yield stage
    publish(stage, out)


def publish(stage: Path, out: Path) -> None:
    """Move everything under ``stage`` into ``out`` and remove ``stage``."""
    if not out.exists():
        os.replace(stage, out)
        return
    for source in sorted(stage.rglob("*"), key=lambda p: len(p.parts)):
        target = out / source.relative_to(stage)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    shutil.rmtree(stage)
