"""Point-in-time window queries over event streams, vectorised over many cutoffs.

Events are sorted by (entity, time) under one composite integer key, with cumulative sums
of their values. The events of an entity in a window ``[t - w, t)`` are then a contiguous
slice found by two binary searches, and any count or sum over it is a difference of
cumulative sums: O(log n) per (entity, cutoff), no Python loop, no join explosion.

Times are whole seconds. Feature windows ``[a, b)`` floor event times, label windows
``(a, b]`` ceil them; with cutoffs on whole seconds both are exact, and a sub-second
event at a boundary always falls on the safe side (never into a cutoff's past).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

NS_PER_SECOND = 1_000_000_000
# Composite key = entity code * SPAN + seconds; SPAN exceeds 100 years of seconds.
SPAN_BITS = 32
SPAN = np.int64(1 << SPAN_BITS)
SECONDS_MASK = SPAN - 1
EPOCH_OFFSET = np.int64(1 << 31)  # keeps seconds since 1970 positive for dates back to 1902


def whole_second(moment: object) -> pd.Timestamp:
    """A moment (any time-zone-aware time) in UTC, floored to the second: the resolution of
    every cutoff (features, labels, the service's "as of")."""
    ns = pd.Timestamp(moment).value  # nanoseconds since the epoch, UTC
    return pd.Timestamp(ns - ns % NS_PER_SECOND, tz="UTC")


def whole_seconds(times: pd.Series) -> pd.Series:
    """:func:`whole_second` of every time of a column."""
    return times.dt.tz_convert("UTC").dt.as_unit("ns").dt.floor("s")


def to_seconds(
    times: pd.Series | pd.DatetimeIndex | np.ndarray, rounding: Literal["floor", "ceil"]
) -> np.ndarray:
    """UTC timestamps -> int64 seconds (shifted to stay positive); NaT -> int64 max."""
    dtype = getattr(times, "dtype", None)
    if isinstance(times, np.ndarray) and dtype == "datetime64[ns]":
        ns = times.view(np.int64)  # NaT is int64's minimum, as in asi8
    elif (
        isinstance(times, pd.Series) and getattr(dtype, "unit", None) == "ns" and dtype.kind == "M"
    ):
        ns = times.array.asi8  # the contract's columns: nanoseconds, UTC
    else:
        ns = pd.DatetimeIndex(times).as_unit("ns").asi8
    missing = ns == np.iinfo(np.int64).min
    if rounding == "floor":
        sec = np.floor_divide(ns, NS_PER_SECOND)
    else:
        sec = -np.floor_divide(-ns, NS_PER_SECOND)
    sec = sec + EPOCH_OFFSET
    return np.where(missing, np.iinfo(np.int64).max, sec)


class EventStream:
    """Events of one kind: entity codes, times and numeric values, ready for window queries."""

    def __init__(
        self,
        codes: np.ndarray,
        times: pd.Series,
        values: dict[str, np.ndarray] | None = None,
        rounding: Literal["floor", "ceil"] = "floor",
    ) -> None:
        seconds = to_seconds(times, rounding)
        keep = seconds != np.iinfo(np.int64).max  # events with no time never happened yet
        every = bool(keep.all())  # the usual case: no copy to drop the others
        # One int64 per event holds both: the entity (high 32 bits) and the time (low 32).
        # A stable sort of it is the order of (entity, time, input order), twice as fast
        # as a lexsort of the two. Built in place: a big stream's transient is its size.
        keys = np.asarray(codes, dtype=np.int64) * SPAN
        keys += seconds
        del seconds
        if not every:
            keys = keys[keep]
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        del keys
        # Flags stay booleans (a byte per event, and exact integer running counts).
        self.values = {
            name: (v if v.dtype == bool else v.astype(float, copy=False))[
                order if every else np.flatnonzero(keep)[order]
            ]
            for name, v in ((n, np.asarray(x)) for n, x in (values or {}).items())
        }
        self._within: dict[str, np.ndarray] = {}
        self._decayed: dict[tuple[str | None, float], np.ndarray] = {}
        self._last_of_entity: np.ndarray | None = None
        self._read_directly: set[str] = set()  # values that last_value reads (kept by compact)
        self._read: set[str] = set()  # every value a query read (kept by compact)
        self._summed_directly = False  # compact(): sums over each entity's events, no caches
        # The bounds of the last query arrays: one feature build asks a stream many questions
        # about the same (entities, cutoffs) with a handful of windows.
        self._memo: tuple[np.ndarray, np.ndarray, dict] | None = None

    def __len__(self) -> int:
        return self.keys.size

    @property
    def seconds(self) -> np.ndarray:
        """Event times in whole (shifted) seconds, in stream order."""
        return self._seconds_at(slice(None))

    def _seconds_at(self, events: np.ndarray | slice) -> np.ndarray:
        """Times of some events: the low half of their keys."""
        return self.keys[events] & SECONDS_MASK

    def _codes_at(self, events: np.ndarray | slice) -> np.ndarray:
        """Entities of some events: the high half of their keys."""
        return self.keys[events] >> SPAN_BITS

    def _runs(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of each entity's run of events (keys are sorted by entity)."""
        codes = self._codes_at(slice(None))
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        return starts, np.diff(np.r_[starts, codes.size])

    def _one_entity(self) -> bool:
        """Whether every event is one entity's (a customer scored on its own)."""
        return self.keys.size == 0 or self.keys[0] >> SPAN_BITS == self.keys[-1] >> SPAN_BITS

    def _value(self, name: str) -> np.ndarray:
        self._read.add(name)
        if name not in self.values:
            raise KeyError(
                f"event value {name!r} is not held: it was never given, or compact() freed it "
                "before any query needed it"
            )
        return self.values[name]

    def compact(self) -> None:
        """Keep only what queries of a few entities need: the events and the value columns
        asked for so far, without the running sums (eight bytes per event and value).

        Sums and decayed sums are then added up over each queried entity's own events,
        the same quantities in another order of addition (equal to ~1e-15). For a
        long-lived state queried a few customers at a time, such as the service's; batch
        queries over many entities keep the running sums.
        """
        used = {*self._read, *self._within, *(n for n, _ in self._decayed), *self._read_directly}
        self.values = {k: v for k, v in self.values.items() if k in used}
        self._within, self._decayed, self._last_of_entity = {}, {}, None
        self._summed_directly = True

    def sum_directly(self) -> None:
        """From now on, add up each queried entity's own events (as after :meth:`compact`),
        building no running sums: a first query that only shows which values are read then
        costs no memory beyond its answer."""
        self._summed_directly = True

    def position(
        self,
        codes: np.ndarray,
        seconds: np.ndarray | np.int64,
        side: Literal["left", "right"] = "left",
    ) -> np.ndarray:
        """Index of the first event of ``codes`` at or after (``left``) / after (``right``) ``seconds``."""
        return self.keys.searchsorted(codes * SPAN + seconds, side=side)

    def _query_memo(self, codes: np.ndarray, end: np.ndarray) -> dict:
        """Answers memoised for one query (the same ``codes`` and ``end`` arrays): one feature
        build asks a stream many questions about the same query with a handful of windows."""
        memo = self._memo
        if memo is None or memo[0] is not codes or memo[1] is not end:
            memo = (codes, end, {})
            self._memo = memo  # one assignment: a concurrent query keeps its own memo
        return memo[2]

    def _position(
        self, codes: np.ndarray, end: np.ndarray, window: int | np.ndarray | None, at_end: bool
    ) -> np.ndarray:
        """Position of ``end`` (``at_end``) or of the window's start (the entity's first event
        when ``window`` is None) among the events; memoised per query for a fixed window."""
        key = "end" if at_end else window
        fixed = not isinstance(key, np.ndarray)
        memo = self._query_memo(codes, end)
        found = memo.get(key) if fixed else None
        if found is None:
            if at_end:
                found = self.position(codes, end)
            elif window is None:
                found = self.position(codes, np.int64(0))
            else:
                found = self.position(codes, end - window)
            if fixed:
                memo[key] = found
        return found

    def _bound(
        self, codes: np.ndarray, end: np.ndarray, window: int | np.ndarray | None, at_end: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, index of the event just before it, whether that event is the same
        entity's) of ``end`` (``at_end``) or of the window's start; memoised per query."""
        key = ("before", "end" if at_end else window)
        fixed = not isinstance(window, np.ndarray) or at_end
        memo = self._query_memo(codes, end)
        found = memo.get(key) if fixed else None
        if found is None:
            position = self._position(codes, end, window, at_end)
            previous = np.maximum(position - 1, 0)
            same = (
                (position > 0) & (self._codes_at(previous) == codes)
                if self.keys.size
                else np.zeros(position.size, dtype=bool)
            )
            found = (position, previous, same)
            if fixed:
                memo[key] = found
        return found

    def count(self, codes: np.ndarray, end: np.ndarray, window: int | None = None) -> np.ndarray:
        """Events in ``[end - window, end)`` (all before ``end`` when window is None)."""
        hi = self._position(codes, end, window, at_end=True)
        lo = self._position(codes, end, window, at_end=False)
        return (hi - lo).astype(float)

    def total(
        self, name: str, codes: np.ndarray, end: np.ndarray, window: int | None
    ) -> np.ndarray:
        """Sum of value ``name`` over events in ``[end - window, end)`` (all before when None).

        The difference of two running sums *of this entity alone*: a running total over all
        entities would lose the window's digits to cancellation as the stream grows. A
        compacted stream adds up the window's events themselves.
        """
        if self._summed_directly:
            lo = self._position(codes, end, window, False)
            hi = self._position(codes, end, window, True)
            values = self._value(name)
            if codes.size == 1:  # one customer: its events are one slice
                return np.array([_sum_of(values[lo[0] : hi[0]])])
            rows, events = self._events_between(lo, hi)
            values = np.nan_to_num(values[events].astype(float))
            return np.bincount(rows, weights=values, minlength=codes.size)
        within = self._within_sum(name)
        return self._before(within, self._bound(codes, end, window, True)) - self._before(
            within, self._bound(codes, end, window, False)
        )

    @staticmethod
    def _events_between(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, event index) of every event in each query's ``[lo, hi)``."""
        lengths = np.maximum(hi - lo, 0)
        rows = np.repeat(np.arange(lo.size), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return rows, np.repeat(lo, lengths) + offsets

    def _within_sum(self, name: str) -> np.ndarray:
        """Running sum of ``name`` (missing as 0) that restarts at each entity's first event."""
        if name not in self._within:
            values = self._value(name)
            if values.dtype == bool:
                # Counts of a flag are whole numbers: one running count over all entities
                # minus the count before each entity's run is exact, and far cheaper than a
                # grouped sum. 32-bit integers hold them.
                if self._one_entity():  # one customer (the service): no runs to restart
                    self._within[name] = np.cumsum(values, dtype=np.int32)
                else:
                    counts = np.cumsum(values, dtype=np.int64)
                    starts, lengths = self._runs()
                    counts -= np.repeat(counts[starts] - values[starts], lengths)
                    self._within[name] = counts.astype(np.int32)
            else:  # amounts: a sum that restarts per entity (no cancellation of big totals)
                values = np.nan_to_num(values)
                self._within[name] = (
                    np.cumsum(values)
                    if self._one_entity()
                    else pd.Series(values).groupby(self._codes_at(slice(None))).cumsum().to_numpy()
                )
        return self._within[name]

    def _before(
        self, within: np.ndarray, bound: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """The entity's running sum just before a bound (0 at its first event)."""
        _, previous, same = bound
        if not self.keys.size:
            return np.zeros(same.size)
        return np.where(same, within[previous], 0).astype(float, copy=False)

    def decayed_sum(
        self, name: str | None, codes: np.ndarray, end: np.ndarray, half_life: float
    ) -> np.ndarray:
        """Sum over events before ``end`` of value * 0.5 ** (age / half_life); count if name is None.

        Each entity's events are weighted ``exp(rate * (t_i - t_last))`` against that
        entity's own last event (so weights never exceed 1) and summed with a cumulative
        sum that restarts per entity: no subtraction of large running totals, so no
        cancellation. The query rescales the sum by ``exp(rate * (t_last - end))``. A
        compacted stream weighs the entity's events against the cutoff itself.
        """
        if not self.keys.size:
            return np.zeros(codes.size)
        key = (name, half_life)
        rate = np.log(2.0) / half_life
        if self._summed_directly:  # weights against each query's own cutoff: never above 1
            lo = self._position(codes, end, None, False)
            hi = self._position(codes, end, None, True)
            if codes.size == 1:  # one customer: its events are one slice
                span = slice(lo[0], hi[0])
                weights = np.exp(rate * (self._seconds_at(span) - end[0]))
                if name is None:
                    return np.array([weights.sum()])
                values = self._value(name)[span]
                total = np.dot(weights, values)
                if total != total:  # a missing value among them counts as nothing
                    total = np.dot(weights, np.nan_to_num(values))
                return np.array([total])
            rows, events = self._events_between(lo, hi)
            weights = np.exp(rate * (self._seconds_at(events) - end[rows]))
            if name is not None:
                weights = weights * np.nan_to_num(self._value(name)[events].astype(float))
            return np.bincount(rows, weights=weights, minlength=codes.size)
        if self._last_of_entity is None:  # each entity's run is closed by its last event
            starts, lengths = self._runs()
            self._last_of_entity = np.repeat(self.seconds[starts + lengths - 1], lengths)
        last_of_entity = self._last_of_entity
        if key not in self._decayed:
            weights = np.exp(rate * (self.seconds - last_of_entity).astype(float))
            values = (
                np.nan_to_num(self._value(name)) if name is not None else np.ones(self.keys.size)
            )
            weighted = values * weights
            # One entity (a customer scored on its own): a plain running sum, the same
            # sequential sum the grouped one does, without its fixed cost.
            self._decayed[key] = (
                np.cumsum(weighted)
                if self._one_entity()
                else pd.Series(weighted).groupby(self._codes_at(slice(None))).cumsum().to_numpy()
            )
        within = self._decayed[key]
        _, idx, has_events = self._bound(codes, end, None, at_end=True)
        # exp(709) is float64's limit: beyond ~8 years between a cutoff and an entity's last
        # event the old events' weights have long underflowed to 0 anyway.
        exponent = np.minimum(np.maximum(rate * (last_of_entity[idx] - end), -745.0), 700.0)
        return np.where(has_events, within[idx] * np.exp(exponent), 0.0)

    def count_after(self, codes: np.ndarray, start: np.ndarray, window: int) -> np.ndarray:
        """Events in ``(start, start + window]`` (label windows)."""
        hi = self.position(codes, start + window, side="right")
        lo = self.position(codes, start, side="right")
        return (hi - lo).astype(float)

    def last_before(self, codes: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the latest event before ``end``, whether one exists) per query."""
        _, safe, exists = self._bound(codes, end, None, at_end=True)
        return safe, exists

    def seconds_since_last(self, codes: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Seconds from the latest event before ``end`` to ``end``; NaN when there is none."""
        if not self.keys.size:
            return np.full(codes.size, np.nan)
        idx, exists = self.last_before(codes, end)
        return np.where(exists, (end - self._seconds_at(idx)).astype(float), np.nan)

    def last_value(self, name: str, codes: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Value ``name`` of the latest event before ``end``; NaN when there is none."""
        if not self.keys.size:
            return np.full(codes.size, np.nan)
        self._read_directly.add(name)
        idx, exists = self.last_before(codes, end)
        return np.where(exists, self._value(name)[idx], np.nan)


def _sum_of(values: np.ndarray) -> float:
    """Sum of a few values, missing ones counting as nothing (``np.nansum`` without its
    copy when nothing is missing: the same additions)."""
    if values.dtype == bool:
        return float(np.count_nonzero(values))
    total = float(np.add.reduce(values))
    return total if total == total else float(np.nansum(values))
