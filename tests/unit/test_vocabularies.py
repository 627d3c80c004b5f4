"""Per-value features count the data's own most frequent values, learnt at training; the
rest are pooled, and reason texts quote the values themselves."""

from __future__ import annotations

import pandas as pd

from experiments.config import RadarConfig
from features.build import build_features, build_features_in_chunks
from features.catalogue import REASON_SLOTS, REASONS_BY_CODE, reason_feature, value_label
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters, most_frequent
from tests.conftest import T0, make_history, ts
from training.dataset import Periods, resolve_parameters

# A courier's risk factors: one frequent, one less so, and a long tail.
FACTORS = ["category 55"] * 4 + ["lost parcel"] * 2 + [f"factor {i}" for i in range(12)]


def courier_history():
    return make_history(
        contacts=[
            {"started_at": ts(f"-{1 + i % 20}D"), "closed_at": None, "reason": reason}
            for i, reason in enumerate(FACTORS)
        ]
    )


def test_the_most_frequent_values_get_slots_and_the_rest_are_pooled():
    history = courier_history()
    cutoffs = pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})
    learnt = DEFAULT_PARAMETERS.with_vocabularies(history.contacts, history.events)
    row = build_features(history, cutoffs, parameters=learnt).iloc[0]
    assert row[reason_feature("1")] == 4  # category 55
    assert row[reason_feature("2")] == 2  # lost parcel
    # Slots 3..10 hold the first eight of the tail (ties: alphabetical), the rest pool.
    assert all(row[reason_feature(str(i))] == 1 for i in range(3, REASON_SLOTS + 1))
    assert row[reason_feature("other")] == 12 - (REASON_SLOTS - 2)
    assert learnt.reasons[:3] == ("category 55", "lost parcel", "factor 0")
    assert learnt.reasons == most_frequent(history.contacts["reason"], REASON_SLOTS)


def test_without_a_learnt_vocabulary_every_value_is_pooled():
    """An ad-hoc build never learns slots from the history it is given (later data would
    choose them): without a model's vocabulary, every value counts as other."""
    row = build_features(
        courier_history(), pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})
    ).iloc[0]
    assert row[reason_feature("1")] == 0 and row[reason_feature("other")] == len(FACTORS)


def test_a_model_s_vocabulary_decides_the_slots():
    """The list and the service count what the model learnt, whatever today's data ranks."""
    history = courier_history()
    cutoffs = pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})
    learnt = FeatureParameters.from_dict(
        DEFAULT_PARAMETERS.as_dict() | {"reasons": ["lost parcel", "unheard of"]}
    )
    row = build_features_in_chunks(history, cutoffs, parameters=learnt).iloc[0]
    assert row[reason_feature("1")] == 2 and row[reason_feature("2")] == 0
    assert row[reason_feature("other")] == len(FACTORS) - 2


def test_vocabularies_are_learnt_from_the_train_period_only():
    day = pd.Timestamp
    periods = Periods(
        train=(day("2026-01-10", tz="UTC"), day("2026-02-28", tz="UTC")),
        validation=(day("2026-03-03", tz="UTC"), day("2026-03-15", tz="UTC")),
        test=(day("2026-03-18", tz="UTC"), day("2026-03-30", tz="UTC")),
    )
    early = [{"started_at": day("2026-02-01", tz="UTC"), "reason": "billing"}]
    late = [{"started_at": day("2026-03-10", tz="UTC"), "reason": "new product"}] * 5
    history = make_history(contacts=early + late, observed_until=day("2026-04-01", tz="UTC"))
    parameters = resolve_parameters(history, periods, RadarConfig())
    assert parameters.reasons == ("billing",)
    assert FeatureParameters.from_dict(parameters.as_dict()) == parameters


def test_reason_texts_quote_the_data_s_own_values():
    text = REASONS_BY_CODE["CONTACT_TOPIC"].text
    values = {
        reason_feature("1"): 1.0,
        reason_feature("2"): 4.0,
        value_label(reason_feature("1")): "billing",
        value_label(reason_feature("2")): "category 55",
    }
    assert text(values) == "4 contacts about 'category 55' in the last 30 days"
    assert text({reason_feature("other"): 2.0}) == (
        "2 contacts about other values in the last 30 days"
    )
