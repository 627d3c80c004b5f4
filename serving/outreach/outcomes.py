"""What happened when the outreach team contacted a customer, kept in a real database.

SQLite in the workspace by default; any SQLAlchemy URL otherwise (PostgreSQL:
``postgresql+psycopg://user:password@host/db``). One row per (customer, contacted at):
posting the same outcome again is a duplicate (retries are safe), posting it with another
reach, code, note or list date is an update (a correction). Times are stored in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from serving.fields import Code, Day, Flag, Id, Moment, Strict

MAX_NOTE_LENGTH = 2000


class OutreachOutcome(Strict):
    """What happened when the outreach team contacted (or tried to contact) a customer."""

    customer_id: Id = Field(description="Customer contacted.", examples=["C000123"])
    contacted_at: Moment = Field(
        description="When the contact (attempt) happened (with its zone; not in the future).",
        examples=["2026-05-30T09:15:00Z"],
    )
    list_date: Day | None = Field(
        None,
        description="Date of the risk list the customer was taken from.",
        examples=["2026-05-30"],
    )
    reached: Flag = Field(description="Whether the customer was actually reached.")
    outcome_code: Code = Field(
        description="What came of it, in the team's own codes.", examples=["issue_resolved"]
    )
    note: str | None = Field(
        None, max_length=MAX_NOTE_LENGTH, description="Free text.", examples=["refund promised"]
    )


METADATA = sa.MetaData()
OUTCOME_TABLE = sa.Table(
    "outreach_outcomes",
    METADATA,
    sa.Column("customer_id", sa.String(128), primary_key=True),
    # Naive UTC on every backend: one representation, compared exactly.
    sa.Column("contacted_at", sa.DateTime(timezone=False), primary_key=True),
    sa.Column("list_date", sa.Date, nullable=True),
    sa.Column("reached", sa.Boolean, nullable=False),
    sa.Column("outcome_code", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=False), nullable=False),
)
VALUES = ("list_date", "reached", "outcome_code", "note")  # what a later post may correct
COLUMNS = ("customer_id", "contacted_at", *VALUES, "recorded_at")


class OutcomeStore:
    """Outreach outcomes in the database at ``url`` (the table is created when missing)."""

    def __init__(self, url: str) -> None:
        self.url = url
        database = sa.engine.make_url(url)
        if database.get_backend_name() == "sqlite" and database.database:
            Path(database.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement never carries a note or an id into a log line.
        self.engine = sa.create_engine(url, hide_parameters=True)
        METADATA.create_all(self.engine)

    def record(self, outcomes: list[Mapping[str, object]]) -> list[str]:
        """Store validated outcomes in one transaction; per outcome ``accepted``,
        ``updated`` or ``duplicate``."""
        statuses = []
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as db:
            for outcome in outcomes:
                row = _row(outcome)
                key = (
                    OUTCOME_TABLE.c.customer_id == row["customer_id"],
                    OUTCOME_TABLE.c.contacted_at == row["contacted_at"],
                )
                found = db.execute(sa.select(*OUTCOME_TABLE.c).where(*key)).mappings().first()
                if found is None:
                    db.execute(OUTCOME_TABLE.insert().values(**row, recorded_at=now))
                    statuses.append("accepted")
                elif all(found[c] == row[c] for c in VALUES):
                    statuses.append("duplicate")
                else:
                    changes = {c: row[c] for c in VALUES}
                    db.execute(
                        OUTCOME_TABLE.update().where(*key).values(**changes, recorded_at=now)
                    )
                    statuses.append("updated")
        return statuses

    def frame(self, list_date: date | None = None) -> pd.DataFrame:
        """Every recorded outcome (of one list's customers when ``list_date`` is given),
        oldest contact first (times as UTC timestamps)."""
        query = sa.select(*OUTCOME_TABLE.c).order_by(
            OUTCOME_TABLE.c.contacted_at, OUTCOME_TABLE.c.customer_id
        )
        if list_date is not None:
            query = query.where(OUTCOME_TABLE.c.list_date == list_date)
        with self.engine.connect() as db:
            rows = db.execute(query).all()
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        for column in ("contacted_at", "recorded_at"):
            frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
        return frame

    def close(self) -> None:
        self.engine.dispose()


def call_notes(url: str) -> pd.DataFrame:
    """Per list day and customer, the code noted for the last call of that list that reached
    them (``date``, ``customer_id``, ``outcome_code``) and when it was made
    (``contacted_at``, UTC). A call recorded without its list's date counts for the day it
    was made on."""
    store = OutcomeStore(url)
    try:
        outcomes = store.frame()
    finally:
        store.close()
    reached = outcomes[outcomes["reached"].astype(bool)]
    made_on = reached["contacted_at"].dt.date
    day = reached["list_date"].where(reached["list_date"].notna(), made_on)
    return (
        reached.assign(date=pd.to_datetime(day).dt.date)
        .loc[:, ["date", "customer_id", "outcome_code", "contacted_at"]]
        .drop_duplicates(["date", "customer_id"], keep="last")  # oldest contact first
        .reset_index(drop=True)
    )


def without_password(exc: BaseException) -> str:
    """An exception as one line, with any database password in it masked."""
    text = f"{type(exc).__name__}: {exc}"
    return re.sub(r"(://[^:/@\s]+:)\S+@", r"\1***@", text)


def _row(outcome: Mapping[str, object]) -> dict:
    contacted = outcome["contacted_at"]
    if not isinstance(contacted, datetime) or contacted.tzinfo is None:
        raise ValueError("contacted_at must be a time-zone-aware datetime")
    listed = outcome.get("list_date")
    if listed is not None and not isinstance(listed, date):
        raise ValueError("list_date must be a date")
    return {
        "customer_id": str(outcome["customer_id"]),
        "contacted_at": contacted.astimezone(UTC).replace(tzinfo=None),
        "list_date": listed,
        "reached": bool(outcome["reached"]),
        "outcome_code": str(outcome["outcome_code"]),
        "note": outcome.get("note"),
    }
