"""Feature parameters (long waits, very negative sentiment, outcome costs, queued channels):
configured or estimated from the training period only, and used by every feature build."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from data.contract import COMPLAINTS
from experiments.config import FeatureConfig, RadarConfig
from features.build import build_features
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters, estimate_parameters
from tests.conftest import T0, make_history, ts
from training.dataset import Periods, resolve_parameters

ESTIMATE_ALL = FeatureConfig(
    long_wait_minutes=None, very_negative_sentiment=None, sentiment_outcome_cost=None
)


def contacts_with_known_costs(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Contacts whose sentiment drops 40 points when unresolved, 20 when the wait was long
    and 5 when transferred, around a mood of 10."""
    rng = np.random.default_rng(seed)
    wait = rng.exponential(600, n)
    channel = rng.choice(["phone", "email"], n)
    resolved = rng.random(n) < 0.7
    transferred = rng.random(n) < 0.2
    long_wait_seconds = np.quantile(wait[channel == "phone"], 0.9)
    long = (wait > long_wait_seconds) & (channel == "phone")
    sentiment = 10 - 40 * ~resolved - 20 * long - 5 * transferred + rng.normal(0, 3, n)
    return pd.DataFrame(
        {
            "channel": channel,
            "wait_seconds": wait,
            "resolved": resolved,
            "transferred": transferred,
            "sentiment": sentiment,
        }
    )


def test_configured_values_are_kept():
    parameters = estimate_parameters(contacts_with_known_costs(), FeatureConfig())
    assert parameters == DEFAULT_PARAMETERS
    assert parameters.long_wait_seconds == 1800 and parameters.very_negative_sentiment == -80


def test_null_values_are_estimated_from_the_contacts():
    contacts = contacts_with_known_costs()
    parameters = estimate_parameters(contacts, ESTIMATE_ALL)
    phone_waits = contacts.loc[contacts["channel"] == "phone", "wait_seconds"]
    assert parameters.long_wait_seconds == pytest.approx(phone_waits.quantile(0.9))
    assert parameters.very_negative_sentiment == pytest.approx(contacts["sentiment"].quantile(0.05))
    cost = parameters.cost
    assert cost["unresolved"] == pytest.approx(40, abs=1)
    assert cost["long_wait"] == pytest.approx(20, abs=1)
    assert cost["transferred"] == pytest.approx(5, abs=1)


def test_without_the_data_an_estimate_falls_back_to_the_default():
    parameters = estimate_parameters(pd.DataFrame({"channel": ["phone"]}), ESTIMATE_ALL)
    assert parameters == DEFAULT_PARAMETERS


def test_a_null_without_a_training_period_is_a_clear_error():
    with pytest.raises(ValueError, match=r"features\.very_negative_sentiment must be estimated"):
        FeatureParameters.configured(FeatureConfig(very_negative_sentiment=None))


def test_parameters_round_trip_as_json():
    parameters = estimate_parameters(contacts_with_known_costs(), ESTIMATE_ALL)
    assert FeatureParameters.from_dict(parameters.as_dict()) == parameters


def test_estimates_see_only_contacts_closed_before_the_train_period_ends():
    """Point in time: what happens in validation and test never shapes the thresholds."""
    early = contacts_with_known_costs(2000, seed=1)
    early["closed_at"] = pd.Timestamp("2026-02-01", tz="UTC")
    later = contacts_with_known_costs(2000, seed=2)
    later["closed_at"] = pd.Timestamp("2026-03-20", tz="UTC")
    day = pd.Timestamp
    periods = Periods(
        train=(day("2026-01-10", tz="UTC"), day("2026-02-28", tz="UTC")),
        validation=(day("2026-03-03", tz="UTC"), day("2026-03-15", tz="UTC")),
        test=(day("2026-03-18", tz="UTC"), day("2026-03-30", tz="UTC")),
    )

    def resolved(future: pd.DataFrame) -> FeatureParameters:
        contacts = pd.concat([early, future], ignore_index=True)
        contacts["started_at"] = contacts["closed_at"] - pd.Timedelta(hours=1)
        events = pd.DataFrame(
            {
                "occurred_at": pd.Series(dtype="datetime64[ns, UTC]"),
                "event_type": pd.Series(dtype=str),
            }
        )
        history = SimpleNamespace(
            contacts=contacts, events=events, complaints=COMPLAINTS.empty(), derived=frozenset()
        )
        return resolve_parameters(history, periods, RadarConfig(features=ESTIMATE_ALL))

    wilder = later.assign(
        wait_seconds=later["wait_seconds"] * 50, sentiment=-100.0, channel="carrier pigeon"
    )
    assert resolved(later) == resolved(wilder)
    thresholds = replace(
        resolved(later), channels=None, reasons=None, event_types=None, lookback_days=None
    )
    assert thresholds == estimate_parameters(early, ESTIMATE_ALL)
    assert set(resolved(later).channels) == {"email", "phone"}  # the pigeons came later


def test_features_are_built_with_the_parameters_given():
    history = make_history(
        contacts=[
            {
                "started_at": ts("-3D"),
                "closed_at": ts("-3D") + pd.Timedelta("1h"),
                "wait_seconds": 1200.0,
                "sentiment": -70.0,
            },
            {
                "started_at": ts("-2D"),
                "closed_at": ts("-2D") + pd.Timedelta("1h"),
                "wait_seconds": 1200.0,
                "channel": "email",
                "sentiment": -70.0,
            },
        ]
    )
    cutoffs = pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})
    default = build_features(history, cutoffs).iloc[0]
    assert default["long_waits_30d"] == 0 and default["very_negative_contacts_30d"] == 0
    stricter = FeatureParameters(
        queued_channels=("phone",),
        long_wait_seconds=900.0,
        very_negative_sentiment=-60.0,
        sentiment_outcome_cost=DEFAULT_PARAMETERS.sentiment_outcome_cost,
    )
    strict = build_features(history, cutoffs, parameters=stricter).iloc[0]
    assert strict["long_waits_30d"] == 1  # the email's wait is a response time, not a queue
    assert strict["very_negative_contacts_30d"] == 2
    everything_queues = FeatureParameters(
        queued_channels=("phone", "email"),
        long_wait_seconds=900.0,
        very_negative_sentiment=-60.0,
        sentiment_outcome_cost=DEFAULT_PARAMETERS.sentiment_outcome_cost,
    )
    assert (
        build_features(history, cutoffs, parameters=everything_queues).iloc[0]["long_waits_30d"]
        == 2
    )
