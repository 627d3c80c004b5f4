"""The event journal: contract-checked, idempotent by key, durable, folded into a build."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from serving.api.journal import ChangeFollower, EventJournal
from tests.conftest import make_history, ts

OPEN = {
    "contact_id": "N1",
    "customer_id": "A",
    "started_at": "2026-03-10T08:00:00Z",
    "channel": "phone",
    "reason": "billing",
}
CLOSED = {**OPEN, "closed_at": "2026-03-10T08:20:00Z", "resolved": "false", "sentiment": "-90"}


def post(journal: EventJournal, table: str, *rows: dict) -> list[str]:
    return [o.status for o in journal.record(table, pd.DataFrame(list(rows)))]


def test_a_contact_opens_then_closes_and_repeats_are_duplicates(tmp_path):
    journal = EventJournal(tmp_path / "events.db")
    assert post(journal, "contacts", OPEN) == ["accepted"]
    assert post(journal, "contacts", OPEN) == ["duplicate"]
    assert post(journal, "contacts", CLOSED) == ["updated"]
    assert post(journal, "contacts", CLOSED) == ["duplicate"]
    stored = journal.frames()["contacts"]
    assert len(stored) == 1 and stored["resolved"].tolist() == [False]
    assert stored["sentiment"].tolist() == [-90.0]


def test_contradictions_and_contract_breaches_are_per_row_errors(tmp_path):
    journal = EventJournal(tmp_path / "events.db")
    post(journal, "contacts", OPEN)
    outcomes = journal.record(
        "contacts",
        pd.DataFrame(
            [
                {**OPEN, "customer_id": "B"},  # the same contact id, another customer
                {**OPEN, "contact_id": "N2", "wait_seconds": "inf"},
                {**OPEN, "contact_id": "N3"},
            ]
        ),
    )
    assert [o.status for o in outcomes] == ["error", "error", "accepted"]
    assert "customer_id" in outcomes[0].error and "wait_seconds" in outcomes[1].error


def test_the_journal_survives_a_restart(tmp_path):
    post(EventJournal(tmp_path / "events.db"), "events", {
        "customer_id": "A", "occurred_at": "2026-03-10T07:00:00Z", "event_type": "payment_failed",
        "amount": "12.5",
    })  # fmt: skip
    reopened = EventJournal(tmp_path / "events.db")
    assert reopened.frames()["events"]["amount"].tolist() == [12.5]


def test_folding_adds_what_the_export_lacks_and_keeps_what_it_has(tmp_path):
    history = make_history(
        contacts=[{"started_at": ts("-2D"), "closed_at": ts("-2D") + pd.Timedelta("5min")}]
    )
    journal = EventJournal(tmp_path / "events.db")
    exported = history.contacts.iloc[0]
    same_id = {**OPEN, "contact_id": exported["contact_id"], "started_at": "2026-03-09T00:00:00Z"}
    post(journal, "contacts", same_id, CLOSED)
    folded = journal.fold_into(history)
    assert sorted(folded.contacts["contact_id"]) == sorted([exported["contact_id"], "N1"])
    kept = folded.contacts.set_index("contact_id").loc[exported["contact_id"]]
    assert kept["started_at"] == exported["started_at"]  # the export wins for its own rows


def test_events_without_ids_are_known_by_what_they_say(tmp_path):
    journal = EventJournal(tmp_path / "events.db")
    event = {"customer_id": "A", "occurred_at": "2026-03-10T07:00:00Z", "event_type": "refund"}
    assert post(journal, "events", event) == ["accepted"]
    assert post(journal, "events", event) == ["duplicate"]  # a retry records nothing new
    assert post(journal, "events", {**event, "event_id": "E9"}, {**event, "amount": "5"}) == [
        "accepted",
        "accepted",
    ]
    # The export later holds the event itself, without an id: folded in once, not twice
    # (whether it was posted with an id or without).
    history = make_history(events=[{"occurred_at": ts("+7h"), "event_type": "refund"}])
    history = replace(history, events=history.events.assign(amount=float("nan")))
    folded = journal.fold_into(history)
    assert folded.events["amount"].fillna(0).tolist() == [0.0, 5.0]


def test_a_retried_older_version_of_a_contact_is_a_duplicate_and_the_batch_keeps_its_rows(
    tmp_path,
):
    # Open, then closed, then the open version again (a CRM retry): nothing new, no failure;
    # the new contact posted in the same batch is recorded whatever happens to the retry.
    journal = EventJournal(tmp_path / "events.db")
    assert post(journal, "contacts", OPEN) == ["accepted"]
    assert post(journal, "contacts", CLOSED) == ["updated"]
    fresh = {**OPEN, "contact_id": "N9"}
    assert post(journal, "contacts", OPEN, fresh, {**CLOSED, "sentiment": None}) == [
        "duplicate",
        "accepted",
        "duplicate",
    ]
    stored = journal.frames()["contacts"].set_index("contact_id")
    assert stored.loc["N1", "resolved"] == False  # noqa: E712 (a nullable boolean)
    assert stored.loc["N1", "sentiment"] == -90.0 and "N9" in stored.index
    # An outcome fills in or corrects; a recorded start or channel is never changed.
    assert post(journal, "contacts", {**fresh, "handle_seconds": "30"}) == ["updated"]
    for changed in ({"started_at": "2026-03-11T00:00:00Z"}, {"channel": "chat"}):
        refused = journal.record("contacts", pd.DataFrame([{**fresh, **changed}]))[0]
        assert refused.status == "error" and next(iter(changed)) in refused.error
    changes = journal.changes_after(0)
    assert changes == [(1, "A"), (2, "A"), (3, "A"), (4, "A")] and journal.latest_change() == 4


class _ChangeLog:
    """A change log whose writes commit out of order, as on a shared database."""

    def __init__(self) -> None:
        self.visible: list[tuple[int, str]] = []

    def changes_after(self, seq: int) -> list[tuple[int, str]]:
        return sorted(c for c in self.visible if c[0] > seq)

    def latest_change(self, older_than_seconds: float = 0.0) -> int:
        return 0


def test_a_follower_waits_for_a_gap_and_reports_each_change_once():
    log, now = _ChangeLog(), [0.0]
    follower = ChangeFollower(log, settle_seconds=5, clock=lambda: now[0])
    log.visible += [(1, "A"), (3, "C")]  # change 2 is taken but not committed yet
    assert follower.poll() == {"A", "C"} and follower.applied == 1
    assert follower.poll() == set()  # C is not reported again while 2 is awaited
    log.visible.append((2, "B"))  # it commits: seen, and the cursor moves past 3
    assert follower.poll() == {"B"} and follower.applied == 3
    log.visible.append((5, "E"))  # change 4 was rolled back: never coming
    assert follower.poll() == {"E"} and follower.applied == 3
    now[0] = 6.0
    assert follower.poll() == set() and follower.applied == 5
