"""Replay: the service's online feature state against the offline ``build_features``.

Random histories are cut at an export time; everything after it (contacts opening and later
closing, complaints filed and resolved, operational events, and rows that arrive late) is
posted to the journal in the order it happens. After each post the online state is asked
for every customer at that moment and at random earlier moments; at the end the offline
``build_features`` on the complete history answers the same (customer, moment) pairs.
Every feature must agree to 1e-9, and so must eligibility. Half-way the state is rebuilt
from the export and the journal, as a restarted service would; one run keeps a single
rebuilt customer at a time, so the others are evicted and rebuilt from the journal.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.contract import (
    COMPLAINTS,
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    INCIDENTS,
    validate_table,
)
from data.history import History
from data.simulator.params import AGE_BANDS, PLANS, SEGMENTS, SIM_CHANNELS
from features.build import build_features
from features.catalogue import FAMILIES, FEATURE_NAMES
from features.labels import LabelRules, build_labels
from features.parameters import DEFAULT_PARAMETERS
from serving.api.journal import CORRECTABLE, EventJournal
from serving.api.online import OnlineFeatures, differs

# The world's words and some of a company's own (the contract keeps any).
CHANNELS = (*SIM_CHANNELS, "carrier pigeon")
REASONS = ("billing", "payment", "delivery", "category 55", "other")
# The types families read and one of a company's own.
EVENT_TYPES = (*{t for f in FAMILIES for t in f.event_types}, "bill_issued", "parcel lost")
# A model's vocabularies (some values have slots, the others are pooled), a look-back
# shorter than the history (the latest events beyond it count as none) and a bound on
# complaints without a resolution time.
LEARNT = replace(
    DEFAULT_PARAMETERS,
    channels=CHANNELS[:3],
    reasons=REASONS[:2],
    event_types=EVENT_TYPES[:4],
    lookback_days=12.0,
    open_complaint_days=3.0,
)

EXPORT = pd.Timestamp("2026-03-10", tz="UTC")
# The export's observation starts 40 days before it: 90-day counts are scaled.
OBSERVED_FROM = EXPORT - pd.Timedelta(days=40)
HORIZON_HOURS = 48
RULES = LabelRules(HORIZON_HOURS, True, LEARNT.open_complaint_days)


def _time(rng: np.random.Generator, low_days: float, high_days: float) -> pd.Timestamp:
    """A random time, sometimes with a sub-second part (cutoffs are whole seconds)."""
    seconds = rng.uniform(low_days, high_days) * 86400
    t = EXPORT + pd.Timedelta(seconds=int(seconds))
    return t + pd.Timedelta(milliseconds=int(rng.integers(1, 999))) if rng.random() < 0.2 else t


def random_world(seed: int, customers: int = 6) -> dict[str, list[dict]]:
    """Raw rows of every table: 40 days before the export, 8 days after."""
    rng = np.random.default_rng(seed)
    pick = lambda values: values[int(rng.integers(len(values)))]  # noqa: E731
    maybe = lambda value, p=0.15: None if rng.random() < p else value  # noqa: E731
    rows: dict[str, list[dict]] = {"customers": [], "contacts": [], "complaints": [], "events": []}
    for c in range(customers):
        cid = f"C{c}"
        rows["customers"].append(
            {
                "customer_id": cid,
                "signup_at": _time(rng, -400, -30) if c else _time(rng, -3, -1),
                "segment": pick(SEGMENTS),
                "region": pick(("north", "south")),
                "age_band": pick(AGE_BANDS),
                "plan": pick(PLANS),
                "bill_day": int(rng.integers(1, 29)),
            }
        )
        for k in range(int(rng.integers(5, 30))):
            start = _time(rng, -40, 8)
            closed = start + pd.Timedelta(seconds=float(rng.exponential(20000)))
            rows["contacts"].append(
                {
                    "contact_id": f"{cid}-K{k}",
                    "customer_id": cid,
                    "started_at": start,
                    "closed_at": maybe(closed, 0.1),
                    "channel": pick(CHANNELS),
                    "reason": pick(REASONS),
                    "wait_seconds": maybe(float(rng.exponential(600))),
                    "handle_seconds": maybe(float(rng.exponential(400))),
                    "transferred": maybe(bool(rng.random() < 0.3)),
                    "resolved": maybe(bool(rng.random() < 0.6)),
                    "sentiment": maybe(float(rng.uniform(-100, 100))),
                }
            )
        for k in range(int(rng.integers(0, 4))):
            filed = _time(rng, -40, 8)
            resolved = filed + pd.Timedelta(hours=float(rng.exponential(48)))
            rows["complaints"].append(
                {
                    "complaint_id": f"{cid}-Q{k}",
                    "customer_id": cid,
                    "filed_at": filed,
                    "resolved_at": maybe(resolved, 0.3),
                    "category": pick(REASONS),
                    "severity": int(rng.integers(1, 4)),
                    "channel": pick(CHANNELS),
                }
            )
        for _ in range(int(rng.integers(3, 25))):
            rows["events"].append(
                {
                    "customer_id": cid,
                    "occurred_at": _time(rng, -40, 8),
                    "event_type": pick(EVENT_TYPES),
                    "amount": maybe(float(rng.uniform(1, 300))),
                }
            )
    return rows


def _frame(schema, rows: list[dict]) -> pd.DataFrame:
    valid, report = validate_table(pd.DataFrame(rows, columns=schema.column_names), schema)
    assert report.n_rejected == 0, [str(i) for i in report.issues]
    return valid


INCIDENT_ROWS = [
    {"region": "north", "started_at": EXPORT - pd.Timedelta("20D"), "ended_at": EXPORT - pd.Timedelta("18D"), "severity": 3},
    {"region": "south", "started_at": EXPORT - pd.Timedelta("2D"), "ended_at": EXPORT + pd.Timedelta("1D"), "severity": 2},
    {"region": "north", "started_at": EXPORT + pd.Timedelta("3D"), "ended_at": None, "severity": 1},
]  # fmt: skip


def complete_history(rows: dict[str, list[dict]]) -> History:
    """Everything that ever happened: what the offline build sees."""
    return History.from_frames(
        customers=_frame(CUSTOMERS, rows["customers"]),
        contacts=_frame(CONTACTS, rows["contacts"]),
        complaints=_frame(COMPLAINTS, rows["complaints"]),
        events=_frame(EVENTS, rows["events"]),
        incidents=_frame(INCIDENTS, INCIDENT_ROWS),
        observed_until=EXPORT + pd.Timedelta("8D"),
    ).with_observed_from(OBSERVED_FROM)


def export_and_posts(
    rows: dict[str, list[dict]], seed: int
) -> tuple[History, list[tuple[pd.Timestamp, str, dict]]]:
    """The export at ``EXPORT`` (open contacts still open, a few rows missing) and the posts
    that follow it, as (time posted, table, row), in the order they are posted."""
    rng = np.random.default_rng(seed + 1000)
    exported = {name: [] for name in ("contacts", "complaints", "events")}
    posts: list[tuple[pd.Timestamp, str, dict]] = []
    late = EXPORT + pd.Timedelta("90min")  # rows the export missed arrive a little later
    outcome = CORRECTABLE["contacts"]
    for row in rows["contacts"]:
        start, closed = row["started_at"], row["closed_at"]
        opened = {**row, **dict.fromkeys(outcome)}
        if start < EXPORT and rng.random() < 0.05:
            posts.append(
                (late, "contacts", row if closed is not None and closed < late else opened)
            )
            if closed is not None and closed >= late:
                posts.append((closed, "contacts", row))
            continue
        if start < EXPORT:
            exported["contacts"].append(row if closed is not None and closed < EXPORT else opened)
        else:
            posts.append((start, "contacts", opened))
        if closed is not None and closed >= EXPORT:
            posts.append((closed, "contacts", row))
    for row in rows["complaints"]:
        filed, resolved = row["filed_at"], row["resolved_at"]
        if filed < EXPORT:
            known = resolved is not None and resolved < EXPORT
            exported["complaints"].append(row if known else {**row, "resolved_at": None})
        else:
            posts.append((filed, "complaints", {**row, "resolved_at": None}))
        if resolved is not None and resolved >= EXPORT:
            posts.append((resolved, "complaints", row))
    for row in rows["events"]:
        if row["occurred_at"] < EXPORT and rng.random() > 0.05:
            exported["events"].append(row)
        else:
            posts.append((max(row["occurred_at"], late), "events", row))
    export = History.from_frames(
        customers=_frame(CUSTOMERS, rows["customers"]),
        contacts=_frame(CONTACTS, exported["contacts"]),
        complaints=_frame(COMPLAINTS, exported["complaints"]),
        events=_frame(EVENTS, exported["events"]),
        incidents=_frame(INCIDENTS, INCIDENT_ROWS),
        observed_until=EXPORT,
    ).with_observed_from(OBSERVED_FROM)
    posts.sort(key=lambda p: p[0])
    return export, posts


def _posted(row: dict) -> dict:
    """A row as the CRM posts it: times as ISO text, missing fields absent."""
    return {
        k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
        for k, v in row.items()
        if v is not None
    }


@pytest.mark.parametrize(("seed", "max_overlays"), [(1, 100), (2, 100), (3, 1)])
def test_online_state_equals_build_features_on_the_full_history(tmp_path, seed, max_overlays):
    rows = random_world(seed)
    export, posts = export_and_posts(rows, seed)
    assert len(posts) > 40
    journal = EventJournal(tmp_path / "events.db")

    def state() -> OnlineFeatures:
        return OnlineFeatures(export, journal, RULES, max_overlays=max_overlays, parameters=LEARNT)

    online = state()
    ids = [r["customer_id"] for r in rows["customers"]]
    rng = np.random.default_rng(seed)
    asked: list[tuple[pd.Timestamp, dict[str, np.ndarray], np.ndarray]] = []

    def ask(when: pd.Timestamp) -> None:
        when = when.floor("s")
        state = online.at(ids, when)
        asked.append((when, state.features, state.eligible))

    for i, (when, table, row) in enumerate(posts):
        outcome = journal.record(table, pd.DataFrame([_posted(row)]))
        assert outcome[0].status in ("accepted", "updated"), outcome[0].error
        online.changed([row["customer_id"]])
        if i + 1 < len(posts) and posts[i + 1][0] == when:
            continue  # a moment is asked about once everything posted at it is in
        ask(when + pd.Timedelta(seconds=1))
        if i % 7 == 0:  # and some moment before, which later rows must not change
            ask(EXPORT + (when - EXPORT) * rng.random())
        if i == len(posts) // 2:  # a restart: the export, and the journal folded in at start
            online = state()
    assert 0 < online.overlays <= max_overlays

    history = complete_history(rows)
    cutoffs = pd.DataFrame(
        {
            "customer_id": [cid for _ in asked for cid in ids],
            "cutoff_at": [when for when, _, _ in asked for _ in ids],
        }
    )
    offline = build_features(history, cutoffs, parameters=LEARNT)
    labels = build_labels(history, cutoffs, RULES)
    checked = 0
    for name in FEATURE_NAMES:
        got = np.concatenate([features[name] for _, features, _ in asked])
        bad = differs(got, offline[name].to_numpy())
        assert not bad.any(), (
            f"{name}: online and offline disagree at {bad.sum()} of {len(bad)} points, e.g. "
            f"{cutoffs[bad].head(3).to_dict('records')} online {got[bad][:3]} "
            f"offline {offline[name].to_numpy()[bad][:3]}"
        )
        checked += len(got)
    eligible = np.concatenate([e for _, _, e in asked])
    np.testing.assert_array_equal(eligible, labels["eligible"].to_numpy())
    assert checked == len(FEATURE_NAMES) * len(cutoffs)
    # The replay is not vacuous: the posted activity moves the features.
    assert offline["contacts_1d"].sum() > 0 and offline["open_contacts"].max() > 0
