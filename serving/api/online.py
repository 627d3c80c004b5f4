"""The service's per-customer feature state: scores as of any moment, not as of midnight.

The published history is prepared once (every event stream sorted and indexed, see
:func:`features.build.prepare_history`) and compacted: the streams keep their events and
the values queries read, and add up a customer's own events per query rather than holding
running sums for every event. A customer with events posted since gets an
overlay: its own rows with the journal's merged in (:func:`serving.api.journal.merge_rows`, the
rule of the nightly build), prepared alone, rebuilt only when something new is posted.
Either way a request is answered by :func:`features.build.evaluate_features`, the code
that training and the daily list run, so the numbers are the ones ``build_features``
gives on the full history at that moment: the replay tests check it to 1e-9.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from data.history import History
from data.load import release_freed_memory
from features.build import PreparedHistory, evaluate_features, positions, prepare_history
from features.catalogue import FEATURE_NAMES
from features.labels import LabelEngine, LabelRules
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from features.pit import EPOCH_OFFSET, NS_PER_SECOND, whole_second
from serving.api.journal import JOURNALED, EventJournal, fold, merge_rows

# Relative tolerance of the online/offline consistency check (the replay tests' bound).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Prepared:
    features: PreparedHistory
    labels: LabelEngine


@dataclass(frozen=True)
class FeaturesAt:
    """Features of some customers at one moment, and whether each may be scored."""

    features: dict[str, np.ndarray]  # customer_id, cutoff_at and every catalogue feature
    eligible: np.ndarray
    signed_up: np.ndarray


class OnlineFeatures:
    """Feature state of every customer of a published history, kept current by posted events.

    ``journal``: posted rows are merged in at start (the journal may hold rows the
    publication predates) and, per customer, whenever :meth:`changed` says so. At most
    ``max_overlays`` rebuilt customers are held (the least recently asked go first and are
    rebuilt from the journal when next asked), so a busy day cannot grow memory without end.
    """

    def __init__(
        self,
        history: History | Callable[[str], History],
        journal: EventJournal | None,
        rules: LabelRules,
        max_overlays: int = 20_000,
        parameters: FeatureParameters = DEFAULT_PARAMETERS,
    ) -> None:
        """``history``: the history, or a function giving it with one event table filled
        (contacts, complaints or events; the others empty), so that a large history is read
        and prepared one table at a time and never held whole beside the state."""
        self.parameters = parameters  # the serving model's (see features.parameters)
        self.rules = rules  # the serving model's eligibility (see features.labels)
        posted = journal.frames() if journal is not None else {}
        self._posted = {cid for frame in posted.values() for cid in frame["customer_id"]}
        self.journal = journal
        read = history if callable(history) else partial(_with_only, history)
        parts: dict[str, PreparedHistory] = {}
        self._rows: dict[str, _CustomerRows] = {}  # for rebuilding one customer alone
        for name in JOURNALED:
            part = fold(read(name), {name: posted[name]} if name in posted else {})
            index = pd.Index(part.customers["customer_id"].astype(str))
            self._rows[name] = _CustomerRows.of(name, getattr(part, name), index)
            # The table as read is let go: the streams are prepared from the rows held.
            part = replace(part, **{name: self._rows[name].table(index)})
            release_freed_memory()  # the table as read, before the streams are built
            parts[name] = prepare_history(part, parameters=parameters)
            _keep_what_queries_read(parts[name], part.observed_until)  # before the next table
            if name == "complaints":  # eligibility reads complaints (and customers) only
                labels = LabelEngine(part, rules)
            # What every part holds alike: the customers, the incidents, the observed span.
            self.customers, self.incidents = part.customers, part.incidents
            self.observed_until, self.observed_from = part.observed_until, part.observed_from
            del part
        prepared = replace(
            parts["contacts"],
            complaints=parts["complaints"].complaints,
            events=parts["events"].events,
        )
        self.base = _Prepared(prepared, labels)
        self.index = prepared.index
        # (each part's streams were compacted as it was built: the whole needs no more)
        self._since_load: set[str] = set()  # customers with rows posted after the build
        self._changed: set[str] = set()  # ... whose overlay is out of date
        self._overlays: OrderedDict[str, _Prepared] = OrderedDict()  # least recent first
        self.max_overlays = max_overlays
        self._lock = threading.Lock()

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self.index

    def changed(self, customer_ids: set[str] | list[str]) -> None:
        """These customers have new rows in the journal: rebuild their state when next asked."""
        with self._lock:
            self._changed.update(customer_ids)
            self._since_load.update(customer_ids)

    def has_posted(self, customer_id: str) -> bool:
        """Whether the journal holds rows of this customer (posted after the export)."""
        return customer_id in self._posted or customer_id in self._since_load

    @property
    def overlays(self) -> int:
        """Customers whose state was rebuilt from posted events."""
        return len(self._overlays)

    def at(self, customer_ids: list[str], as_of: pd.Timestamp) -> FeaturesAt:
        """Features, eligibility and sign-up of known customers at ``as_of`` (UTC)."""
        when, t = self._moment(as_of)
        parts: list[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
        overlays = self._current_overlays(customer_ids)
        plain = [i for i, cid in enumerate(customer_ids) if cid not in overlays]
        if plain:
            codes = np.array([self.index.get_loc(customer_ids[i]) for i in plain], dtype=np.int64)
            parts.append((np.array(plain), *self._evaluate(self.base, codes, when, t)))
        for i, cid in enumerate(customer_ids):
            if cid in overlays:
                parts.append(
                    (np.array([i]), *self._evaluate(overlays[cid], np.zeros(1, np.int64), when, t))
                )
        if len(parts) == 1:  # the common case: nothing to put back in order
            _, features, eligible, signed_up = parts[0]
        else:
            order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")
            features = {
                name: np.concatenate([p[1][name] for p in parts])[order] for name in FEATURE_NAMES
            }
            eligible = np.concatenate([p[2] for p in parts])[order]
            signed_up = np.concatenate([p[3] for p in parts])[order]
        features["customer_id"] = np.asarray(customer_ids, dtype=object)
        features["cutoff_at"] = np.repeat(when, len(customer_ids))
        return FeaturesAt(features, eligible, signed_up)

    def sample(self, size: int, seed: int) -> list[str]:
        """A uniform sample of at most ``size`` known customers (all when fewer)."""
        ids = np.asarray(self.index)
        if len(ids) > size:
            ids = np.random.default_rng(seed).choice(ids, size, replace=False)
        return [str(i) for i in ids]

    def disagreements(
        self, offline: pd.DataFrame, cutoff: pd.Timestamp, sample: int, seed: int
    ) -> tuple[int, dict[str, int]]:
        """(customers checked, features that differ per name) between this state at ``cutoff``
        and features computed offline at the same cutoff (a published snapshot).

        A uniform sample of at most ``sample`` customers known to both; numbers differ when
        they are off by more than 1e-9 relative, or one is missing and the other not.
        """
        ids = offline["customer_id"].astype(str)
        ids = ids[ids.isin(self.index)].to_numpy()
        if len(ids) > sample:
            ids = np.random.default_rng(seed).choice(ids, sample, replace=False)
        if not len(ids):
            return 0, {}
        online = self.at(list(ids), cutoff).features
        reference = offline.set_index(offline["customer_id"].astype(str)).loc[ids]
        counts = {
            name: int(differs(online[name], reference[name].to_numpy()).sum())
            for name in FEATURE_NAMES
        }
        return len(ids), {name: n for name, n in counts.items() if n}

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _moment(as_of: pd.Timestamp) -> tuple[np.datetime64, np.ndarray]:
        """``as_of`` floored to the second, as UTC nanoseconds and as the feature code's
        seconds (what :func:`features.pit.to_seconds` gives, without its set-up)."""
        ns = whole_second(as_of).value
        return np.datetime64(ns, "ns"), np.array([ns // NS_PER_SECOND + EPOCH_OFFSET])

    def _prepare(self, history: History) -> _Prepared:
        return _Prepared(
            prepare_history(history, parameters=self.parameters),
            LabelEngine(history, self.rules),
        )

    def _evaluate(
        self, prepared: _Prepared, codes: np.ndarray, when: np.datetime64, t: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        n = len(codes)
        times = np.repeat(t, n)
        features = evaluate_features(prepared.features, codes, np.repeat(when, n))
        rows = prepared.labels.at(codes, times)
        return features, rows.eligible, rows.signed_up

    def _current_overlays(self, customer_ids: list[str]) -> dict[str, _Prepared]:
        """The overlays these customers need, rebuilt when rows were posted since (or when
        evicted); the least recently asked beyond ``max_overlays`` are let go."""
        with self._lock:
            wanted = self._since_load.intersection(customer_ids)
            if not wanted:
                return {}
            for cid in wanted:
                if cid in self._changed or cid not in self._overlays:
                    self._overlays[cid] = self._prepare(self._history_of(cid))
                    self._changed.discard(cid)
                self._overlays.move_to_end(cid)
            found = {cid: self._overlays[cid] for cid in wanted}
            while len(self._overlays) > self.max_overlays:
                self._overlays.popitem(last=False)
            return found

    def _history_of(self, customer_id: str) -> History:
        """One customer's published rows with everything the journal holds for it merged in."""
        code = int(self.index.get_loc(customer_id))
        posted = self.journal.frames(customer_id) if self.journal is not None else {}
        tables = {}
        for name in JOURNALED:
            mine = self._rows[name].of_customer(code, customer_id)
            tables[name] = merge_rows(mine, posted[name], name) if name in posted else mine
        return History(
            customers=self.customers.iloc[[code]],
            incidents=self.incidents,
            observed_until=self.observed_until,
            observed_from=self.observed_from,
            **tables,
        )


# Text columns with few distinct values, held as categories (a code per row, not a string).
REPEATED_TEXT = {
    "contacts": ("channel", "reason"),
    "complaints": ("category", "channel"),
    "events": ("event_type",),
}


@dataclass(frozen=True)
class _CustomerRows:
    """One table's rows grouped by customer, held for rebuilding one customer alone: sorted
    by customer (a customer's rows are one slice), without the customer column (the slice
    says whose they are) and with repeated text as categories."""

    frame: pd.DataFrame
    starts: np.ndarray  # customer code -> where its rows start; one more for the end
    columns: tuple[str, ...]  # the table's columns, in order

    @classmethod
    def of(cls, table: str, frame: pd.DataFrame, index: pd.Index) -> _CustomerRows:
        codes = positions(frame["customer_id"], index)
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(index) + 1))
        # Column by column (repeated text made categories before it is reordered): one copy
        # of the table at a time, not three.
        held = pd.DataFrame(
            {
                c: _held(frame[c], c in REPEATED_TEXT[table]).take(order).reset_index(drop=True)
                for c in frame.columns
                if c != "customer_id"
            }
        )
        small = np.int32 if len(frame) < 2**31 else np.int64
        return cls(held, starts.astype(small), tuple(frame.columns))

    def table(self, index: pd.Index) -> pd.DataFrame:
        """The whole table again, in customer order, its customer column a categorical of
        ``index`` (a code per row, not a string): a view of the rows held, not a copy."""
        counts = np.diff(np.r_[0, self.starts])  # rows of no known customer come first
        codes = np.repeat(np.arange(-1, len(index), dtype=np.int32), counts)
        customer = pd.Categorical.from_codes(codes, categories=index)
        return self.frame.assign(customer_id=customer)[list(self.columns)]

    def of_customer(self, code: int, customer_id: str) -> pd.DataFrame:
        rows = self.frame.iloc[self.starts[code] : self.starts[code + 1]]
        return rows.assign(customer_id=customer_id)[list(self.columns)]


def _keep_what_queries_read(prepared: PreparedHistory, as_of: pd.Timestamp) -> None:
    """Streams that sum each customer's own events, holding only the values a query reads:
    one direct evaluation shows which (see :meth:`EventStream.compact`)."""
    if len(prepared.index):
        prepared.sum_directly()
        moment = np.datetime64(whole_second(as_of).value, "ns")
        evaluate_features(prepared, np.zeros(1, np.int64), np.array([moment]))
        prepared.compact()


def _with_only(history: History, table: str) -> History:
    """``history`` with only ``table`` of its event tables (the others emptied, no copy)."""
    return replace(history, **{t: getattr(history, t).iloc[:0] for t in JOURNALED if t != table})


def _held(column: pd.Series, repeated: bool) -> pd.Series:
    return column.astype("category") if repeated else column


def differs(online: np.ndarray, offline: np.ndarray) -> np.ndarray:
    """Where two feature columns disagree (missing equals missing; 1e-9 relative)."""
    if online.dtype == object or offline.dtype == object:  # text: segment, region, ...
        return pd.Series(online).astype(str).to_numpy() != pd.Series(offline).astype(str).to_numpy()
    a, b = np.asarray(online, dtype=float), np.asarray(offline, dtype=float)
    both_missing = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= TOLERANCE * np.maximum(1.0, np.abs(b))
    return ~(both_missing | close)
