"""``build_features(history, cutoffs)``: the one feature code path of training, batch
scoring and the service.

Pure: frames in, a frame out, no I/O, inputs never mutated. Point-in-time: a feature at
cutoff ``t`` sees only contacts started before ``t``; a contact's outcome (resolution,
wait, transfer, handling time, sentiment) only once it closed before ``t``; windows are
``[t - w, t)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import CHANNELS, REASONS, ContractError, check_columns
from data.history import History
from features.catalogue import (
    ASYNC_CHANNELS,
    DAY,
    DECAY_HALF_LIFE_DAYS,
    FAST_HALF_LIFE_DAYS,
    FEATURE_NAMES,
    KEY_COLUMNS,
    LONG_WAIT_SECONDS,
    PROBLEM_EVENTS,
    SENTIMENT_OUTCOME_COST,
    SLOW_HALF_LIFE_DAYS,
    VERY_NEGATIVE_SENTIMENT,
    WINDOWS_DAYS,
)
from features.pit import EventStream, to_seconds

HOUR = 3600
# Rows per customer partition of build_features_in_chunks: its sorted streams and feature
# arrays stay well under a gigabyte whatever the number of customers.
FEATURE_CHUNK_ROWS = 250_000


def normalise_cutoffs(cutoffs: pd.DataFrame) -> pd.DataFrame:
    """Cutoffs as (customer_id: str, cutoff_at: UTC ns, whole seconds), in input order."""
    check_columns(cutoffs, KEY_COLUMNS, "cutoffs")
    cutoff_at = pd.to_datetime(cutoffs["cutoff_at"])
    if cutoff_at.dt.tz is None:
        raise ContractError("cutoffs.cutoff_at must be timezone-aware (UTC)")
    return pd.DataFrame(
        {
            "customer_id": cutoffs["customer_id"].astype(str).to_numpy(),
            # The tz-aware array itself: to_numpy() would box every time as an object.
            "cutoff_at": cutoff_at.dt.tz_convert("UTC").dt.as_unit("ns").dt.floor("s").array,
        }
    )


@dataclass(frozen=True)
class PreparedHistory:
    """A history with every event stream sorted and indexed, ready to be evaluated at any
    cutoffs: the expensive half of :func:`build_features`, done once.

    Training and the daily list prepare a history and evaluate it at their cutoffs in one
    go; the service prepares once and evaluates each request's customers as of the moment
    asked for. Customers are addressed by their position in ``index``.
    """

    index: pd.Index  # customer ids; a customer's code is its position
    region: np.ndarray  # region code of each customer (into the incident streams)
    profile: dict[str, np.ndarray]  # segment, region, age_band, plan, signup seconds, bill_day
    contacts: dict[str, EventStream]
    complaints: EventStream
    events: dict[str, EventStream]
    incidents: dict[str, EventStream]

    def streams(self) -> list[EventStream]:
        return [
            *self.contacts.values(),
            self.complaints,
            *self.events.values(),
            *self.incidents.values(),
        ]

    def compact(self) -> None:
        """Keep only what queries of a few customers need (see :meth:`EventStream.compact`);
        for a long-lived state, after one evaluation has shown which values queries read."""
        for stream in self.streams():
            stream.compact()

    def codes(self, customer_ids: np.ndarray | pd.Series) -> np.ndarray:
        """Codes of these customers; an unknown id is a :class:`ContractError`."""
        code = self.index.get_indexer(pd.Index(customer_ids).astype(str))
        if (code < 0).any():
            unknown = pd.unique(np.asarray(customer_ids)[code < 0])
            raise ContractError(
                f"cutoffs name {len(unknown)} customer(s) missing from customers, "
                f"e.g. {list(unknown[:3])}"
            )
        return code


def prepare_history(history: History) -> PreparedHistory:
    """Sort and index every stream of ``history`` (pure; the history is not modified)."""
    customers = history.customers.reset_index(drop=True)
    index = pd.Index(customers["customer_id"].astype(str))
    incidents = history.incidents
    regions = pd.Index(pd.concat([customers["region"], incidents["region"]]).astype(str).unique())
    severity = incidents["severity"].to_numpy(dtype=float)
    incident_codes = regions.get_indexer(incidents["region"].astype(str))
    return PreparedHistory(
        index=index,
        region=regions.get_indexer(customers["region"].astype(str)),
        profile={
            **{col: customers[col].to_numpy() for col in ("segment", "region", "age_band", "plan")},
            "signup": to_seconds(customers["signup_at"], "floor"),
            "bill_day": customers["bill_day"].to_numpy(dtype=np.int64),
        },
        contacts=_contact_streams(history.contacts, index),
        complaints=EventStream(
            _codes(history.complaints["customer_id"], index), history.complaints["filed_at"]
        ),
        events=_event_streams(history.events, index),
        incidents={
            "started": EventStream(incident_codes, incidents["started_at"], {"severity": severity}),
            # NaT: still running
            "ended": EventStream(incident_codes, incidents["ended_at"], {"severity": severity}),
        },
    )


def evaluate_features(
    prepared: PreparedHistory, codes: np.ndarray, cutoff_at: np.ndarray
) -> dict[str, np.ndarray]:
    """Every catalogue feature of customers ``codes`` at ``cutoff_at`` (UTC, whole seconds).

    Only array operations: a handful of binary searches per feature and cutoff.
    """
    c = np.asarray(codes, dtype=np.int64)
    cutoff_at = np.asarray(cutoff_at, dtype="datetime64[ns]")
    t = to_seconds(cutoff_at, "floor")
    out: dict[str, np.ndarray] = {}
    since_resolved = _contact_features(out, prepared.contacts, c, t)
    _complaint_features(out, prepared.complaints, c, t)
    _event_features(out, prepared.events, c, t, since_resolved)
    _incident_features(out, prepared.incidents, prepared.region[c], t)
    _profile_features(out, prepared.profile, c, cutoff_at, t)
    if set(out) != set(FEATURE_NAMES):  # the catalogue is the one list of features
        raise AssertionError(
            f"build_features and the catalogue disagree: built but not catalogued "
            f"{sorted(set(out) - set(FEATURE_NAMES))}, catalogued but not built "
            f"{sorted(set(FEATURE_NAMES) - set(out))}"
        )
    return out


def build_features(history: History, cutoffs: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer_id, cutoff_at) of ``cutoffs``, in the same order.

    Columns: ``customer_id``, ``cutoff_at`` and every feature of the catalogue.
    """
    keys = normalise_cutoffs(cutoffs)
    prepared = prepare_history(history)
    out = evaluate_features(
        prepared, prepared.codes(keys["customer_id"]), utc_datetime64(keys["cutoff_at"])
    )
    return feature_frame(keys, out)


def build_features_in_chunks(
    history: History,
    cutoffs: pd.DataFrame,
    rows_per_part: int = FEATURE_CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """``build_features`` per partition of customers, each on its own customers' history.

    Features are per customer (plus the regional incidents every partition keeps), so each
    partition sorts only its own events, and the intermediate arrays stay the size of one
    partition. Rows come back in the order of ``cutoffs``. ``progress(done, parts)`` is
    called after each partition (the caller decides how to report it).
    """
    n_parts = -(-len(cutoffs) // rows_per_part)
    if n_parts <= 1:
        return build_features(history, cutoffs)
    ids = history.customers["customer_id"].to_numpy()
    codes = pd.Index(ids).get_indexer(cutoffs["customer_id"].astype(str))
    part = codes % n_parts  # customers spread evenly over the partitions
    # Each partition's rows are written straight into their places in preallocated
    # columns: no concatenation, no reordering, no second copy of the grid.
    columns: dict[str, np.ndarray] = {}
    dtypes: dict[str, object] = {}
    # Which partition each row of each table belongs to, found once: selecting a partition
    # is then an integer scan, not a string lookup over millions of rows per partition.
    index = pd.Index(ids)
    owner = {
        name: _partition_of(index.get_indexer(getattr(history, name)["customer_id"]), n_parts)
        for name in ("customers", "contacts", "complaints", "events")
    }
    for p in range(n_parts):
        rows = np.flatnonzero(part == p)
        mine = History(
            **{
                name: getattr(history, name).iloc[np.flatnonzero(of_row == p)]
                for name, of_row in owner.items()
            },
            incidents=history.incidents,
            observed_until=history.observed_until,
        )
        features = build_features(mine, cutoffs.iloc[rows]).drop(columns="cutoff_at")
        for name in features.columns:
            values = features[name].to_numpy()
            if name not in columns:
                columns[name] = np.empty(len(cutoffs), dtype=values.dtype)
                dtypes[name] = features[name].dtype
            columns[name][rows] = values
        del features, mine
        if progress is not None:
            progress(p + 1, n_parts)
    frame = pd.DataFrame(
        {n: pd.Series(v, dtype=dtypes[n], copy=False) for n, v in columns.items()}, copy=False
    )
    frame.insert(1, "cutoff_at", normalise_cutoffs(cutoffs)["cutoff_at"].array)
    return frame


def _partition_of(codes: np.ndarray, n_parts: int) -> np.ndarray:
    """The partition of customers ``codes`` (code modulo ``n_parts``; -1 for an unknown one)."""
    return np.where(codes >= 0, codes % n_parts, -1)


def utc_datetime64(times: pd.Series) -> np.ndarray:
    """UTC timestamps as plain ``datetime64[ns]`` (what :func:`evaluate_features` takes).

    The contract's columns (nanoseconds, UTC) come back as a read-only view of their data.
    """
    if isinstance(times.dtype, pd.DatetimeTZDtype) and times.dtype.unit == "ns":
        view = times.array.asi8.view("M8[ns]")  # UTC nanoseconds whatever the zone shown
        view.flags.writeable = False
        return view
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def feature_frame(keys: pd.DataFrame, features: dict[str, np.ndarray]) -> pd.DataFrame:
    """Keys and features as one frame, in catalogue order."""
    frame = pd.DataFrame({"customer_id": keys["customer_id"], "cutoff_at": keys["cutoff_at"]})
    # copy=False: one block per column instead of copying them all into one 2-D block.
    values = pd.DataFrame({name: features[name] for name in FEATURE_NAMES}, copy=False)
    return pd.concat([frame.reset_index(drop=True), values], axis=1)


def _codes(ids: pd.Series, index: pd.Index) -> np.ndarray:
    return index.get_indexer(ids.astype(str))


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / max(count, 1), missing where there is nothing to average. A recency-weighted
    count below 1 divides by 1: old evidence shrinks the mean toward 0 (the models learnt it)."""
    return np.divide(
        total, np.maximum(count, 1), out=np.full(np.shape(total), np.nan), where=count > 0
    )


def _contact_streams(contacts: pd.DataFrame, index: pd.Index) -> dict[str, EventStream]:
    """Contacts by start (``started``) and, for those that closed, by close (``closed``,
    carrying the outcome values), plus the unresolved and resolved closes."""
    channel, reason = contacts["channel"].to_numpy(), contacts["reason"].to_numpy()
    codes = _codes(contacts["customer_id"], index)
    started = EventStream(
        codes,
        utc_datetime64(contacts["started_at"]),
        {
            **{f"ch_{x}": channel == x for x in CHANNELS},
            **{f"re_{x}": reason == x for x in REASONS},
        },
    )
    # Outcome fields exist only for contacts that closed before the cutoff.
    closed_at = utc_datetime64(contacts["closed_at"])
    is_closed = ~np.isnat(closed_at)

    def of_closed(column: str) -> np.ndarray:
        return contacts[column].to_numpy(dtype="float64", na_value=np.nan)[is_closed]

    resolved = of_closed("resolved")  # 1, 0 or NaN (unknown)
    wait = of_closed("wait_seconds")
    handle = of_closed("handle_seconds")
    sentiment = of_closed("sentiment")
    queued = ~contacts["channel"].isin(ASYNC_CHANNELS).to_numpy()[is_closed]
    long_wait = (wait > LONG_WAIT_SECONDS) & queued
    transferred = of_closed("transferred") == 1
    cost = SENTIMENT_OUTCOME_COST
    adjusted = (
        sentiment
        + cost["unresolved"] * (resolved == 0)
        + cost["long_wait"] * long_wait
        + cost["transferred"] * transferred
    )
    closed_codes = codes[is_closed]
    closed_at = closed_at[is_closed]
    return {
        "started": started,
        "closed": EventStream(
            closed_codes,
            closed_at,
            {
                "unresolved": resolved == 0,
                "resolved": resolved == 1,
                "known_resolution": ~np.isnan(resolved),
                "resolved_flag": resolved,
                "long_wait": long_wait,
                "wait_minutes": wait / 60,
                "has_wait": ~np.isnan(wait),
                "handle_minutes": handle / 60,
                "has_handle": ~np.isnan(handle),
                "transferred": transferred,
                "sentiment": sentiment,
                "adjusted": adjusted,
                "has_sentiment": ~np.isnan(sentiment),
                "very_negative": sentiment < VERY_NEGATIVE_SENTIMENT,
                "negativity": np.clip(-sentiment, 0, None) / 100,
            },
        ),
        "unresolved": EventStream(closed_codes[resolved == 0], closed_at[resolved == 0]),
        "resolved": EventStream(closed_codes[resolved == 1], closed_at[resolved == 1]),
    }


def _contact_features(
    out: dict, streams: dict[str, EventStream], c: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Contact features into ``out``; returns seconds since the latest resolved contact."""
    started, cs = streams["started"], streams["closed"]
    for w in WINDOWS_DAYS:
        out[f"contacts_{w}d"] = started.count(c, t, w * DAY)
    for x in CHANNELS:
        out[f"contacts_{x}_30d"] = started.total(f"ch_{x}", c, t, 30 * DAY)
    for x in REASONS:
        out[f"contacts_reason_{x}_30d"] = started.total(f"re_{x}", c, t, 30 * DAY)
    out["hours_since_last_contact"] = started.seconds_since_last(c, t) / HOUR
    out["open_contacts"] = started.count(c, t) - cs.count(c, t)
    for w in (7, 30):
        out[f"unresolved_{w}d"] = cs.total("unresolved", c, t, w * DAY)
        out[f"long_waits_{w}d"] = cs.total("long_wait", c, t, w * DAY)
        out[f"transferred_{w}d"] = cs.total("transferred", c, t, w * DAY)
    out["resolution_rate_30d"] = _mean(
        cs.total("resolved", c, t, 30 * DAY), cs.total("known_resolution", c, t, 30 * DAY)
    )
    out["last_contact_resolved"] = cs.last_value("resolved_flag", c, t)
    out["hours_since_last_unresolved"] = streams["unresolved"].seconds_since_last(c, t) / HOUR
    out["mean_wait_minutes_30d"] = _mean(
        cs.total("wait_minutes", c, t, 30 * DAY), cs.total("has_wait", c, t, 30 * DAY)
    )
    out["mean_handle_minutes_30d"] = _mean(
        cs.total("handle_minutes", c, t, 30 * DAY), cs.total("has_handle", c, t, 30 * DAY)
    )
    s7, n7 = cs.total("sentiment", c, t, 7 * DAY), cs.total("has_sentiment", c, t, 7 * DAY)
    s30, n30 = cs.total("sentiment", c, t, 30 * DAY), cs.total("has_sentiment", c, t, 30 * DAY)
    out["mean_sentiment_7d"] = _mean(s7, n7)
    out["mean_sentiment_30d"] = _mean(s30, n30)
    out["sentiment_trend"] = out["mean_sentiment_7d"] - _mean(s30 - s7, n30 - n7)
    out["very_negative_contacts_30d"] = cs.total("very_negative", c, t, 30 * DAY)
    half_life = DECAY_HALF_LIFE_DAYS * DAY
    out["contacts_decayed"] = started.decayed_sum(None, c, t, half_life)
    out["unresolved_decayed"] = cs.decayed_sum("unresolved", c, t, half_life)
    out["long_waits_decayed"] = cs.decayed_sum("long_wait", c, t, half_life)
    out["transfers_decayed"] = cs.decayed_sum("transferred", c, t, half_life)
    out["negativity_decayed"] = cs.decayed_sum("negativity", c, t, half_life)
    out["last_sentiment"] = cs.last_value("sentiment", c, t)
    out["adjusted_sentiment_last"] = cs.last_value("adjusted", c, t)
    for name, days in (("fast", FAST_HALF_LIFE_DAYS), ("slow", SLOW_HALF_LIFE_DAYS)):
        out[f"adjusted_sentiment_{name}"] = _mean(
            cs.decayed_sum("adjusted", c, t, days * DAY),
            cs.decayed_sum("has_sentiment", c, t, days * DAY),
        )
    out["adjusted_sentiment_90d"] = _mean(
        cs.total("adjusted", c, t, 90 * DAY), cs.total("has_sentiment", c, t, 90 * DAY)
    )
    out["very_negative_fast"] = cs.decayed_sum("very_negative", c, t, FAST_HALF_LIFE_DAYS * DAY)
    out["unresolved_fast"] = cs.decayed_sum("unresolved", c, t, FAST_HALF_LIFE_DAYS * DAY)
    # For the problem features: seconds since the latest contact that fixed things.
    return streams["resolved"].seconds_since_last(c, t)


def _complaint_features(out: dict, filed: EventStream, c: np.ndarray, t: np.ndarray) -> None:
    out["complaints_90d"] = filed.count(c, t, 90 * DAY)
    out["complaints_365d"] = filed.count(c, t, 365 * DAY)
    out["days_since_last_complaint"] = filed.seconds_since_last(c, t) / DAY


def _event_streams(events: pd.DataFrame, index: pd.Index) -> dict[str, EventStream]:
    """One stream per event type a feature reads, and one of every operational problem."""
    codes = _codes(events["customer_id"], index)
    kind = events["event_type"].to_numpy()
    amount = events["amount"].to_numpy(dtype=float)
    occurred = utc_datetime64(events["occurred_at"])

    def stream(mask: np.ndarray) -> EventStream:
        return EventStream(codes[mask], occurred[mask], {"amount": amount[mask]})

    streams = {k: stream(kind == k) for k in (*PROBLEM_EVENTS, "refund", "bill_issued")}
    streams["problems"] = stream(np.isin(kind, PROBLEM_EVENTS))
    return streams


def _event_features(
    out: dict,
    streams: dict[str, EventStream],
    c: np.ndarray,
    t: np.ndarray,
    since_resolved: np.ndarray,
) -> None:
    for k in PROBLEM_EVENTS:
        out[f"{k}_7d"] = streams[k].count(c, t, 7 * DAY)
        out[f"{k}_30d"] = streams[k].count(c, t, 30 * DAY)
    out["seconds_since_payment_failed"] = streams["payment_failed"].seconds_since_last(c, t)
    out["failed_amount_30d"] = streams["payment_failed"].total("amount", c, t, 30 * DAY)
    out["seconds_since_order_delayed"] = streams["order_delayed"].seconds_since_last(c, t)
    out["refund_30d"] = streams["refund"].count(c, t, 30 * DAY)
    half_life = DECAY_HALF_LIFE_DAYS * DAY
    out["payment_problems_decayed"] = streams["payment_failed"].decayed_sum(
        None, c, t, half_life
    ) + streams["deduction_delayed"].decayed_sum(None, c, t, half_life)
    out["order_delayed_decayed"] = streams["order_delayed"].decayed_sum(None, c, t, half_life)
    out["app_error_decayed"] = streams["app_error"].decayed_sum(None, c, t, half_life)
    out["hours_since_bill_issued"] = streams["bill_issued"].seconds_since_last(c, t) / HOUR
    problems = streams["problems"]
    out["problems_fast"] = problems.decayed_sum(None, c, t, FAST_HALF_LIFE_DAYS * DAY)
    out["problems_slow"] = problems.decayed_sum(None, c, t, SLOW_HALF_LIFE_DAYS * DAY)
    window = np.where(np.isnan(since_resolved), 30 * DAY, np.minimum(since_resolved, 30 * DAY))
    out["problems_since_resolved_contact"] = problems.count(c, t, window.astype(np.int64))
    out["hours_since_problem"] = problems.seconds_since_last(c, t) / HOUR


def _incident_features(
    out: dict, streams: dict[str, EventStream], r: np.ndarray, t: np.ndarray
) -> None:
    started, ended = streams["started"], streams["ended"]
    out["region_incident_active"] = started.count(r, t) - ended.count(r, t)
    out["region_incident_severity"] = started.total("severity", r, t, None) - ended.total(
        "severity", r, t, None
    )
    out["region_incident_exposure"] = _incident_exposure(
        started, ended, out["region_incident_severity"], r, t
    )
    out["region_incidents_7d"] = started.count(r, t, 7 * DAY)
    out["hours_since_region_incident"] = started.seconds_since_last(r, t) / HOUR


def _incident_exposure(
    started: EventStream,
    ended: EventStream,
    active_severity: np.ndarray,
    r: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """Severity-hours of the region's incidents before ``t``, each hour weighted by its age.

    The integral of ``severity * 0.5 ** ((t - s) / half_life)`` over each incident's known
    span ``[start, min(end, t))`` splits into decayed sums over start and end events:
    ``(ended decayed + still-active severity - started decayed) / rate``. An incident whose
    end lies after ``t`` counts as running at ``t``: its end is not known yet.
    """
    half_life = SLOW_HALF_LIFE_DAYS * DAY
    rate = np.log(2.0) / half_life
    seconds = (
        ended.decayed_sum("severity", r, t, half_life)
        + active_severity
        - started.decayed_sum("severity", r, t, half_life)
    ) / rate
    return np.maximum(seconds, 0.0) / HOUR  # clip float round-off around zero


def _profile_features(
    out: dict, profile: dict[str, np.ndarray], c: np.ndarray, cutoff_at: np.ndarray, t: np.ndarray
) -> None:
    for col in ("segment", "region", "age_band", "plan"):
        out[col] = profile[col][c]
    out["tenure_days"] = (t - profile["signup"][c]) / DAY
    bill_day = profile["bill_day"][c]
    # Calendar arithmetic on numpy days (no pandas per call: the service evaluates one row).
    today = cutoff_at.astype("datetime64[D]")
    month = today.astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    day = (today - first).astype(np.int64) + 1
    days_in_month = ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
    previous_month_days = (first - (month - 1).astype("datetime64[D]")).astype(np.int64)
    out["days_since_bill"] = np.where(
        day >= bill_day, day - bill_day, previous_month_days + day - bill_day
    ).astype(float)
    out["days_to_next_bill"] = np.where(
        day < bill_day, bill_day - day, days_in_month - day + bill_day
    ).astype(float)
    out["bill_day"] = bill_day.astype(float)
    # 1970-01-01 was a Thursday (Monday = 0).
    out["day_of_week"] = ((today.astype(np.int64) + 3) % 7).astype(float)
