"""Atomic file output: a failed run never leaves a half-written file or folder behind.

Files are written to a temporary name beside the target, flushed to disk (fsync) and
renamed over it; folders are built in a staging folder and swapped in. Temporary names
carry the writer's pid, so leftovers of a killed writer are recognised and removed by the
next one. Published files get the modes the umask allows, like any other file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    _write_atomically(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, payload: object) -> None:
    write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    """Write a frame as Parquet or CSV (by suffix), atomically; a CSV spreadsheet-safe."""
    path = Path(path)
    if path.suffix == ".parquet":
        _write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
    else:
        _write_atomically(path, lambda tmp: spreadsheet_safe(frame).to_csv(tmp, index=False))


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a
    leading apostrophe: a customer id, a note or a rejected value must never become a
    formula in someone's Excel."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            text = out[column].astype("str")
            risky = text.str.match(r"^[=+\-@\t\r]").fillna(False)
            out[column] = text.where(~risky, "'" + text)
    return out


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{_prefix(path, 'tmp')}", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    _IN_PROGRESS.add(tmp.name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _IN_PROGRESS.discard(tmp.name)


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh staging folder that replaces ``target`` only if the block succeeds.

    The previous ``target`` stays in place until the new one is complete, so readers
    (and a rerun after a failure) always see a whole, good output.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=_prefix(target, "staging")))
    _IN_PROGRESS.add(staging.name)
    try:
        yield staging
        _publishable(staging)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        _IN_PROGRESS.discard(staging.name)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` in the place of ``target``.

    Renaming a folder onto an empty folder is atomic, so the old one moves aside under a
    name nobody else can hold, whatever pids earlier (killed) writers had.
    """
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=_prefix(target, "old")))
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    _fsync(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _prefix(target: Path, kind: str) -> str:
    return f".{target.name}.{kind}-{os.getpid()}-"


def _remove_leftovers(target: Path) -> None:
    """Remove temporary files and folders of ``target`` left by writers that died."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp|staging|old)-(\d+)-")
    for entry in target.parent.glob(f".{glob_escape(target.name)}.*-*"):
        match = pattern.match(entry.name)
        if match is None:
            continue
        kind, pid = match.group(1), int(match.group(2))
        if kind != "old" and (entry.name in _IN_PROGRESS or process_alive(pid)):
            continue  # a live writer's work in progress
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def process_alive(pid: int) -> bool:
    """Whether another process ``pid`` runs; our own pid on a leftover is a dead predecessor's
    (pids repeat, in containers always), since our own work in progress is listed."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _publishable(folder: Path) -> None:
    """Give a staging folder and its content the modes the umask allows (mkdtemp makes 0700)."""
    os.chmod(folder, 0o777 & ~_UMASK)
    for path in folder.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_UMASK)
        if path.is_file():
            _fsync(path)


def fsync_folder(path: Path) -> None:
    """Make a folder's entries (a rename into it) durable."""
    _fsync(Path(path))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_umask() -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: read it the old way (once, at import)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
# Temporary names this process is writing right now (threads may publish concurrently).
_IN_PROGRESS: set[str] = set()


LOCK_FILE = ".radar.lock"


class WorkspaceBusy(OSError):
    """Another ``radar`` job holds the workspace."""


@contextlib.contextmanager
def workspace_lock(root: Path, job: str) -> Iterator[None]:
    """Hold the workspace for one job (score, train, monitor...): a second job on the same
    workspace stops at once, naming the one that holds it, instead of both writing and the
    last silently winning. The lock is the kernel's (``flock``): a killed job releases it."""
    import fcntl

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another job"
            raise WorkspaceBusy(
                f"workspace {root} is busy: {holder} holds it; wait for it to finish, or give "
                "this job another --workspace"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"radar {job} (pid {os.getpid()}, since {_now()})")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
