"""The window engine against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.pit import EventStream, to_seconds


def test_counts_and_sums_match_brute_force():
    rng = np.random.default_rng(3)
    n_events, n_queries = 500, 300
    codes = rng.integers(0, 7, n_events)
    times = pd.Series(
        pd.Timestamp("2026-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 90 * 86400, n_events), unit="s")
    )
    values = rng.normal(size=n_events)
    stream = EventStream(codes, times, {"v": values})
    q_codes = rng.integers(0, 8, n_queries)  # code 7 has no events
    q_times = pd.Series(
        pd.Timestamp("2026-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 100 * 86400, n_queries), unit="s")
    )
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
    times = pd.Series(
        pd.Timestamp("2025-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 400 * 86400, n), unit="s")
    )
    values = rng.uniform(0, 2, n)
    stream = EventStream(codes, times, {"v": values})
    q_codes = rng.integers(0, 5, 50)
    end = to_seconds(
        pd.Series(
            pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 420 * 86400, 50), unit="s")
        ),
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
