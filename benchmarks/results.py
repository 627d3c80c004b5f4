"""The one way a benchmark records its result: a dated section in RESULTS.md, with the
exact command that produced the table."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_result(title: str, text: str, how: str = "") -> None:
    """Add ``text`` under a heading with the time and the command line of this process."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    note = f" ({how})" if how else ""
    with RESULTS.open("a") as fh:
        fh.write(
            f"\n### {title}, {stamp}\n\nCommand: `.venv/bin/python {command}`{note}\n\n{text}\n"
        )
