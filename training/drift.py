"""Population stability: the distribution of each feature and of the score on the training
period, kept with the model, and the PSI of any later population against it.

PSI = sum over bins of (a - e) * ln(a / e), with ``e`` the reference share and ``a`` the
current share of each bin. Continuous values get the reference's deciles as bins, values
with few distinct levels (flags, counts near zero, categories) a bin per level; missing
values are a bin of their own. Shares are floored at 1e-4 so an empty bin stays finite.

Some features move a lot from one week to the next without anything drifting: a region's
incident puts thousands of customers at the same high value for a few days, and a week
with one differs from a week without (PSI 3-5 on a world whose generating process never
changes). So the reference also keeps, per feature, the largest PSI of the training
period's own weeks against the whole period: how far the feature moves over a week when
nothing drifts. Monitoring alerts only on movement beyond that.
"""

from __future__ import annotations

import numpy as np

BINS = 10
MAX_LEVELS = 12  # up to this many distinct values, each is its own bin
FLOOR = 1e-4
REFERENCE_ROWS = 200_000  # a seeded sample bounds the cost on large training sets
WINDOW_DAYS = 7  # the training period's own weeks, for how far a feature moves in one
MIN_WINDOW_ROWS = 200  # a window with fewer rows says more about sampling than movement


def reference_of(values: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """The binned distribution of one feature (or score) on the reference population."""
    values = np.asarray(values, dtype=float)
    weights = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    present = ~np.isnan(values)
    levels = np.unique(values[present])
    if levels.size <= MAX_LEVELS:
        spec: dict = {"levels": levels.tolist()}
    else:
        inner = np.quantile(values[present], np.linspace(0, 1, BINS + 1)[1:-1])
        spec = {"edges": np.unique(inner).tolist()}
    spec["shares"] = _shares(spec, values, weights).tolist()
    return spec


def window_psi(
    reference: dict, values: np.ndarray, days: np.ndarray, weights: np.ndarray | None = None
) -> float | None:
    """The largest PSI of any :data:`WINDOW_DAYS` consecutive days (of ``days``, each row's
    day number; the windows slide a day at a time, so a rare event is seen whole wherever it
    falls) against ``reference``; None with fewer than two windows."""
    values, days = np.asarray(values, dtype=float), np.asarray(days)
    weights = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    # Each row's bin once, then every window's counts as a difference of running per-day
    # counts: one pass over the rows, not one per window.
    index, n_bins = _bin_index(reference, values)
    day = (days - days.min()).astype(np.int64)
    n_days = int(day.max()) + 1
    per_day = np.bincount(
        day * (n_bins + 1) + index, weights=weights, minlength=n_days * (n_bins + 1)
    ).reshape(n_days, n_bins + 1)
    running = np.vstack([np.zeros(n_bins + 1), np.cumsum(per_day, axis=0)])
    rows = np.concatenate([[0], np.cumsum(np.bincount(day, minlength=n_days))])
    found = [
        _psi_of_counts(reference, running[start + WINDOW_DAYS] - running[start])
        for start in range(n_days - WINDOW_DAYS + 1)
        if rows[start + WINDOW_DAYS] - rows[start] >= MIN_WINDOW_ROWS
    ]
    return max(found) if len(found) >= 2 else None


def psi(reference: dict, values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Population stability index of ``values`` (weighted when given) against a
    :func:`reference_of`."""
    values = np.asarray(values, dtype=float)
    weights = np.ones(values.size) if weights is None else np.asarray(weights, dtype=float)
    index, n_bins = _bin_index(reference, values)
    return _psi_of_counts(reference, np.bincount(index, weights=weights, minlength=n_bins + 1))


def _psi_of_counts(reference: dict, counts: np.ndarray) -> float:
    expected = np.maximum(np.asarray(reference["shares"]), FLOOR)
    actual = np.maximum(_share_of(counts), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(spec: dict, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted share of each bin (the last bin: missing values)."""
    index, n_bins = _bin_index(spec, values)
    return _share_of(np.bincount(index, weights=weights, minlength=n_bins + 1))


def _bin_index(spec: dict, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's bin (missing values: the extra last bin) and the number of value bins."""
    missing = np.isnan(values)
    if "levels" in spec:
        levels = np.asarray(spec["levels"], dtype=float)
        # A level never seen in the reference falls in the bin of the nearest level above.
        index = np.minimum(np.searchsorted(levels, values), max(levels.size - 1, 0))
        n_bins = max(levels.size, 1)
    else:
        index = np.searchsorted(np.asarray(spec["edges"]), values, side="right")
        n_bins = len(spec["edges"]) + 1
    return np.where(missing, n_bins, index), n_bins


def _share_of(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts
