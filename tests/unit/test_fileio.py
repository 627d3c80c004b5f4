"""Atomic output after a crash: leftovers of killed writers are cleaned, a pid that repeats
never blocks a publish, and published files get ordinary modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pandas as pd

from data.fileio import atomic_directory, write_frame, write_json


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_killed_writers_are_removed(tmp_path):
    target = tmp_path / "2026-05-31"
    dead = dead_pid()
    for leftover in (f".{target.name}.staging-{dead}-abc", f".{target.name}.old-{dead}-xyz"):
        (tmp_path / leftover).mkdir()
        (tmp_path / leftover / "risk_list.csv").write_text("stale")
    (tmp_path / f".latest.json.tmp-{dead}-q.tmp").write_text("{")
    with atomic_directory(target) as staging:
        (staging / "risk_list.csv").write_text("fresh")
    write_json(tmp_path / "latest.json", {"date": "2026-05-31"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-05-31", "latest.json"]


def test_an_old_folder_named_with_our_own_pid_does_not_block_publishing(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
    # A killed predecessor with the same pid (containers start at 1 every time).
    (tmp_path / f".out.old-{os.getpid()}-x").mkdir()
    (tmp_path / f".out.old-{os.getpid()}-x" / "junk").write_text("junk")
    (tmp_path / f".out.staging-{os.getpid()}-y").mkdir()
    for _ in range(2):
        with atomic_directory(target) as staging:
            (staging / "a").write_text("2")
    assert (target / "a").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_published_files_and_folders_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        import importlib

        import data.fileio

        importlib.reload(data.fileio)  # the umask is read once, at import
        with data.fileio.atomic_directory(tmp_path / "out") as staging:
            (staging / "list.csv").write_text("x")
        data.fileio.write_json(tmp_path / "latest.json", {})
        write_frame(tmp_path / "frame.parquet", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(previous)
        importlib.reload(data.fileio)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "out") == 0o755
    assert mode(tmp_path / "out" / "list.csv") == 0o644
    assert mode(tmp_path / "latest.json") == 0o644
