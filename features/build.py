"""``build_features(history, cutoffs)``: the one feature code path of training, batch
scoring and the service.

Pure: frames in, a frame out, no I/O, inputs never mutated. Point-in-time: a feature at
cutoff ``t`` sees only contacts started before ``t``; a contact's outcome (resolution,
wait, transfer, handling time, sentiment) only once it closed before ``t``; windows are
``[t - w, t)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.contract import SCHEMAS, ContractError, check_columns
from data.history import History
from features.catalogue import (
    CATEGORICAL,
    CHANNEL_SLOTS,
    DAY,
    DECAY_HALF_LIFE_DAYS,
    EVENT_TYPE_SLOTS,
    FAMILIES_BY_NAME,
    FAST_HALF_LIFE_DAYS,
    FEATURE_INPUTS,
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    KEY_COLUMNS,
    REASON_SLOTS,
    SLOT_OTHER,
    SLOW_HALF_LIFE_DAYS,
    WINDOWS_DAYS,
    channel_feature,
    event_type_feature,
    families_of,
    reason_feature,
    slots,
)
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from features.pit import EventStream, to_seconds, whole_seconds

HOUR = 3600
# Rows of the customer partitions build_features_in_chunks holds at once: their sorted
# streams and feature arrays stay well under a gigabyte whatever the number of customers.
FEATURE_CHUNK_ROWS = 250_000
# The columns of each per-customer table the feature code reads (partitions carry only
# these): what the families and their features need, and the customer id.
TABLE_READS = {
    table: (
        "customer_id",
        *(
            c
            for c in SCHEMAS[table].column_names
            if any(need == f"{table}.{c}" for need in FEATURE_INPUTS)
        ),
    )
    for table in ("customers", "contacts", "complaints", "events")
}
# Below this many values a lookup is cheaper in pandas than through Arrow's arrays.
SMALL_LOOKUP = 10_000
# Partitions built at once: the array work (sorts, binary searches, Arrow kernels) releases
# the GIL, so threads use the machine's cores (sharing FEATURE_CHUNK_ROWS between them).
FEATURE_WORKERS = min(os.cpu_count() or 1, 4)


def normalise_cutoffs(cutoffs: pd.DataFrame) -> pd.DataFrame:
    """Cutoffs as (customer_id: str, cutoff_at: UTC ns, whole seconds), in input order."""
    check_columns(cutoffs, KEY_COLUMNS, "cutoffs")
    cutoff_at = pd.to_datetime(cutoffs["cutoff_at"])
    if cutoff_at.dt.tz is None:
        raise ContractError("cutoffs.cutoff_at must be timezone-aware (UTC)")
    return pd.DataFrame(
        {
            # Kept as (Arrow) strings: converting millions of ids to Python objects is slow.
            "customer_id": cutoffs["customer_id"].astype(str).array,
            # The tz-aware array itself: to_numpy() would box every time as an object.
            "cutoff_at": whole_seconds(cutoff_at).array,
        }
    )


@dataclass(frozen=True)
class PreparedHistory:
    """A history with every event stream sorted and indexed, ready to be evaluated at any
    cutoffs: the expensive half of :func:`build_features`, done once.

    Training and the daily list prepare a history and evaluate it at their cutoffs in one
    go; the service prepares once and evaluates each request's customers as of the moment
    asked for. Customers are addressed by their position in ``index``. Only the streams
    of ``families`` are prepared.
    """

    index: pd.Index  # customer ids; a customer's code is its position
    region: np.ndarray  # region code of each customer (into the incident streams)
    profile: dict[str, np.ndarray]  # segment, region, age_band, plan, signup seconds, bill_day
    contacts: dict[str, EventStream]
    complaints: dict[str, EventStream]
    events: dict[str, EventStream]
    incidents: dict[str, EventStream]
    families: tuple[str, ...]  # the feature families evaluate_features computes from it
    # How far back "the latest X" may lie (seconds; None: unbounded), and whether tenure is
    # time since first seen: see FeatureParameters.lookback_days.
    lookback: int | None = None
    first_seen_signup: bool = False
    # Where the history's observation starts (seconds; None: complete): see _observed_share.
    observed_from: int | None = None

    def streams(self) -> list[EventStream]:
        return [
            *self.contacts.values(),
            *self.complaints.values(),
            *self.events.values(),
            *self.incidents.values(),
        ]

    def sum_directly(self) -> None:
        """Every stream answers by direct sums from now on (see :meth:`EventStream.sum_directly`)."""
        for stream in self.streams():
            stream.sum_directly()

    def compact(self) -> None:
        """Keep only what queries of a few customers need (see :meth:`EventStream.compact`);
        for a long-lived state, after one evaluation has shown which values queries read."""
        for stream in self.streams():
            stream.compact()

    def codes(self, customer_ids: np.ndarray | pd.Series) -> np.ndarray:
        """Codes of these customers; an unknown id is a :class:`ContractError`."""
        return _known(customer_ids, positions(customer_ids, self.index))


def prepare_history(
    history: History,
    families: Collection[str] | None = None,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> PreparedHistory:
    """Sort and index the streams of ``history`` that ``families`` (default: every family
    of the catalogue) read, with a model's ``parameters`` (long waits, very negative
    sentiment, outcome costs). Pure: the history is not modified."""
    if families is None:
        families = families_of(None)
    unknown = sorted(set(families) - set(FAMILIES_BY_NAME))
    if unknown:
        raise KeyError(f"no such feature families: {unknown}")
    wanted = set(families)
    customers = history.customers.reset_index(drop=True)
    index = pd.Index(customers["customer_id"].astype(str))
    incidents = history.incidents
    regions = pd.Index(pd.concat([customers["region"], incidents["region"]]).astype(str).unique())
    severity = incidents["severity"].to_numpy(dtype=float)
    incident_codes = positions(incidents["region"], regions)
    return PreparedHistory(
        index=index,
        region=positions(customers["region"], regions),
        profile={
            **{col: customers[col].to_numpy() for col in ("segment", "region", "age_band", "plan")},
            "signup": to_seconds(customers["signup_at"], "floor"),
            # Float: an export without bill days has them missing (the family is off).
            "bill_day": customers["bill_day"].to_numpy(dtype="float64", na_value=np.nan),
        },
        contacts=_contact_streams(history.contacts, index, wanted, parameters),
        complaints={
            "filed": EventStream(
                positions(history.complaints["customer_id"], index), history.complaints["filed_at"]
            )
        }
        if "complaint_history" in wanted
        else {},
        events=_event_streams(history.events, index, wanted, parameters),
        incidents={
            "started": EventStream(incident_codes, incidents["started_at"], {"severity": severity}),
            # NaT: still running
            "ended": EventStream(incident_codes, incidents["ended_at"], {"severity": severity}),
        }
        if "incidents" in wanted
        else {},
        families=tuple(f for f in FAMILIES_BY_NAME if f in wanted),
        lookback=None if parameters.lookback_days is None else int(parameters.lookback_days * DAY),
        first_seen_signup=parameters.first_seen_signup,
        observed_from=None
        if history.observed_from is None
        else int(to_seconds([history.observed_from], "floor")[0]),
    )


def evaluate_features(
    prepared: PreparedHistory, codes: np.ndarray, cutoff_at: np.ndarray
) -> dict[str, np.ndarray]:
    """The features of ``prepared``'s families, for customers ``codes`` at ``cutoff_at``
    (UTC, whole seconds).

    Only array operations: a handful of binary searches per feature and cutoff.
    """
    cutoff_at = np.asarray(cutoff_at, dtype="datetime64[ns]")
    at = _At(
        np.asarray(codes, dtype=np.int64),
        to_seconds(cutoff_at, "floor"),
        cutoff_at,
        prepared.lookback,
    )
    out: dict[str, np.ndarray] = {}
    for family in prepared.families:
        _BUILDERS[family](prepared, at, out)
    if prepared.observed_from is not None:
        _scale_to_windows(prepared, at, out)
    expected = {n for f in prepared.families for n in FAMILIES_BY_NAME[f].features}
    if set(out) != expected:  # the catalogue is the one list of features
        raise AssertionError(
            f"build_features and the catalogue disagree: built but not catalogued "
            f"{sorted(set(out) - expected)}, catalogued but not built {sorted(expected - set(out))}"
        )
    return out


def build_features(
    history: History,
    cutoffs: pd.DataFrame,
    features: Collection[str] | None = None,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> pd.DataFrame:
    """One row per (customer_id, cutoff_at) of ``cutoffs``, in the same order.

    Columns: ``customer_id``, ``cutoff_at`` and ``features`` (default: every feature of the
    catalogue), in catalogue order. Only the families those features belong to are built.
    ``parameters``: the model's (training resolves them from ``features:``; the list and
    the service take them from the model they score with).
    """
    keys = normalise_cutoffs(cutoffs)
    prepared = prepare_history(history, families_of(features), parameters)
    out = evaluate_features(
        prepared, prepared.codes(keys["customer_id"]), utc_datetime64(keys["cutoff_at"])
    )
    return feature_frame(keys, out, features)


def build_features_in_chunks(
    history: History,
    cutoffs: pd.DataFrame,
    rows_per_part: int = FEATURE_CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
    features: Collection[str] | None = None,
    workers: int = FEATURE_WORKERS,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> pd.DataFrame:
    """``build_features`` per partition of customers, each on its own customers' history.

    Features are per customer (plus the regional incidents every partition keeps), so each
    partition sorts only its own events, and the intermediate arrays stay the size of one
    partition. ``workers`` partitions of ``rows_per_part / workers`` rows are built at a
    time, on threads. Rows come back in the order of ``cutoffs``, the same values whatever
    the partitioning. ``progress(done, parts)`` is called after each partition (the caller
    decides how to report it).
    """
    # The partitions in flight together hold ``rows_per_part`` rows: threads share the
    # memory budget rather than multiply it.
    n_parts = -(-len(cutoffs) // max(rows_per_part // max(workers, 1), 1))
    if n_parts <= 1:
        return build_features(history, cutoffs, features, parameters)
    keys = normalise_cutoffs(cutoffs)
    index = pd.Index(history.customers["customer_id"].astype(str))
    # Partitions are ranges of customers (in the customers table's order): a partition's
    # rows then lie close together in the output columns, which fill faster than rows
    # strided over the whole grid.
    codes = _known(keys["customer_id"], positions(keys["customer_id"], index))
    rows_of = _grouped(_partition_of(codes, n_parts, len(index)), n_parts)
    with ThreadPoolExecutor(max(workers, 1), thread_name_prefix="features") as pool:
        # Which rows of each table each partition owns, found once (the tables hashed in
        # pieces on the threads): a partition is then a take of the columns features read.
        owned = {
            name: _grouped(
                _partition_of(
                    _positions_in_pieces(pool, getattr(history, name)["customer_id"], index),
                    n_parts,
                    len(index),
                ),
                n_parts,
            )
            for name in TABLE_READS
        }
        tables = {name: getattr(history, name)[list(cols)] for name, cols in TABLE_READS.items()}

        def build_part(p: int) -> pd.DataFrame:
            mine = History(
                **{name: tables[name].iloc[owned[name][p]] for name in TABLE_READS},
                incidents=history.incidents,
                observed_until=history.observed_until,
                observed_from=history.observed_from,
            )
            return build_features(mine, keys.iloc[rows_of[p]], features, parameters).drop(
                columns=list(KEY_COLUMNS)
            )

        output = _OutputColumns(len(cutoffs))
        parts = [p for p in range(n_parts) if len(rows_of[p])]  # ranges may hold no cutoffs
        for done, part_features in enumerate(_in_order(pool, build_part, parts, workers), 1):
            output.put(rows_of[parts[done - 1]], part_features)
            del part_features
            if progress is not None:
                progress(done, len(parts))
    order = np.argsort(np.concatenate(rows_of), kind="stable")  # pieces' rows -> output rows
    return pd.concat([keys, output.frame(order)], axis=1)


class _OutputColumns:
    """The grid's feature columns, each partition's rows written straight into their places
    in preallocated columns: no concatenation, no second copy of the grid. Text columns
    (the profile's categories) stay Arrow: their pieces are put in order once at the end
    rather than each converted to Python objects and back."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.columns: dict[str, np.ndarray] = {}
        self.dtypes: dict[str, object] = {}
        self.texts: dict[str, list[pa.Array]] = {}
        self.names: list[str] = []

    def put(self, rows: np.ndarray, part: pd.DataFrame) -> None:
        """Write ``part``'s columns into output ``rows`` (texts kept in arrival order)."""
        self.names = list(part.columns)
        for name in self.names:
            column = part[name]
            self.dtypes[name] = column.dtype
            if name in CATEGORICAL:
                self.texts.setdefault(name, []).append(pa.array(column.array, pa.large_string()))
                continue
            values = column.to_numpy()
            if name not in self.columns:
                self.columns[name] = np.empty(self.n_rows, dtype=values.dtype)
            self.columns[name][rows] = values

    def frame(self, order: np.ndarray) -> pd.DataFrame:
        """The columns as one frame; ``order`` puts the texts' arrival order into rows."""
        for name, pieces in self.texts.items():
            ordered = pa.chunked_array(pieces).take(order).combine_chunks()
            self.columns[name] = pd.array(ordered, dtype=self.dtypes[name])
        return pd.DataFrame(
            {
                name: pd.Series(self.columns[name], dtype=self.dtypes[name], copy=False)
                for name in self.names
            },
            copy=False,
        )


def _in_order(
    pool: ThreadPoolExecutor, build: Callable[[int], pd.DataFrame], parts: list[int], workers: int
) -> Iterator[pd.DataFrame]:
    """``build(p)`` for each of ``parts`` in order, ``workers`` at a time on ``pool``; at
    most ``workers`` finished partitions wait for the caller (memory stays bounded)."""
    if workers <= 1:
        yield from (build(p) for p in parts)
        return
    pending: list[Future] = [pool.submit(build, p) for p in parts[:workers]]
    for i in range(len(parts)):
        done = pending.pop(0).result()
        if i + len(pending) + 1 < len(parts):
            pending.append(pool.submit(build, parts[i + len(pending) + 1]))
        yield done


def _grouped(of_row: np.ndarray, n_parts: int) -> list[np.ndarray]:
    """The row numbers of each partition, ascending (rows of partition -1 left out)."""
    # Small integers sort stably by radix, several times faster than 64-bit ones.
    of_row = of_row.astype(np.int16 if n_parts < 2**15 else np.int32)
    order = np.argsort(of_row, kind="stable")
    bounds = np.searchsorted(of_row[order], np.arange(n_parts + 1))
    return [order[bounds[p] : bounds[p + 1]] for p in range(n_parts)]


def _positions_in_pieces(
    pool: ThreadPoolExecutor, values: pd.Series, index: pd.Index, rows_per_piece: int = 2_000_000
) -> np.ndarray:
    """:func:`positions` of a long column, hashed in pieces on ``pool``'s threads."""
    bounds = range(0, len(values), rows_per_piece)
    pieces = pool.map(lambda a: positions(values.iloc[a : a + rows_per_piece], index), bounds)
    return np.concatenate([np.empty(0, dtype=np.int64), *pieces])


def _partition_of(codes: np.ndarray, n_parts: int, n_customers: int) -> np.ndarray:
    """The partition of customers ``codes`` out of ``n_customers`` (-1: unknown customer)."""
    return np.where(codes >= 0, codes * n_parts // max(n_customers, 1), -1)


def _known(customer_ids: pd.Series | np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``codes``, once every customer is known; an unknown one is a :class:`ContractError`."""
    if (codes < 0).any():
        unknown = pd.unique(np.asarray(customer_ids)[codes < 0])
        raise ContractError(
            f"cutoffs name {len(unknown)} customer(s) missing from customers, "
            f"e.g. {list(unknown[:3])}"
        )
    return codes


def positions(values: pd.Series | pd.Index | np.ndarray, index: pd.Index) -> np.ndarray:
    """Position of each of ``values`` in ``index`` of unique strings (-1 where absent).

    Hashed by Arrow: pandas' ``get_indexer`` first turns Arrow strings into Python
    objects, eight times slower on a million ids (and twice as fast on a few: the service's).
    """
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        # Each category looked up once, each row by its code: no row's string is hashed.
        categorical = pd.Categorical(values)
        found = np.r_[positions(pd.Index(categorical.categories), index), -1]
        return found[categorical.codes].astype(np.int64)  # code -1 (missing) -> the last
    if len(values) < SMALL_LOOKUP:
        return index.get_indexer(pd.Index(values).astype(str)).astype(np.int64)
    found = pc.index_in(_large_strings(values), value_set=_large_strings(index))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _large_strings(values: pd.Series | pd.Index | np.ndarray) -> pa.Array:
    strings = pd.Series(np.asarray(values) if isinstance(values, np.ndarray) else values)
    array = pa.array(strings.astype(str), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _slot_flags(
    column: pd.Series, vocabulary: tuple[str, ...] | None, n: int
) -> dict[str, np.ndarray]:
    """Slot ``1``..``n`` -> rows holding the vocabulary's value of that rank (none when the
    vocabulary is shorter); ``other`` -> rows holding any other value."""
    vocabulary = tuple(vocabulary or ())[:n]
    named = _flags(column, vocabulary)
    out = {str(i): named[v] for i, v in enumerate(vocabulary, start=1)}
    none = np.zeros(len(column), dtype=bool)
    out |= {str(i): none for i in range(len(vocabulary) + 1, n + 1)}
    known = np.any([*named.values(), none], axis=0) if named else none
    out[SLOT_OTHER] = column.notna().to_numpy(dtype=bool) & ~known
    return out


def _flags(column: pd.Series, values: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One boolean array per value of ``values``: which rows of ``column`` hold it."""
    codes, seen = pd.factorize(column)
    code_of = {value: i for i, value in enumerate(seen)}
    return {value: codes == code_of.get(value, -2) for value in values}


def utc_datetime64(times: pd.Series) -> np.ndarray:
    """UTC timestamps as plain ``datetime64[ns]`` (what :func:`evaluate_features` takes).

    The contract's columns (nanoseconds, UTC) come back as a read-only view of their data.
    """
    if isinstance(times.dtype, pd.DatetimeTZDtype) and times.dtype.unit == "ns":
        view = times.array.asi8.view("M8[ns]")  # UTC nanoseconds whatever the zone shown
        view.flags.writeable = False
        return view
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def feature_frame(
    keys: pd.DataFrame, features: dict[str, np.ndarray], names: Collection[str] | None = None
) -> pd.DataFrame:
    """Keys and features (``names``, default all given) as one frame, in catalogue order."""
    frame = pd.DataFrame({"customer_id": keys["customer_id"], "cutoff_at": keys["cutoff_at"]})
    wanted = set(features if names is None else names)
    # copy=False: one block per column instead of copying them all into one 2-D block.
    # Categories are text whatever their values (all missing when the data has none).
    values = pd.DataFrame(
        {
            name: pd.array(features[name], dtype="str") if name in CATEGORICAL else features[name]
            for name in FEATURE_NAMES
            if name in wanted
        },
        copy=False,
    )
    return pd.concat([frame.reset_index(drop=True), values], axis=1)


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / max(count, 1), missing where there is nothing to average. A recency-weighted
    count below 1 divides by 1: old evidence shrinks the mean toward 0 (the models learnt it)."""
    return np.divide(
        total, np.maximum(count, 1), out=np.full(np.shape(total), np.nan), where=count > 0
    )


def _contact_streams(
    contacts: pd.DataFrame, index: pd.Index, families: set[str], parameters: FeatureParameters
) -> dict[str, EventStream]:
    """The contact streams ``families`` read: contacts by start (``started``) and, for those
    that closed, by close (``closed``, carrying the outcome values), plus the unresolved and
    the resolved closes."""
    streams: dict[str, EventStream] = {}
    codes = positions(contacts["customer_id"], index)
    if families & {"contact_volume", "contact_channels", "contact_reasons", "open_contacts"}:
        values = {}
        if "contact_channels" in families:
            slotted = _slot_flags(contacts["channel"], parameters.channels, CHANNEL_SLOTS)
            values |= {f"ch_{x}": flag for x, flag in slotted.items()}
        if "contact_reasons" in families:
            slotted = _slot_flags(contacts["reason"], parameters.reasons, REASON_SLOTS)
            values |= {f"re_{x}": flag for x, flag in slotted.items()}
        streams["started"] = EventStream(codes, utc_datetime64(contacts["started_at"]), values)
    # Outcome fields exist only for contacts that closed before the cutoff.
    closed_at = utc_datetime64(contacts["closed_at"])
    is_closed = ~np.isnat(closed_at)
    closed_codes, closed_at = codes[is_closed], closed_at[is_closed]

    def of_closed(column: str) -> np.ndarray:
        return contacts[column].to_numpy(dtype="float64", na_value=np.nan)[is_closed]

    resolved = of_closed("resolved")  # 1, 0 or NaN (unknown)
    if families & {"open_contacts", "resolution", "waits", "transfers", "handling", "sentiment"}:
        wait = of_closed("wait_seconds")
        handle = of_closed("handle_seconds")
        sentiment = of_closed("sentiment")
        # A contact of no known channel never waited in a queue we know of.
        queued = contacts["channel"].isin(parameters.queued_channels).to_numpy(dtype=bool)
        long_wait = (wait > parameters.long_wait_seconds) & queued[is_closed]
        transferred = of_closed("transferred") == 1
        cost = parameters.cost
        adjusted = (
            sentiment
            + cost["unresolved"] * (resolved == 0)
            + cost["long_wait"] * long_wait
            + cost["transferred"] * transferred
        )
        streams["closed"] = EventStream(
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
                "very_negative": sentiment < parameters.very_negative_sentiment,
                "negativity": np.clip(-sentiment, 0, None) / 100,
            },
        )
    if "resolution" in families:
        streams["unresolved"] = EventStream(closed_codes[resolved == 0], closed_at[resolved == 0])
    if "problems" in families:  # the latest contact that fixed things
        streams["resolved"] = EventStream(closed_codes[resolved == 1], closed_at[resolved == 1])
    return streams


def _event_streams(
    events: pd.DataFrame, index: pd.Index, families: set[str], parameters: FeatureParameters
) -> dict[str, EventStream]:
    """One stream per event type the wanted families count (as the catalogue declares), one
    of every operational ``problems``, and ``typed``: every event with its type's slot."""
    problems = FAMILIES_BY_NAME["problems"].event_types
    wanted = sorted(
        {t for f in families if f != "problems" for t in FAMILIES_BY_NAME[f].event_types}
    )
    typed = "event_types" in families
    if not wanted and not typed and "problems" not in families:
        return {}
    codes = positions(events["customer_id"], index)
    occurred = utc_datetime64(events["occurred_at"])
    streams = {}
    if typed:
        slotted = _slot_flags(events["event_type"], parameters.event_types, EVENT_TYPE_SLOTS)
        streams["typed"] = EventStream(
            codes, occurred, {f"ty_{x}": flag for x, flag in slotted.items()}
        )
    kind = _flags(events["event_type"], (*wanted, *problems))
    if "problems" in families:
        kind["problems"] = np.any([kind[k] for k in problems], axis=0)
        wanted.append("problems")
    amount = events["amount"].to_numpy(dtype=float)
    return streams | {
        k: EventStream(codes[kind[k]], occurred[kind[k]], {"amount": amount[kind[k]]})
        for k in wanted
    }


@dataclass(frozen=True)
class _At:
    """Where features are evaluated: customer codes, cutoffs in the streams' seconds and as
    UTC ``datetime64[ns]``, and how far back the latest event may lie (None: any age)."""

    c: np.ndarray
    t: np.ndarray
    when: np.ndarray
    lookback: int | None = None


def _scale_to_windows(p: PreparedHistory, at: _At, out: dict) -> None:
    """Counts and sums over a window that reaches back before the history's observation
    starts (a training day, with only the warm-up behind it) are scaled to the whole window:
    the part of it the customer existed in, over the part observed. Then a 90-day count
    means the same on the first training day as on a day scored with years behind it. A
    customer who signed up after observation began is seen whole: scaled by 1. Sign-ups
    derived from first sight count as such (nothing is invented before a customer's first
    contact), so an export without sign-up times gets no scaling."""
    signup = p.profile["signup"][at.c]
    shares: dict[int, np.ndarray] = {}
    for name in out:
        feature = FEATURES_BY_NAME[name]
        if not feature.scaled:
            continue
        window = feature.lookback * DAY
        if window not in shares:
            shares[window] = _coverage(at.t, window, p.observed_from, signup)
        out[name] = out[name] * shares[window]


def _coverage(t: np.ndarray, window: int, observed_from: int, signup: np.ndarray) -> np.ndarray:
    """Per row: the span of ``[t - window, t)`` the customer existed in, over the span of it
    that was observed (1 where nothing of it was cut off)."""
    start = np.maximum(t - window, signup)
    observed = t - np.maximum(start, observed_from)
    possible = t - start
    return np.where((observed > 0) & (possible > observed), possible / np.maximum(observed, 1), 1.0)


def _since(stream: EventStream, at: _At, entities: np.ndarray | None = None) -> np.ndarray:
    """Seconds since the latest event before the cutoff; missing when there is none within
    the look-back (a training day, with only the warm-up behind it, could not know of an
    older one). ``entities``: the stream's entity per query (default: the customers)."""
    seconds = stream.seconds_since_last(at.c if entities is None else entities, at.t)
    if at.lookback is None:
        return seconds
    return np.where(seconds <= at.lookback, seconds, np.nan)


def _latest(stream: EventStream, name: str, at: _At) -> np.ndarray:
    """Value ``name`` of the latest event before the cutoff, within the look-back."""
    value = stream.last_value(name, at.c, at.t)
    if at.lookback is None:
        return value
    return np.where(stream.seconds_since_last(at.c, at.t) <= at.lookback, value, np.nan)


def _contact_volume(p: PreparedHistory, at: _At, out: dict) -> None:
    started, c, t = p.contacts["started"], at.c, at.t
    for w in WINDOWS_DAYS:
        out[f"contacts_{w}d"] = started.count(c, t, w * DAY)
    out["hours_since_last_contact"] = _since(started, at) / HOUR
    out["contacts_decayed"] = started.decayed_sum(None, c, t, DECAY_HALF_LIFE_DAYS * DAY)


def _contact_channels(p: PreparedHistory, at: _At, out: dict) -> None:
    for x in slots(CHANNEL_SLOTS):
        out[channel_feature(x)] = p.contacts["started"].total(f"ch_{x}", at.c, at.t, 30 * DAY)


def _contact_reasons(p: PreparedHistory, at: _At, out: dict) -> None:
    for x in slots(REASON_SLOTS):
        out[reason_feature(x)] = p.contacts["started"].total(f"re_{x}", at.c, at.t, 30 * DAY)


def _event_types(p: PreparedHistory, at: _At, out: dict) -> None:
    for x in slots(EVENT_TYPE_SLOTS):
        out[event_type_feature(x)] = p.events["typed"].total(f"ty_{x}", at.c, at.t, 30 * DAY)


def _open_contacts(p: PreparedHistory, at: _At, out: dict) -> None:
    out["open_contacts"] = p.contacts["started"].count(at.c, at.t) - p.contacts["closed"].count(
        at.c, at.t
    )


def _resolution(p: PreparedHistory, at: _At, out: dict) -> None:
    cs, c, t = p.contacts["closed"], at.c, at.t
    for w in (7, 30):
        out[f"unresolved_{w}d"] = cs.total("unresolved", c, t, w * DAY)
    out["resolution_rate_30d"] = _mean(
        cs.total("resolved", c, t, 30 * DAY), cs.total("known_resolution", c, t, 30 * DAY)
    )
    out["last_contact_resolved"] = _latest(cs, "resolved_flag", at)
    out["hours_since_last_unresolved"] = _since(p.contacts["unresolved"], at) / HOUR
    out["unresolved_decayed"] = cs.decayed_sum("unresolved", c, t, DECAY_HALF_LIFE_DAYS * DAY)
    out["unresolved_fast"] = cs.decayed_sum("unresolved", c, t, FAST_HALF_LIFE_DAYS * DAY)


def _waits(p: PreparedHistory, at: _At, out: dict) -> None:
    cs, c, t = p.contacts["closed"], at.c, at.t
    for w in (7, 30):
        out[f"long_waits_{w}d"] = cs.total("long_wait", c, t, w * DAY)
    out["mean_wait_minutes_30d"] = _mean(
        cs.total("wait_minutes", c, t, 30 * DAY), cs.total("has_wait", c, t, 30 * DAY)
    )
    out["long_waits_decayed"] = cs.decayed_sum("long_wait", c, t, DECAY_HALF_LIFE_DAYS * DAY)


def _transfers(p: PreparedHistory, at: _At, out: dict) -> None:
    cs, c, t = p.contacts["closed"], at.c, at.t
    for w in (7, 30):
        out[f"transferred_{w}d"] = cs.total("transferred", c, t, w * DAY)
    out["transfers_decayed"] = cs.decayed_sum("transferred", c, t, DECAY_HALF_LIFE_DAYS * DAY)


def _handling(p: PreparedHistory, at: _At, out: dict) -> None:
    cs, c, t = p.contacts["closed"], at.c, at.t
    out["mean_handle_minutes_30d"] = _mean(
        cs.total("handle_minutes", c, t, 30 * DAY), cs.total("has_handle", c, t, 30 * DAY)
    )


def _sentiment(p: PreparedHistory, at: _At, out: dict) -> None:
    cs, c, t = p.contacts["closed"], at.c, at.t
    s7, n7 = cs.total("sentiment", c, t, 7 * DAY), cs.total("has_sentiment", c, t, 7 * DAY)
    s30, n30 = cs.total("sentiment", c, t, 30 * DAY), cs.total("has_sentiment", c, t, 30 * DAY)
    out["mean_sentiment_7d"] = _mean(s7, n7)
    out["mean_sentiment_30d"] = _mean(s30, n30)
    out["sentiment_trend"] = out["mean_sentiment_7d"] - _mean(s30 - s7, n30 - n7)
    out["very_negative_contacts_30d"] = cs.total("very_negative", c, t, 30 * DAY)
    out["negativity_decayed"] = cs.decayed_sum("negativity", c, t, DECAY_HALF_LIFE_DAYS * DAY)
    out["last_sentiment"] = _latest(cs, "sentiment", at)
    out["adjusted_sentiment_last"] = _latest(cs, "adjusted", at)
    for name, days in (("fast", FAST_HALF_LIFE_DAYS), ("slow", SLOW_HALF_LIFE_DAYS)):
        out[f"adjusted_sentiment_{name}"] = _mean(
            cs.decayed_sum("adjusted", c, t, days * DAY),
            cs.decayed_sum("has_sentiment", c, t, days * DAY),
        )
    out["adjusted_sentiment_90d"] = _mean(
        cs.total("adjusted", c, t, 90 * DAY), cs.total("has_sentiment", c, t, 90 * DAY)
    )
    out["very_negative_fast"] = cs.decayed_sum("very_negative", c, t, FAST_HALF_LIFE_DAYS * DAY)


def _counts_7d_30d(stream: EventStream, kind: str, at: _At, out: dict) -> None:
    out[f"{kind}_7d"] = stream.count(at.c, at.t, 7 * DAY)
    out[f"{kind}_30d"] = stream.count(at.c, at.t, 30 * DAY)


def _payments(p: PreparedHistory, at: _At, out: dict) -> None:
    failed, delayed, c, t = p.events["payment_failed"], p.events["deduction_delayed"], at.c, at.t
    _counts_7d_30d(failed, "payment_failed", at, out)
    _counts_7d_30d(delayed, "deduction_delayed", at, out)
    out["seconds_since_payment_failed"] = _since(failed, at)
    out["failed_amount_30d"] = failed.total("amount", c, t, 30 * DAY)
    half_life = DECAY_HALF_LIFE_DAYS * DAY
    out["payment_problems_decayed"] = failed.decayed_sum(None, c, t, half_life) + (
        delayed.decayed_sum(None, c, t, half_life)
    )


def _deliveries(p: PreparedHistory, at: _At, out: dict) -> None:
    delayed = p.events["order_delayed"]
    _counts_7d_30d(delayed, "order_delayed", at, out)
    out["seconds_since_order_delayed"] = _since(delayed, at)
    out["order_delayed_decayed"] = delayed.decayed_sum(None, at.c, at.t, DECAY_HALF_LIFE_DAYS * DAY)


def _app_errors(p: PreparedHistory, at: _At, out: dict) -> None:
    errors = p.events["app_error"]
    _counts_7d_30d(errors, "app_error", at, out)
    out["app_error_decayed"] = errors.decayed_sum(None, at.c, at.t, DECAY_HALF_LIFE_DAYS * DAY)


def _problems(p: PreparedHistory, at: _At, out: dict) -> None:
    problems, c, t = p.events["problems"], at.c, at.t
    out["problems_fast"] = problems.decayed_sum(None, c, t, FAST_HALF_LIFE_DAYS * DAY)
    out["problems_slow"] = problems.decayed_sum(None, c, t, SLOW_HALF_LIFE_DAYS * DAY)
    since_resolved = p.contacts["resolved"].seconds_since_last(c, t)
    window = np.where(np.isnan(since_resolved), 30 * DAY, np.minimum(since_resolved, 30 * DAY))
    out["problems_since_resolved_contact"] = problems.count(c, t, window.astype(np.int64))
    out["hours_since_problem"] = _since(problems, at) / HOUR


def _refunds(p: PreparedHistory, at: _At, out: dict) -> None:
    out["refund_30d"] = p.events["refund"].count(at.c, at.t, 30 * DAY)


def _bills_issued(p: PreparedHistory, at: _At, out: dict) -> None:
    out["hours_since_bill_issued"] = _since(p.events["bill_issued"], at) / HOUR


def _complaint_history(p: PreparedHistory, at: _At, out: dict) -> None:
    filed, c, t = p.complaints["filed"], at.c, at.t
    out["complaints_90d"] = filed.count(c, t, 90 * DAY)
    out["complaints_365d"] = filed.count(c, t, 365 * DAY)
    out["days_since_last_complaint"] = _since(filed, at) / DAY


def _incidents(p: PreparedHistory, at: _At, out: dict) -> None:
    started, ended = p.incidents["started"], p.incidents["ended"]
    r, t = p.region[at.c], at.t
    out["region_incident_active"] = started.count(r, t) - ended.count(r, t)
    out["region_incident_severity"] = started.total("severity", r, t, None) - ended.total(
        "severity", r, t, None
    )
    out["region_incident_exposure"] = _incident_exposure(
        started, ended, out["region_incident_severity"], r, t
    )
    out["region_incidents_7d"] = started.count(r, t, 7 * DAY)
    out["hours_since_region_incident"] = _since(started, at, r) / HOUR


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


def _billing_cycle(p: PreparedHistory, at: _At, out: dict) -> None:
    bill_day = p.profile["bill_day"][at.c]
    # Calendar arithmetic on numpy days (no pandas per call: the service evaluates one row).
    today = at.when.astype("datetime64[D]")
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


def _profile(p: PreparedHistory, at: _At, out: dict) -> None:
    for col in ("segment", "region", "age_band", "plan"):
        out[col] = p.profile[col][at.c]


def _tenure(p: PreparedHistory, at: _At, out: dict) -> None:
    tenure = (at.t - p.profile["signup"][at.c]) / DAY
    if p.first_seen_signup and at.lookback is not None:  # time since first seen: capped too
        tenure = np.minimum(tenure, at.lookback / DAY)
    out["tenure_days"] = tenure
    # 1970-01-01 was a Thursday (Monday = 0).
    out["day_of_week"] = ((at.when.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(float)


# The code of each family of the catalogue (features.catalogue.FAMILIES).
_BUILDERS: dict[str, Callable[[PreparedHistory, _At, dict], None]] = {
    "contact_volume": _contact_volume,
    "contact_channels": _contact_channels,
    "contact_reasons": _contact_reasons,
    "open_contacts": _open_contacts,
    "resolution": _resolution,
    "waits": _waits,
    "transfers": _transfers,
    "handling": _handling,
    "sentiment": _sentiment,
    "payments": _payments,
    "deliveries": _deliveries,
    "app_errors": _app_errors,
    "problems": _problems,
    "refunds": _refunds,
    "bills_issued": _bills_issued,
    "event_types": _event_types,
    "complaint_history": _complaint_history,
    "incidents": _incidents,
    "billing_cycle": _billing_cycle,
    "profile": _profile,
    "tenure": _tenure,
}
if set(_BUILDERS) != set(FAMILIES_BY_NAME):
    raise AssertionError("every family of the catalogue needs its code here, and only those")
