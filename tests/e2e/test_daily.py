"""`radar daily`: catches up the days missed since the last published list, publishes each,
monitors, is safe to repeat, takes the workspace alone, and says in its exit code and last
line how it went."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from data.fileio import workspace_lock
from radar.cli import main
from radar.commands.daily import ALERTED, days_to_score
from serving.publication import published_days

D = date(2026, 3, 20)


@pytest.mark.parametrize(
    ("published", "target", "max_days", "expected"),
    [
        ([], D, 31, [D]),  # a new workspace: today only
        ([D - timedelta(days=3)], D, 31, [D - timedelta(days=2), D - timedelta(days=1), D]),
        ([D - timedelta(days=3)], D, 2, [D - timedelta(days=1), D]),  # the latest ones
        ([D], D, 31, []),  # already published: nothing to do
        ([D + timedelta(days=2)], D, 31, [D]),  # a later list does not stop an earlier day
    ],
)
def test_days_to_score(published, target, max_days, expected):
    assert days_to_score(published, target, max_days) == expected


@pytest.mark.slow
def test_daily_catches_up_missed_days_and_is_safe_to_repeat(trained, small_world, tmp_path, capsys):
    root = tmp_path / "ws"
    shutil.copytree(trained["root"], root)
    lists = root / "risk_lists"
    end = trained["history"].observed_until.date()
    for _day, folder in published_days(lists):  # a deployment whose last list is 3 days old
        shutil.rmtree(folder)
    base = ["--workspace", str(root)]
    assert (
        main([*base, "score", "--data", str(small_world), "--date", str(end - timedelta(days=3))])
        == 0
    )
    capsys.readouterr()

    code = main([*base, "daily", "--data", str(small_world)])
    out = capsys.readouterr().out.strip().splitlines()
    assert code in (0, ALERTED)
    assert [d for d, _ in published_days(lists)] == [end - timedelta(days=i) for i in (3, 2, 1, 0)]
    assert out[-1].startswith(f"daily: published {end - timedelta(days=2)}, ")
    assert ("alert" in out[-1]) == (code == ALERTED)
    assert (root / "monitoring").is_dir()

    stamps = {p: p.stat().st_mtime_ns for p in lists.glob("????-??-??/risk_list.parquet")}
    again = main([*base, "daily", "--data", str(small_world)])
    assert again == code  # the same verdict
    assert (
        capsys.readouterr()
        .out.strip()
        .splitlines()[-1]
        .startswith(f"daily: {end} already published")
    )
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing re-published

    with workspace_lock(root, "score"):  # one run at a time per workspace
        assert main([*base, "daily", "--data", str(small_world)]) == 2
