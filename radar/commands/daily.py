"""``radar daily``: the morning job a scheduler runs. Scores the day the data ends, and every
day missed since the last published list, publishes each, refreshes monitoring, and says in
one line how it went. Safe to repeat: a day already published is left as it is."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from data.fileio import workspace_lock
from radar.commands.common import config_of, mapping_argument

NAME = "daily"
HELP = "score today and every missed day, publish, monitor; non-zero on a failure or an alert"
ALERTED = 3  # the exit code when every step worked but monitoring raised an alert


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="the export, as for score")
    p.add_argument("--date", help="the day to reach, YYYY-MM-DD (default: the day the data ends)")
    p.add_argument(
        "--max-days",
        type=int,
        default=31,
        help="at most this many missed days are caught up, the latest ones (default: 31)",
    )
    p.add_argument(
        "--no-monitor", action="store_true", help="publish only (monitor in another job)"
    )
    mapping_argument(p)


def days_to_score(published: list[date], target: date, max_days: int) -> list[date]:
    """The days after the last published one up to ``target`` (only ``target`` when none was
    published), the latest ``max_days`` of them; none when ``target`` is published."""
    if target in published:
        return []
    after = [d for d in published if d < target]
    first = after[-1] + timedelta(days=1) if after else target
    days = [first + timedelta(days=i) for i in range((target - first).days + 1)]
    return days[-max_days:]


def run(args: argparse.Namespace) -> int:
    from radar.commands.monitor import summary_lines
    from radar.commands.score import history_to_score, score_history
    from serving.monitoring.monitor import run_monitor
    from serving.publication import published_days

    if args.max_days < 1:
        raise ValueError(f"--max-days must be at least 1, got {args.max_days}")
    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        history = history_to_score(config, args.data)
        target = date.fromisoformat(args.date) if args.date else history.observed_until.date()
        published = [d for d, _ in published_days(config.workspace.risk_lists_dir)]
        days = days_to_score(published, target, args.max_days)
        for day in days:
            path, risk_list = score_history(config, history, day)
            contacted = int((risk_list["assignment"] == "contact").sum())
            print(f"{day}: published {len(risk_list)} customers, {contacted} to contact ({path})")
        done = f"published {', '.join(map(str, days))}" if days else f"{target} already published"
        if args.no_monitor:
            print(f"daily: {done}")
            return 0
        report = run_monitor(history, config)
        print("\n".join(summary_lines(report)))
        alerts = report["alerts"]
        if alerts:
            print(f"daily: {done}; {len(alerts)} alert(s): {alerts[0]['message']}")
            return ALERTED
        print(f"daily: {done}; monitoring without alerts")
        return 0
