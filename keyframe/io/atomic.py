"""Outputs that never look complete before they are.

A file is written under a temporary name beside its target and renamed into
place only when it is whole; a folder of outputs is built as ``<name>.partial``
and renamed when done, so an interrupted run leaves an obviously unfinished
folder that the next run resumes from.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import inspect
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

from keyframe.interrupts import held_interrupts

log = logging.getLogger(__name__)
NAME_BYTES = 255  # the longest file name most file systems take


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, sweep: bool = False) -> Iterator[Path]:
    """Yield a temporary path that becomes ``path`` only if the block succeeds.

    The temporary name (:func:`temporary_name`) keeps the suffix, so writers that choose a format by extension
    (OpenCV, PyAV) still work. With ``sweep``, the temporary files of ``path`` that runs killed outright (``kill
    -9``, a power cut) left are removed first (:func:`sweep_leftovers`: a scan of the folder, so not for every
    frame of a folder of them; a staged folder clears its own, :func:`staged_dir`).

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
    if sweep:
        sweep_leftovers(target)
    tmp = temporary_name(target)
    try:
        with naming_the_output(tmp, target):
            yield tmp
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def temporary_name(target: Path) -> Path:
    """Where :func:`atomic_path` writes ``target`` first: a hidden name beside it that holds the writing process's
    id (for :func:`sweep_leftovers`) and keeps the suffix.

    Examples
    --------
    >>> temporary_name(Path("out/clip.mp4")).name  # doctest: +SKIP
    '.clip.12345-0a1b2c3d.tmp.mp4'
    """
    return target.with_name(f".{target.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{target.suffix}")


# What temporary_name makes (before 2026-12-06 without the process id).
TEMPORARY = re.compile(r"\.(?P<stem>.*)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.tmp(?P<suffix>.*)")
LEFTOVER_AGE = 600  # seconds without a write after which a dead process's temporary file is swept


@contextlib.contextmanager
def naming_the_output(tmp: Path, target: Path) -> Iterator[None]:
    """Make an OSError raised in the block, while ``target`` is written as ``tmp``, name ``target``: a full disk
    says only "No space left on device", and the hidden temporary name means nothing to the user. Where its file
    name cannot be changed (PyAV's errors), a new OSError with its number and message is raised from it."""
    try:
        yield
    except OSError as error:
        if error.filename is not None and str(error.filename) != str(tmp):
            raise
        try:
            error.filename = str(target)
        except AttributeError:
            raise OSError(error.errno, error.strerror or str(error), str(target)) from error
        raise


def sweep_leftovers(target: str | os.PathLike, age: float = LEFTOVER_AGE) -> list[Path]:
    """Remove the temporary files of ``target`` (:func:`temporary_name`) whose process has ended without cleaning
    up and that nothing has written for ``age`` seconds; returns them. A process id only tells of this machine's
    processes (and this container's): the age keeps the file of a run elsewhere that writes to a shared folder.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> where = pathlib.Path(tempfile.mkdtemp())
    >>> left = where / ".clip.4194999-0a1b2c3d.tmp.mp4"; _ = left.write_bytes(b"")  # no such process
    >>> os.utime(left, (0, 0))  # and written long ago
    >>> [p.name for p in sweep_leftovers(where / "clip.mp4")]
    ['.clip.4194999-0a1b2c3d.tmp.mp4']
    """
    target = Path(target)
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.stem)}.*.tmp{glob.escape(target.suffix)}"):
        match = TEMPORARY.fullmatch(leftover.name)
        if match is None or match["stem"] != target.stem or match["suffix"] != target.suffix or not match["pid"]:
            continue  # another output's (shot.2024-05-01.mp4's beside shot.mp4), or one whose writer is not known
        try:
            idle = time.time() - leftover.stat().st_mtime
        except OSError:
            continue
        if idle >= age and not _running(int(match["pid"])):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def _running(pid: int) -> bool:
    if os.name == "nt":  # os.kill there ends the process whatever the signal: never asked, taken as running
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or no process id at all
        return True
    return True


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns the path. Serialisers that write
    to a file themselves (``torch.save``) can report a full disk as something else than an OSError, so they
    write to memory and this writes the bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_bytes(pathlib.Path(tempfile.mkdtemp()) / "x.bin", b"ab").read_bytes()
    b'ab'
    """
    with atomic_path(path, sweep=True) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def torch_bytes(obj) -> bytes:
    """``obj`` as ``torch.save`` writes it, in memory (see :func:`write_torch`).

    Examples
    --------
    >>> import torch
    >>> torch.load(io.BytesIO(torch_bytes({"a": 1})))
    {'a': 1}
    """
    import torch  # here: the rest of the module serves commands that never load torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def write_torch(path: str | os.PathLike, obj) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically; a full disk is an OSError naming ``path``
    (:func:`write_bytes`)."""
    return write_bytes(path, torch_bytes(obj))


# The output locks this process holds, by lock file, and how many times: a function that locks its output may
# call another that locks it too (stylize writes its folder, then the --video made of it).
_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def exclusive(target: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of the output ``target`` (a hidden ``.<name>.lock`` beside it) while the block writes it:
    a second run that would write the same output, and mix its work into the first one's ``.partial``, is refused
    at once (a :class:`~keyframe.errors.KeyframeError`). The lock goes with the process, so a run that was killed
    holds none; within one process it may be taken again. Where the system has no such locks (Windows), runs are
    not guarded.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "frames"
    >>> with exclusive(out):
    ...     with exclusive(out):  # the same process: fine
    ...         pass
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock = _lock_file(Path(target))
    if lock in _HELD:
        _HELD[lock] += 1
        try:
            yield
        finally:
            _HELD[lock] -= 1
        return
    try:
        made = _make_parents(lock.parent)
    except OSError:  # a place no output can go either (under a file, read-only): the caller's checks say so
        made = None
    if made is None:
        yield
        return
    try:
        with _locked(lock, Path(target), fcntl):
            _HELD[lock] = 1
            try:
                yield
            finally:
                del _HELD[lock]
    finally:
        for folder in made:  # those it made for a run refused or stopped before it wrote anything there
            with contextlib.suppress(OSError):
                folder.rmdir()


def locks_output(parameter: str):
    """Decorate a function to hold :func:`exclusive` on its output, the argument named ``parameter`` (none when that
    is None), for the whole call: also while it makes more of what it published (a video of its frames).

    Examples
    --------
    >>> @locks_output("out_dir")
    ... def render(frames, out_dir):
    ...     ...
    """
    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            target = signature.bind(*args, **kwargs).arguments.get(parameter)
            with exclusive(target) if target is not None else contextlib.nullcontext():
                return function(*args, **kwargs)

        return locked

    return decorate


def _lock_file(target: Path) -> Path:
    if target.name in ("", ".."):
        target = target.resolve()
    return target.absolute().with_name(f".{target.name}.lock")


def _make_parents(folder: Path) -> list[Path]:
    """Make ``folder`` and the folders above it that are missing; returns those made, innermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
    return missing


@contextlib.contextmanager
def _locked(lock: Path, target: Path, fcntl) -> Iterator[None]:
    """Hold ``lock``: the file there now, locked, or a KeyframeError when another process holds it."""
    from keyframe.errors import fail

    while True:
        try:
            handle = open(lock, "a")
        except OSError:  # a folder that takes no new file (read-only): no output can be written there either
            handle = None
        if handle is None:
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise fail(target, "is being written by another keyframe run now; wait for it to end, or give another "
                               "output") from None
        # The run that held it may have removed the file just before this one locked it: then the lock is on a
        # file no one else finds, and the one there now (if any) must be taken instead.
        try:
            current = os.stat(lock).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            break
        handle.close()
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # while still held: a run that starts now takes a lock of its own
        handle.close()


def write_json(path: str | os.PathLike, data, indent: int = 2) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (see :func:`atomic_path`); returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = write_json(pathlib.Path(tempfile.mkdtemp()) / "x.json", {"a": 1}, indent=None)
    >>> target.read_text()
    '{"a": 1}'
    """
    with atomic_path(path, sweep=True) as tmp:
        tmp.write_text(json.dumps(data, indent=indent))
    return Path(path)


JSON_HEAD = 1 << 16  # bytes of an existing file read to tell whether it is one of keyframe's JSON outputs


def check_own_json(path: str | os.PathLike, key_sets: list[tuple[str, ...]], what: str) -> None:
    """Refuse ``path`` for a JSON output when a file there is anything but ``what``: a JSON holding every key of
    one of ``key_sets`` in its first 64 kB (its writers put them first). A model, a video or notes named by
    mistake would be lost; an earlier output of the same command may be replaced. Only the file's head is
    read, as a video given by mistake may be gigabytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> notes = pathlib.Path(tempfile.mkdtemp()) / "notes.json"; _ = notes.write_text("my notes")
    >>> check_own_json(notes, [("J", "F")], "a segment eval's JSON")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: ...notes.json: exists and is not a segment eval's JSON, which this one would replace; give another name
    """
    from keyframe.errors import fail

    path = Path(path)
    if not path.is_file():
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(JSON_HEAD).decode("utf-8", errors="replace")
    except OSError:
        head = ""
    if not (head.lstrip().startswith("{") and any(all(f'"{key}"' in head for key in keys) for keys in key_sets)):
        raise fail(path, f"exists and is not {what}, which this one would replace; give another name")


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
    if len(os.fsencode(target.name)) > NAME_BYTES - 24:
        raise fail(f"{target.name[:40]}...", f"cannot be written: names longer than {NAME_BYTES - 24} bytes are not supported")
    if target.is_dir() and not folder:
        raise fail(target, "is a folder; give a file name")
    if target.exists() and not target.is_dir() and folder:
        raise fail(target, "exists and is not a folder")
    existing = target.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise fail(target, f"cannot be written: {existing} is a file")
    _probe(target, existing)
    if folder and target.is_dir():  # an earlier output folder, whose outputs are replaced in place
        _probe(target, target)
    return target


def _probe(target: Path, place: Path) -> None:
    """Refuse ``target`` when a file cannot be made in the folder ``place``."""
    from keyframe.errors import fail

    if not os.access(place, os.W_OK | os.X_OK):
        raise fail(target, f"cannot be written: {place} is not writable")
    try:  # the permission bits do not tell everything (root, read-only or special file systems): try it
        handle, probe = tempfile.mkstemp(prefix=".keyframe-probe-", dir=place)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise fail(target, f"cannot be written in {place}: {error.strerror or error}") from None


def file_stamp(video) -> list | None:
    """Size and modification time of a video file, or of each file of a frame folder (kept work is reused only if
    they match); None for frames that are not on disk, whose work is not kept.

    A folder's stamp is its file count, total size, newest time and a digest of each file's name, size and time:
    the totals alone miss two frames swapped by renaming, or one put back from a backup with its old time.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name, text in (("a.png", "1"), ("b.png", "22")):
    ...     _ = (folder / name).write_text(text)
    >>> before = file_stamp(folder)
    >>> for old, new in (("a.png", "c.png"), ("b.png", "a.png"), ("c.png", "b.png")):  # swapped: the same totals
    ...     _ = (folder / old).rename(folder / new)
    >>> file_stamp(folder)[:3] == before[:3], file_stamp(folder) == before
    (True, False)
    """
    if not isinstance(video, (str, os.PathLike)):
        return None
    path = Path(video)
    try:
        if path.is_dir():
            files = sorted((entry.name, entry.stat()) for entry in os.scandir(path) if entry.is_file())
            listing = "\n".join(f"{name}\t{info.st_size}\t{info.st_mtime_ns}" for name, info in files)
            return [len(files), sum(info.st_size for _, info in files), max((info.st_mtime_ns for _, info in files), default=0),
                    hashlib.sha1(listing.encode("utf-8", "surrogateescape")).hexdigest()[:16]]
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def input_identity(path) -> dict | None:
    """Where ``path`` is and its :func:`file_stamp`: what work kept from it must match to be reused (None for
    frames that are not on disk)."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    return {"path": str(Path(path).resolve()), "stamp": file_stamp(path)}


def same_file_key(path: str | os.PathLike):
    """What ``path`` names, the same for every name of one file or folder: its device and inode where it exists
    (a hard link, a symbolic link or another spelling gives the same key), else its resolved path."""
    path = Path(path)
    try:
        found = path.stat()
    except OSError:
        return path.resolve()
    return found.st_dev, found.st_ino


def partial_dir(out_dir: str | os.PathLike) -> Path:
    """The staging folder of ``out_dir``: where an unfinished run keeps its work (beside it)."""
    out = Path(out_dir)
    if out.name in ("", ".."):  # "." or "..": the folder's own name is needed
        out = out.resolve()
    return out.with_name(out.name + ".partial")


def written_run(folder: str | os.PathLike, stems) -> int:
    """How many of ``stems``, from the first, have their ``<stem>.png`` in ``folder``: where a run that writes
    them in order, stopped, goes on.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for stem in ("000000", "000001", "000003"):
    ...     _ = (folder / f"{stem}.png").write_bytes(b"")
    >>> written_run(folder, ["000000", "000001", "000002", "000003"])
    2
    """
    count = 0
    for stem in stems:
        if not (Path(folder) / f"{stem}.png").is_file():
            break
        count += 1
    return count


STAGE_KEY = ".settings.json"  # in a staging folder: what its work was made from
OUTPUTS = ".keyframe-outputs.json"  # in a published folder: the files the run that made it wrote
# Kinds of command that earlier versions recorded under another name, read as the name used now.
RENAMED_KINDS = {"cutout": "segment cutout"}


@contextlib.contextmanager
def staged_dir(out_dir: str | os.PathLike, key=None, inputs=(), kind: str = "", private=()) -> Iterator[Path]:
    """Build a folder of outputs under ``<out_dir>.partial`` and publish it at the end (:func:`publish`).

    A staging folder left by an interrupted run is reused, so callers can skip the files it already holds
    (resume), but only if it was made from the same ``key`` (any JSON-able description of the inputs and
    settings; None: reused whatever made it): work from other inputs or settings is thrown away, never mixed
    in. On failure the staging folder stays for the next run, unless nothing was done in it. Folders of the stage
    named in ``private`` hold the run's own work, not outputs: they are not published, and stay until everything
    else has moved, so a run interrupted while it publishes finds that work again.

    Refused before any work (a :class:`~keyframe.errors.KeyframeError`): an output folder that is, holds or
    lies in one of ``inputs``; one that holds files keyframe did not write (it would mix them with the
    outputs) or the outputs of another ``kind`` of command (whose files publishing would remove); a
    ``.partial`` that keyframe did not make (it is never deleted); and an output another run is writing now
    (:func:`exclusive`).

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
    with exclusive(out):  # first: then no other run changes what the checks see
        yield from _staged(out, key, inputs, kind, private)


def _staged(out: Path, key, inputs, kind: str, private) -> Iterator[Path]:
    stage = partial_dir(out)
    check_output_folder(out, inputs, kind)
    marker = stage / STAGE_KEY
    wanted = json.dumps(key, sort_keys=True, default=str)
    if stage.exists() and key is not None and _read_text(marker) != wanted:
        kept_work = any(path.name != STAGE_KEY for path in stage.iterdir())
        (log.warning if kept_work else log.info)(
            "%s: the work an interrupted run kept there was made from other inputs or settings; starting afresh", stage)
        shutil.rmtree(stage)
    stage.mkdir(parents=True, exist_ok=True)
    for leftover in stage.rglob(".*.tmp*"):  # files being written when the last run was killed (atomic_path)
        if leftover.is_file() and TEMPORARY.fullmatch(leftover.name):
            leftover.unlink()
    marker.write_text(wanted)
    try:
        yield stage
    except BaseException:
        if not any(path.name != STAGE_KEY for path in stage.iterdir()):  # nothing done to resume: no leftover
            shutil.rmtree(stage)
        raise
    publish(stage, out, kind, private)


def check_output_folder(out_dir: str | os.PathLike, inputs=(), kind: str = "") -> None:
    """What :func:`staged_dir` refuses before it starts, for callers that do much work before they write: an
    output folder that is not a folder, is not apart from the ``inputs``, holds files keyframe did not write or
    the outputs of another ``kind`` of command, or whose ``.partial`` keyframe did not make."""
    from keyframe.errors import fail

    out = Path(out_dir)
    stage = partial_dir(out)
    if out.exists() and not out.is_dir():
        raise fail(out, "exists and is not a folder")
    check_apart(out, inputs)
    check_apart(stage, inputs)
    if out.is_dir() and not (out / OUTPUTS).is_file() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise fail(out, "holds files keyframe did not write (or that an earlier version wrote without listing "
                        "them); give a new or empty folder, or remove it")
    earlier_kind = _listing(out).get("kind", kind)
    earlier_kind = RENAMED_KINDS.get(earlier_kind, earlier_kind)
    if earlier_kind != kind:
        raise fail(out, f"holds the outputs of `keyframe {earlier_kind}`, which this would remove; give another folder")
    if stage.exists() and not stage.is_dir():
        raise fail(stage, "exists and is not a folder; move it away")
    if stage.exists() and not (stage / STAGE_KEY).is_file():
        raise fail(stage, "was not made by this version of keyframe; move it away or remove it")
    check_writable(out, folder=True)  # the folder beside it for the .partial, and an earlier output folder itself


def _read_text(path: Path) -> str | None:
    """The text of ``path``; None when it cannot be read as text."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def check_apart(out: str | os.PathLike, inputs) -> None:
    """Refuse an output folder ``out`` that is one of ``inputs``, holds one, or lies inside one: publishing it
    would replace or remove what is read.

    Examples
    --------
    >>> check_apart("clips/frames", ["clips/video.mp4"])
    >>> check_apart("clips", ["clips/video.mp4"])
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: clips: holds or is the input clips/video.mp4; give an output folder apart from the inputs
    """
    from keyframe.errors import fail

    place = Path(out).resolve()
    for given in inputs:
        if given is None or not isinstance(given, (str, os.PathLike)):
            continue
        read = Path(given).resolve()
        if read == place or place in read.parents:
            raise fail(out, f"holds or is the input {given}; give an output folder apart from the inputs")
        if read in place.parents:
            raise fail(out, f"lies inside the input {given}; give an output folder apart from the inputs")


def keep_aside(path: str | os.PathLike) -> Path:
    """Move a damaged or foreign file out of the way, to the first free name of ``<name>.damaged``,
    ``<name>.damaged-2``, ...: never lost, never overwriting one kept before. Returns where it went.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> work = pathlib.Path(tempfile.mkdtemp()) / "run.json.partial"
    >>> _ = work.write_text("1"); keep_aside(work).name
    'run.json.partial.damaged'
    >>> _ = work.write_text("2"); keep_aside(work).name
    'run.json.partial.damaged-2'
    """
    path = Path(path)
    aside, number = path.with_name(path.name + ".damaged"), 1
    while aside.exists() or aside.is_symlink():
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{number}")
    os.replace(path, aside)
    return aside


def check_file_apart(out: str | os.PathLike, inputs) -> None:
    """Refuse an output file ``out`` that is one of ``inputs`` or lies inside an input folder: it would overwrite
    what is read, or become one of the files read next time (a frame, a mask).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> frames = pathlib.Path(tempfile.mkdtemp())
    >>> check_file_apart(frames.parent / "model.kfm", [frames])
    >>> check_file_apart(frames / "model.kfm", [frames])
    Traceback (most recent call last):
    ...
    keyframe.errors.KeyframeError: .../model.kfm: lies inside the input folder ...; write it elsewhere
    """
    from keyframe.errors import fail

    place = Path(out).resolve()
    for given in inputs:
        if given is None or not isinstance(given, (str, os.PathLike)):
            continue
        read = Path(given).resolve()
        if read == place:
            raise fail(out, "is also an input; the output would overwrite it")
        if read.is_dir() and read in place.parents:
            raise fail(out, f"lies inside the input folder {given}; write it elsewhere")


def publish(stage: Path, out: Path, kind: str = "", private=()) -> None:
    """Move everything under ``stage`` into ``out``, which then holds this run's outputs, and remove ``stage``.

    ``out`` lists the files it got, and the ``kind`` of command, in a hidden ``.keyframe-outputs.json``
    (written last). Into a folder published before, the new files are moved in first (listed beforehand
    with the earlier ones); then the files of the earlier run that this one did not write are removed, so a
    rerun with fewer frames leaves no stale ones behind; files added there since are kept (with a warning),
    never deleted or replaced: one with the name of a new output stops the publish before anything moves. A file or
    folder in the way of an output stops it before anything moves. The stage keeps its mark until
    everything has moved, so an interrupted publish is resumed by the next run. The top-level folders named in
    ``private`` are not moved, and are removed with the stage at the end.

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
    from keyframe.errors import fail

    own = {Path(STAGE_KEY), Path(OUTPUTS)}
    files = (path.relative_to(stage) for path in stage.rglob("*") if not path.is_dir())
    written = sorted(str(name) for name in files if name not in own and name.parts[0] not in private)
    folders = {parent for name in written for parent in Path(name).parents if parent != Path(".")}
    in_the_way = ([out / name for name in written if (out / name).is_dir()]  # a folder where a file goes
                  + [out / folder for folder in folders if (out / folder).exists() and not (out / folder).is_dir()])
    if in_the_way:
        raise fail(in_the_way[0], "is in the way of an output (a folder for a file, or a file for a folder); "
                                  "move it away and run again")
    made_from = _read_text(stage / STAGE_KEY)  # what made the outputs: a rerun from the same finds them done
    listing = json.dumps({"kind": kind, "files": written, **({"made_from": made_from} if made_from else {})})
    if not out.exists():
        # One rename, which cannot stop half-way: the private work is no longer needed to finish it.
        for name in private:
            shutil.rmtree(stage / name, ignore_errors=True)
        (stage / OUTPUTS).write_text(listing)
        os.replace(stage, out)
        (out / STAGE_KEY).unlink()
        return
    earlier = set(_earlier_outputs(out))
    new = set(written)
    (out / STAGE_KEY).unlink(missing_ok=True)  # left by a first publish cut short just after its rename
    added = [path.relative_to(out) for path in out.rglob("*") if not path.is_dir() and path.name != OUTPUTS
             and str(path.relative_to(out)) not in earlier]
    mine = [name for name in added if str(name) in new]
    if mine:  # a file put there since, under the name of a new output: never replaced
        raise fail(out / mine[0], "is in the way of an output and keyframe did not write it; move it away and run again")
    if added:
        names = ", ".join(str(name) for name in sorted(added)[:3]) + (f" and {len(added) - 3} more" if len(added) > 3 else "")
        log.warning("%s: kept %s, which keyframe did not write there, beside the new outputs", out, names)
    # Ctrl-C waits for the moves (a moment): stopped half-way, the folder would hold old and new outputs mixed.
    with held_interrupts() as held:
        # Listed first as keyframe's, the new outputs are told from files put there by hand if this is cut short.
        if not new <= earlier:
            with atomic_path(out / OUTPUTS) as tmp:
                tmp.write_text(json.dumps({"kind": kind, "files": sorted(earlier | new)}))
        for name in written:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            # An output the same as the one there is left as it was, its time too: a rerun that changed nothing
            # leaves the folder's stamp as it was, for work kept from it downstream (a composite of this layer).
            if not _same_file(stage / name, target):
                os.replace(stage / name, target)
        for name in earlier - new:
            _remove_with_empty_parents(out / name, out)
        if _read_text(out / OUTPUTS) != listing:
            with atomic_path(out / OUTPUTS) as tmp:
                tmp.write_text(listing)
        shutil.rmtree(stage)
    if held.requested:  # the outputs are whole; the run stops here, as asked
        raise KeyboardInterrupt


SMALL_OUTPUT = 1 << 16  # bytes: outputs up to this size are compared by content before they replace the one there


def _same_file(staged: Path, target: Path) -> bool:
    """Whether ``staged`` is ``target`` (a link to it, as :func:`staged_dir`'s callers make of finished work) or
    a small file (a settings record) with the same bytes. Larger outputs are not read again to find out."""
    try:
        if os.path.samefile(staged, target):
            return True
        size = staged.stat().st_size
        return size <= SMALL_OUTPUT and size == target.stat().st_size and staged.read_bytes() == target.read_bytes()
    except OSError:
        return False


def _listing(out: Path) -> dict:
    """The ``.keyframe-outputs.json`` of ``out`` (empty when there is none, or it is damaged)."""
    try:
        listing = json.loads((out / OUTPUTS).read_text())
    except (OSError, ValueError):
        return {}
    return listing if isinstance(listing, dict) else {}


def published_whole(out_dir: str | os.PathLike) -> bool:
    """Whether ``out_dir`` holds every file keyframe published there: its listing names some, and none is missing."""
    names = _listing(Path(out_dir)).get("files")
    return isinstance(names, list) and bool(names) and len(_earlier_outputs(Path(out_dir))) == len(names)


def published_from(out_dir: str | os.PathLike, key, whole: bool = True) -> bool:
    """Whether ``out_dir`` holds what a run made from ``key`` (as :func:`staged_dir` takes it) published there: the
    same inputs and settings, and (``whole``) every file it wrote still in place. That work need not be done again.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with staged_dir(out, {"frames": 3}) as stage:
    ...     _ = (stage / "a.txt").write_text("1")
    >>> published_from(out, {"frames": 3}), published_from(out, {"frames": 4})
    (True, False)
    """
    made_from = _listing(Path(out_dir)).get("made_from")
    return made_from == json.dumps(key, sort_keys=True, default=str) and (published_whole(out_dir) or not whole)


def published_files(out_dir: str | os.PathLike) -> list[str]:
    """The files (relative paths) keyframe published in ``out_dir`` that are still there; none for a folder it did not make."""
    return _earlier_outputs(Path(out_dir))


def carry_published(out_dir: str | os.PathLike, stage: str | os.PathLike, names) -> None:
    """Take the files ``names`` (of :func:`published_files`) that ``out_dir`` holds into its ``stage``, where the stage
    lacks them: finished work a rerun need not make again. Each is linked, not copied, where the file system allows,
    and :func:`publish` then leaves it in place, its time too.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with staged_dir(out) as stage:
    ...     _ = (stage / "a.txt").write_text("1")
    >>> with staged_dir(out) as stage:
    ...     carry_published(out, stage, published_files(out))
    ...     _ = (stage / "b.txt").write_text("2")
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    ['a.txt', 'b.txt']
    """
    out, stage = Path(out_dir), Path(stage)
    for name in names:
        if (stage / name).exists():
            continue
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(out / name, stage / name)
        except OSError:  # no hard links here (another file system, FAT): a copy
            shutil.copy2(out / name, stage / name)


def _earlier_outputs(out: Path) -> list[str]:
    """The files an earlier run published in ``out`` (none when it was not made by keyframe). Only names of
    plain files inside ``out`` count: nothing outside is ever removed, whatever a hand-edited list says."""
    try:
        names = [str(name) for name in _listing(out)["files"]]
    except (KeyError, TypeError):
        return []
    inside = out.resolve()
    kept = []
    for name in names:
        try:
            path = out / name
            if (not Path(name).is_absolute() and ".." not in Path(name).parts and not path.is_symlink()
                    and path.is_file() and inside in path.resolve().parents):
                kept.append(name)
        except (OSError, ValueError):  # a name too long, or with a NUL in it
            continue
    return kept


def _remove_with_empty_parents(path: Path, root: Path) -> None:
    """Remove the file ``path`` and the folders above it, up to ``root``, that it leaves empty."""
    path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == root or root not in folder.parents or not folder.is_dir() or any(folder.iterdir()):
            break
        folder.rmdir()
