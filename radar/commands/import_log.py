"""``radar import-log``: a case-based event log as contract tables, by declared rules."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "import-log"
HELP = (
    "turn a case-based event log into contract tables: each case a contact, a case with a "
    "complaint activity a complaint"
)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", type=Path, required=True, help="the log, CSV or Parquet")
    p.add_argument("--out", type=Path, required=True, help="data folder to write (replaced)")
    p.add_argument("--case", required=True, help="column of the case (ticket) id")
    p.add_argument("--customer", required=True, help="column of the customer id")
    p.add_argument("--activity", required=True, help="column of the activity")
    p.add_argument("--time", required=True, help="column of the event time")
    p.add_argument(
        "--complaint-activity",
        action="append",
        help="an activity that makes its case a complaint (repeat for several)",
    )
    p.add_argument("--time-format", help="strftime pattern of the times (default: ISO 8601)")
    p.add_argument("--time-zone", default="UTC", help="zone of times written without one")


def run(args: argparse.Namespace) -> int:
    from data.event_log import EventLogRules, write_event_log_tables

    rules = EventLogRules(
        case=args.case,
        customer=args.customer,
        activity=args.activity,
        time=args.time,
        complaint_activities=tuple(args.complaint_activity or ()),
        time_format=args.time_format,
        time_zone=args.time_zone,
    )
    tables = write_event_log_tables(args.log, args.out, rules)
    contacts = tables["contacts"]
    print(
        f"{args.out}: {len(contacts):,} contacts (one per case) of "
        f"{contacts['customer_id'].nunique():,} customers, "
        f"{len(tables['complaints']):,} complaints"
    )
    return 0
