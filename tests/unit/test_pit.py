"""The window engine against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.pit import EventStream, to_seconds


def random_times(rng: np.random.Generator, start: str, days: int, n: int) -> pd.Series:
    """``n`` random whole-second UTC times in the ``days`` after ``start``."""
    offsets = pd.to_timedelta(rng.integers(0, days * 86400, n), unit="s")
    return pd.Series(pd.Timestamp(start, tz="UTC") + offsets)


def test_counts_and_sums_match_brute_force():
    rng = np.random.default_rng(3)
    n_events, n_queries = 500, 300
    codes = rng.integers(0, 7, n_events)
    times = random_times(rng, "2026-01-01", 90, n_events)
    values = rng.normal(size=n_events)
    stream = EventStream(codes, times, {"v": values})
    q_codes = rng.integers(0, 8, n_queries)  # code 7 has no events
    q_times = random_times(rng, "2026-01-01", 100, n_queries)
    end = to_seconds(q_times, "floor")
    window = 7 * 86400
    count, total = stream.count(q_codes, end, window), stream.total("v", q_codes, end, window)
    since = stream.seconds_since_last(q_codes, end)
    ev_sec = to_seconds(times, "floor")
    for i in range(n_queries):
        mine = (codes == q_codes[i]) & (ev_sec < end[i])
        inside = mine & (ev_sec >= end[i] - window)
        assert count[i] == inside.sum()
        assert np.isclose(total[i], values[inside].sum())
        expected = end[i] - ev_sec[mine].max() if mine.any() else np.nan
        assert np.isnan(since[i]) if np.isnan(expected) else since[i] == expected


def test_label_windows_are_closed_on_the_right():
    t = pd.Series(
        pd.to_datetime(
            ["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-01T00:00:00.5Z"],
            format="ISO8601",
        )
    )
    stream = EventStream(np.zeros(3, dtype=int), t, rounding="ceil")
    start = to_seconds(pd.Series(pd.to_datetime(["2026-01-01T00:00:00Z"])), "floor")
    # (t, t+48h]: the event at t is out, the one half a second later and the one at t+48h are in.
    assert stream.count_after(np.zeros(1, dtype=int), start, 48 * 3600)[0] == 2


def test_missing_times_never_count():
    stream = EventStream(
        np.array([0, 0]), pd.Series(pd.to_datetime(["2026-01-01T00:00:00Z", None], utc=True))
    )
    assert len(stream) == 1


def test_decayed_sum_matches_brute_force():
    rng = np.random.default_rng(5)
    n = 300
    codes = rng.integers(0, 4, n)
    times = random_times(rng, "2025-01-01", 400, n)
    values = rng.uniform(0, 2, n)
    stream = EventStream(codes, times, {"v": values})
    q_codes = rng.integers(0, 5, 50)
    end = to_seconds(
        random_times(rng, "2025-01-01", 420, 50),
        "floor",
    )
    half_life = 3 * 86400
    got = stream.decayed_sum("v", q_codes, end, half_life)
    counted = stream.decayed_sum(None, q_codes, end, half_life)
    ev = to_seconds(times, "floor")
    for i in range(50):
        mine = (codes == q_codes[i]) & (ev < end[i])
        weight = 0.5 ** ((end[i] - ev[mine]) / half_life)
        assert np.isclose(got[i], (values[mine] * weight).sum(), rtol=1e-9, atol=1e-12)
        assert np.isclose(counted[i], weight.sum(), rtol=1e-9, atol=1e-12)


def test_a_compacted_stream_answers_as_the_running_sums_do():
    """compact() drops the running sums; sums over each entity's own events must agree, for
    one query (the service's single customer) and for many, flags and numbers, with gaps."""
    rng = np.random.default_rng(11)
    n = 400
    codes = rng.integers(0, 6, n)
    times = random_times(rng, "2025-06-01", 200, n)
    number = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n) * 50)
    flag = rng.random(n) < 0.3
    full = EventStream(codes, times, {"x": number, "f": flag})
    lean = EventStream(codes, times, {"x": number, "f": flag})
    q_codes = rng.integers(0, 7, 40)  # code 6 has no events
    end = to_seconds(
        random_times(rng, "2025-06-01", 210, 40),
        "floor",
    )

    def ask(stream: EventStream, c: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
        return [
            stream.total("x", c, t, 30 * 86400),
            stream.total("f", c, t, 7 * 86400),
            stream.total("x", c, t, None),
            stream.count(c, t, 30 * 86400),
            stream.decayed_sum("x", c, t, 3 * 86400),
            stream.decayed_sum("f", c, t, 86400),
            stream.decayed_sum(None, c, t, 4 * 86400),
        ]

    ask(lean, q_codes[:1], end[:1])  # what a query needs is what compact() keeps
    lean.compact()
    assert not lean._within and not lean._decayed
    for c, t in [(q_codes, end), *((q_codes[i : i + 1], end[i : i + 1]) for i in range(40))]:
        for expected, got in zip(ask(full, c, t), ask(lean, c, t), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert ask(full, q_codes, end)[1].max() > 0  # the flags did count something
