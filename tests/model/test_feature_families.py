"""Feature families: each is built from its own streams alone, and asking for some features
gives exactly what the whole catalogue gives for them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.contract import SCHEMAS
from data.load import load_history
from features.build import (
    build_features,
    build_features_in_chunks,
    evaluate_features,
    prepare_history,
    utc_datetime64,
)
from features.catalogue import (
    FAMILIES,
    FAMILIES_BY_NAME,
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    families_of,
)


@pytest.fixture(scope="module")
def world(small_world):
    history, _ = load_history(small_world)
    last = history.observed_until.normalize()
    ids = history.customers["customer_id"].to_numpy()
    stamps = pd.date_range(last - pd.Timedelta(days=20), last, freq="5D").as_unit("ns")
    cutoffs = pd.DataFrame(
        {"customer_id": np.tile(ids, len(stamps)), "cutoff_at": np.repeat(stamps, len(ids))}
    )
    return history, cutoffs, build_features(history, cutoffs)


@pytest.mark.parametrize("family", [f.name for f in FAMILIES])
def test_each_family_alone_gives_its_features_of_the_whole_build(world, family):
    """A family prepared on its own (only the streams it declares) computes the same
    values as in the full build: no family leans on another's streams."""
    history, cutoffs, whole = world
    prepared = prepare_history(history, [family])
    assert prepared.families == (family,)
    out = evaluate_features(
        prepared, prepared.codes(cutoffs["customer_id"]), utc_datetime64(cutoffs["cutoff_at"])
    )
    expected = next(f.features for f in FAMILIES if f.name == family)
    assert set(out) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(np.asarray(out[name]), whole[name].to_numpy(), err_msg=name)


def test_asking_for_some_features_returns_exactly_those(world):
    history, cutoffs, whole = world
    wanted = ["complaints_90d", "contacts_7d", "last_sentiment"]
    some = build_features(history, cutoffs, features=wanted)
    # In catalogue order, whatever order they were asked in.
    assert list(some.columns) == [
        "customer_id",
        "cutoff_at",
        *(n for n in FEATURE_NAMES if n in wanted),
    ]
    pd.testing.assert_frame_equal(some, whole[list(some.columns)], check_exact=True)
    assert families_of(wanted) == ("contact_volume", "sentiment", "complaint_history")
    with pytest.raises(KeyError, match="not in the feature catalogue"):
        build_features(history, cutoffs, features=["contacts_7d", "mood_ring"])


@pytest.mark.parametrize("workers", [1, 3])
def test_partitions_on_threads_equal_the_whole_build(world, workers):
    """Partitions built one at a time or several at once on threads: the same frame."""
    history, cutoffs, whole = world
    parted = build_features_in_chunks(history, cutoffs, rows_per_part=500, workers=workers)
    pd.testing.assert_frame_equal(parted, whole, check_exact=True)
    some = build_features_in_chunks(
        history, cutoffs, rows_per_part=500, workers=workers, features=["unresolved_7d"]
    )
    pd.testing.assert_frame_equal(some, whole[["customer_id", "cutoff_at", "unresolved_7d"]])


@pytest.mark.parametrize("family", [f.name for f in FAMILIES])
def test_families_declare_every_input_they_read(world, family):
    """What a family declares (``needs``, ``reads``, and its features' own needs: what
    ``radar check`` and the partitions go by) is all it reads: with every other column of
    the contract blanked, its features are the same."""
    history, cutoffs, whole = world
    declared = FAMILIES_BY_NAME[family]
    needs = {
        *declared.needs,
        *declared.reads,
        *(n for f in declared.features for n in FEATURES_BY_NAME[f].needs),
    }
    blank = {}
    for table in ("customers", "contacts", "complaints", "events", "incidents"):
        frame = getattr(history, table).copy()
        for column in SCHEMAS[table].column_names:
            keep = f"{table}.{column}" in needs or column == "customer_id"
            if not keep and column not in SCHEMAS[table].key:
                frame[column] = frame[column].iloc[:0].reindex(frame.index)  # all missing
        blank[table] = frame
    out = build_features(replace(history, **blank), cutoffs, declared.features)
    for name in declared.features:
        np.testing.assert_array_equal(out[name].to_numpy(), whole[name].to_numpy(), err_msg=name)
