"""The uplift learner and its evaluation on a tiny randomised experiment whose true effect
is known: a call helps customers with a billing problem and no one else."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.conftest import small_config
from training import registry
from training.uplift import (
    CALLS_MADE_WORSE,
    LEARNERS,
    MIN_NOTES,
    NOTE,
    UpliftModel,
    calls_made_worse,
    default_learner,
    prevented_difference_interval,
    prevented_in_top,
    prevented_interval,
    prevention_score,
    qini_curve,
)


def experiment(
    n: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"billing": rng.random(n) < 0.3, "risk": rng.random(n)}).astype(float)
    base = 0.05 + 0.25 * X["risk"].to_numpy()
    effect = np.where(X["billing"].to_numpy() == 1, -0.6 * base, 0.0)  # the truth
    propensity = np.full(n, 0.5)
    contacted = rng.random(n) < propensity
    complained = rng.random(n) < base + contacted * effect
    return X, contacted, complained, propensity, effect


VALUES = {"issue_resolved": 1.0, "customer_calmed": 0.5, "no_change": 0.0, "customer_upset": -1.0}


def with_notes(X: pd.DataFrame, contacted: np.ndarray, seed: int, error: float = 0.1):
    """The team's notes of the contacted rows' calls in :func:`experiment`'s world: a billing
    problem is resolved by the call, nothing else changes; ``error`` of the notes a code
    drawn at random; a fifth of the calls unanswered (no code worth anything)."""
    rng = np.random.default_rng(seed)
    code = np.where(X["billing"].to_numpy() == 1, "issue_resolved", "no_change").astype(object)
    wrong = rng.random(len(X)) < error
    code[wrong] = rng.choice(list(VALUES), wrong.sum())
    code[rng.random(len(X)) < 0.2] = "no_answer"
    return X.assign(**{NOTE: np.where(contacted, code, None)})


def test_the_learner_finds_whom_a_call_helps():
    X, contacted, complained, propensity, effect = experiment(40_000, 0)
    model = UpliftModel(["billing", "risk"], seed=0).fit(X, contacted, complained, propensity)
    predicted = model.predict_effect(X)
    billing = X["billing"].to_numpy() == 1
    assert predicted[billing].mean() < -0.05 and abs(predicted[~billing].mean()) < 0.02
    assert np.corrcoef(predicted, effect)[0, 1] > 0.5


def test_ranking_by_expected_prevention_beats_ranking_by_risk_on_randomised_rows():
    X, contacted, complained, propensity, effect = experiment(40_000, 1)
    k = 8_000
    by_truth = np.argsort(effect, kind="stable")  # most prevented first
    by_risk = np.argsort(-X["risk"].to_numpy(), kind="stable")
    estimated = prevented_in_top(by_truth, contacted, complained, propensity, k)
    assert estimated == pytest.approx(-effect[by_truth[:k]].sum(), rel=0.25)
    assert estimated > prevented_in_top(by_risk, contacted, complained, propensity, k)
    curve = qini_curve(-effect, contacted, complained, propensity)
    assert curve["prevented"].iloc[2] > curve["prevented"].iloc[-1] * 0.8  # the helped are first
    value, low, high = prevented_interval(-effect, contacted, complained, propensity, k, 100)
    assert low < -effect[by_truth[:k]].sum() < high and low < value < high


def test_the_paired_difference_tells_a_better_ranking_from_chance():
    X, contacted, complained, propensity, effect = experiment(40_000, 5)
    risk = X["risk"].to_numpy()
    groups = (contacted, complained, propensity)
    better = prevented_difference_interval(-effect, risk, *groups, 8_000, 100)
    assert better[1] > 0 and better[1] <= better[0] <= better[2]
    # The same ranking against itself: nothing beyond, exactly.
    assert prevented_difference_interval(risk, risk, *groups, 8_000, 20) == (0.0, 0.0, 0.0)
    # A ranking that differs only by chance is not called better.
    noise = np.random.default_rng(0).random(len(risk))
    assert prevented_difference_interval(noise, risk, *groups, 8_000, 100)[1] < 0


def test_the_anchored_learner_is_not_fooled_by_a_risk_that_lists_miscalibrate():
    # The lists' rows complain twice as often (in odds) as the risk says, called or not;
    # only the billing customers are helped by a call.
    X, contacted, _, propensity, _ = experiment(40_000, 6)
    base = 0.05 + 0.25 * X["risk"].to_numpy()
    odds = 2 * base / (1 - base)
    true_base = odds / (1 + odds)
    billing = X["billing"].to_numpy() == 1
    truth = np.where(billing, -0.6 * true_base, 0.0)
    complained = np.random.default_rng(7).random(len(X)) < true_base + contacted * truth
    rows = X.assign(probability=base)
    model = UpliftModel(["billing", "risk"], seed=0, kind="anchored")
    predicted = model.fit(rows, contacted, complained, propensity).predict_effect(rows)
    assert model.offsets_["holdout"] == pytest.approx(np.log(2), abs=0.1)
    assert abs(predicted[~billing].mean()) < 0.02  # the miscalibration is not a call's effect
    assert predicted[billing].mean() == pytest.approx(truth[billing].mean(), abs=0.03)


def test_the_reasons_for_an_effect_say_in_words_what_moves_it():
    X, contacted, complained, propensity, _ = experiment(20_000, 8)
    model = UpliftModel(["billing", "risk"], seed=0).fit(X, contacted, complained, propensity)
    said = model.effect_reasons(X.head(200), top=1)
    billing = X["billing"].head(200).to_numpy() == 1
    # A billing problem is why a call helps; its absence, why it helps less.
    said = np.asarray(said)
    assert np.mean(said[billing] == "a call helps more: billing (1)") > 0.9
    assert np.mean(said[~billing] == "helps less: billing (0)") > 0.7  # no effect: noise too


def test_explored_rows_weigh_alike_in_both_groups():
    # A list's rows: 2,000 from the top (assigned for sure, 10 % complain) and 2,000 explored
    # from a pool twenty times larger (1 % complain); half of each held out; no call helps.
    rng = np.random.default_rng(9)
    top = np.arange(4000) < 2000
    assigned = np.where(top, 1.0, 0.05)
    contacted = rng.random(4000) < 0.5
    complained = rng.random(4000) < np.where(top, 0.10, 0.01)
    chance = assigned * 0.5  # of contact, and of holdout alike
    everyone = np.arange(4000)
    nothing = prevented_in_top(everyone, contacted, complained, chance, 4000)
    assert abs(nothing) < 0.25 * 4000 * 0.0145  # within noise of no effect
    # Held-out rows weighted by 1 - propensity would see a large effect where there is none.
    wrong = np.where(contacted, chance, 1 - chance)
    assert prevented_in_top(everyone, contacted, complained, wrong, 4000) > 4 * abs(nothing)


def test_an_arm_without_complaints_is_a_clear_error():
    X, contacted, _, propensity, _ = experiment(500, 2)
    with pytest.raises(ValueError, match="no complaint among the"):
        UpliftModel(["billing", "risk"]).fit(X, contacted, np.zeros(500), propensity)


def test_the_anchored_learner_learns_the_shift_from_the_risk_it_is_given():
    X, contacted, complained, propensity, effect = experiment(40_000, 3)
    X = X.assign(probability=0.05 + 0.25 * X["risk"])  # the risk without a call, as a list has it
    model = UpliftModel(["billing", "risk"], seed=0, kind="anchored")
    predicted = model.fit(X, contacted, complained, propensity).predict_effect(X)
    billing = X["billing"].to_numpy() == 1
    assert predicted[billing].mean() < -0.05 and abs(predicted[~billing].mean()) < 0.02
    assert np.corrcoef(predicted, effect)[0, 1] > 0.5
    with pytest.raises(KeyError, match="probability"):
        model.predict_effect(X.drop(columns="probability"))


def test_a_saved_model_predicts_the_same(tmp_path):
    X, contacted, complained, propensity, _ = experiment(5_000, 4)
    X = X.assign(probability=0.05 + 0.25 * X["risk"])
    X = X.assign(age_band=np.where(X["risk"] > 0.5, "18-29", "30-44"))
    X = with_notes(X, contacted, 4)
    for kind in LEARNERS:
        columns = ["billing", "age_band"] if kind == "modifiers" else ["billing", "risk"]
        model = UpliftModel(columns, seed=0, kind=kind, outcome_values=VALUES)
        model.fit(X, contacted, complained, propensity).save(tmp_path / kind)
        again = UpliftModel.load(tmp_path / kind)
        assert again.kind == kind
        assert np.array_equal(again.predict_effect(X), model.predict_effect(X))
        assert again.effect_reasons(X.head(20)) == model.effect_reasons(X.head(20))
    # A notes learner saved without its risk floor (by an earlier version) is refused with
    # what to do, not ranked without one.
    meta = json.loads((tmp_path / "notes" / "uplift.json").read_text())
    del meta["floor"]
    (tmp_path / "notes" / "uplift.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"saved before its risk floor.*run radar uplift again"):
        UpliftModel.load(tmp_path / "notes")


def modifier_experiment(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A call halves the odds of a customer with a billing problem, does nothing for the
    rest, and doubles the odds of the young (who mind being called)."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "billing": (rng.random(n) < 0.3).astype(float),
            "age_band": rng.choice(["18-29", "30-44", "45-64"], n),
            "probability": 0.02 + 0.2 * rng.random(n) ** 2,
        }
    )
    contacted = rng.random(n) < 0.5
    complained = rng.random(n) < true_probability(rows, contacted)
    return rows, contacted, complained


def true_probability(rows: pd.DataFrame, contacted: np.ndarray) -> np.ndarray:
    """Each row's complaint probability in :func:`modifier_experiment`'s world."""
    odds_factor = np.where(rows["billing"] == 1, 0.5, 1.0)
    odds_factor = np.where(rows["age_band"] == "18-29", 2.0, odds_factor)
    base = rows["probability"].to_numpy()
    odds = base / (1 - base) * np.where(contacted, odds_factor, 1.0)
    return odds / (1 + odds)


def test_the_modifiers_learner_finds_whom_a_call_helps_and_whom_it_annoys():
    rows, contacted, complained = modifier_experiment(30_000, 11)
    model = UpliftModel(["billing", "age_band"], kind="modifiers")
    predicted = model.fit(rows, contacted, complained, np.full(len(rows), 0.5)).predict_effect(rows)
    young = rows["age_band"].to_numpy() == "18-29"
    billing = (rows["billing"].to_numpy() == 1) & ~young
    assert predicted[young].mean() > 0.01  # the call adds complaints
    assert predicted[billing].mean() < -0.01
    assert predicted[billing].mean() < predicted[~billing & ~young].mean() - 0.01
    said = model.effect_reasons(rows[young].head(50), top=1)
    assert all(text == "helps less: Age band 18-29" for text in said)
    # Each customer's reasons name their own band, and a cause's absence as such.
    rest = rows[~young & (rows["billing"] == 0)].head(50)
    said = model.effect_reasons(rest, top=2)
    assert all(
        text == f"a call helps more: Age band {band}; helps less: billing (none)"
        for text, band in zip(said, rest["age_band"], strict=True)
    ), said[:3]
    faded = rest.head(1).assign(billing=2.8e-25)  # a decayed count that has all but gone
    assert model.effect_reasons(faded, top=2) == said[:1]
    # The ranking the list would take: the top tenth by expected prevention holds no young.
    top = np.argsort(predicted, kind="stable")[: len(rows) // 10]
    assert young[top].mean() < 0.02


def test_the_modifiers_learner_learns_from_expected_outcomes_what_draws_hide():
    # The same 1,000 rows, learnt once from drawn complaints and once from each row's true
    # probability (what unlimited outcomes of these rows would say): the second finds the
    # effects as well as its additive shift can (the young's annoyance overrides the billing
    # relief, which no sum of the two says); the boosted learners refuse probabilities.
    rows, contacted, complained = modifier_experiment(1_000, 15)
    effect = true_probability(rows, np.ones(len(rows), bool)) - rows["probability"].to_numpy()
    expected = true_probability(rows, contacted)
    chance = np.full(len(rows), 0.5)
    fitted = {
        name: UpliftModel(["billing", "age_band"], kind="modifiers").fit(
            rows, contacted, outcome, chance
        )
        for name, outcome in (("drawn", complained), ("expected", expected))
    }
    match = {n: np.corrcoef(m.predict_effect(rows), effect)[0, 1] for n, m in fitted.items()}
    assert match["expected"] > 0.95 and match["expected"] > match["drawn"] + 0.1, match
    with pytest.raises(ValueError, match="only the 'modifiers' learner learns from prob"):
        UpliftModel(["billing"], kind="anchored").fit(rows, contacted, expected, chance)
    for wrong in (expected + 1, np.where(contacted, np.nan, expected)):
        with pytest.raises(ValueError, match="1, 0 or a probability"):
            UpliftModel(["billing", "age_band"], kind="modifiers").fit(
                rows, contacted, wrong, chance
            )


def test_the_modifiers_learner_without_evidence_ranks_as_the_risk_does():
    # A call lowers everyone's odds alike (by a third): nothing modifies it, so the
    # coefficients stay near 0 and the ranking by expected prevention is the risk's own.
    rows, contacted, _ = modifier_experiment(3_000, 12)
    base = rows["probability"].to_numpy()
    odds = base / (1 - base) * np.where(contacted, 2 / 3, 1.0)
    complained = np.random.default_rng(13).random(len(rows)) < odds / (1 + odds)
    model = UpliftModel(["billing", "age_band"], kind="modifiers").fit(
        rows, contacted, complained, np.full(len(rows), 0.5)
    )
    assert np.abs(model.shift_.coef_).max() < 0.15
    predicted = model.predict_effect(rows)
    by_risk = pd.Series(base).rank().to_numpy()
    by_prevention = pd.Series(-predicted).rank().to_numpy()
    assert np.corrcoef(by_risk, by_prevention)[0, 1] > 0.9
    # A category never seen at fit is the average customer, not an error.
    unseen = rows.head(5).assign(age_band="65+")
    assert np.isfinite(model.predict_effect(unseen)).all()


def test_every_learner_round_trips_through_the_registry(tmp_path):
    # What `radar uplift` registers is what the list and the service load: same effects,
    # same words, for every learner (the modifiers and notes learners' rows carry text
    # categories).
    config = small_config(tmp_path / "ws")
    client = registry.connect(config)
    rows, contacted, complained = modifier_experiment(4_000, 14)
    rows = with_notes(rows.assign(billing_amount=rows["billing"] * 40.0), contacted, 14)
    chance = np.full(len(rows), 0.5)
    for kind in LEARNERS:
        columns = {"modifiers": ["billing", "age_band"], "notes": ["billing", "age_band"]}.get(
            kind, ["billing", "billing_amount"]
        )
        model = UpliftModel(columns, kind=kind, outcome_values=VALUES)
        model.fit(rows, contacted, complained, chance)
        with mlflow.start_run(run_name=f"uplift-{kind}"):
            uri = registry.log_uplift_model(model, rows)
        version = registry.register(client, uri, config.registry.uplift_model_name).version
        loaded = registry.load_uplift_version(config, str(version))
        assert loaded.kind == kind
        assert np.allclose(loaded.predict_effect(rows), model.predict_effect(rows))
        assert loaded.effect_reasons(rows.head(10)) == model.effect_reasons(rows.head(10))
        served = mlflow.pyfunc.load_model(uri).predict(rows[model.input_columns].head(10))
        assert np.allclose(served["expected_effect"], model.predict_effect(rows.head(10)))


def test_the_notes_learner_learns_whom_a_call_helps_from_what_the_calls_did():
    # 2,000 rows, 70 complaints: too few for the learners on complaints to find the billing
    # customers; the 800 notes of the calls say it plainly.
    X, contacted, complained, propensity, effect = experiment(2_000, 16)
    rows = with_notes(X.assign(probability=0.05 + 0.25 * X["risk"]), contacted, 17)
    model = UpliftModel(["billing", "risk"], kind="notes", outcome_values=VALUES)
    predicted = model.fit(rows, contacted, complained, propensity).predict_effect(rows)
    billing = X["billing"].to_numpy() == 1
    # A customer at the risk of one without trouble (the rows' least risky tenth) has
    # nothing a call could settle; above it every billing customer gains.
    troubled = rows["probability"].to_numpy() > model.floor_
    assert 0.05 < model.floor_ < 0.1 and (predicted[~troubled] == 0).all()
    assert (
        predicted[billing & troubled].max() < 0
        and predicted[billing].mean() < 4 * predicted[~billing].mean()
    )
    assert np.corrcoef(predicted, effect)[0, 1] > 0.8
    # Scaled so that over the rows the expected change is the one the groups measured (its
    # likelihood's mean above 0, a hair beyond the ratio itself when prevention is clear).
    measured = complained[contacted].mean() - complained[~contacted].mean()
    assert predicted.mean() == pytest.approx(measured, rel=0.03)
    # Its reasons name what moves the expected code.
    said = np.asarray(model.effect_reasons(rows.head(200), top=1))
    billing, troubled = billing[:200], troubled[:200]
    assert np.mean(said[billing & troubled] == "a call helps more: billing (1)") > 0.9
    assert np.mean(said[~billing & troubled] == "helps less: billing (0)") > 0.5  # noise too
    assert not any("helps more: billing" in text for text in said[~billing])
    assert all("without trouble" in text for text in said[~troubled])


def test_the_notes_learner_needs_valued_notes_and_says_so():
    X, contacted, complained, propensity, _ = experiment(2_000, 18)
    rows = with_notes(X.assign(probability=0.05 + 0.25 * X["risk"]), contacted, 19)
    assert default_learner(rows, VALUES) == "notes"
    assert default_learner(rows, {"callback_scheduled": 1.0}) == "modifiers"
    assert default_learner(rows.drop(columns=NOTE), VALUES) == "modifiers"
    with pytest.raises(ValueError, match="needs what each code is worth"):
        UpliftModel(["billing"], kind="notes")
    few = rows.assign(**{NOTE: np.where(np.arange(len(rows)) < MIN_NOTES, rows[NOTE], None)})
    with pytest.raises(ValueError, match=f"the 'notes' learner needs at least {MIN_NOTES}"):
        UpliftModel(["billing"], kind="notes", outcome_values=VALUES).fit(
            few, contacted, complained, propensity
        )
    # Where the complaints show no prevention (the contacted complain more), the notes still
    # say whom a call helps more, but how much shrinks towards nothing: the scale's estimate
    # is its likelihood's mean above 0.
    fitted = UpliftModel(["billing"], kind="notes", outcome_values=VALUES)
    fitted.fit(rows, contacted, complained, propensity)
    worse = complained | (contacted & (np.random.default_rng(21).random(len(rows)) < 0.1))
    model = UpliftModel(["billing"], kind="notes", outcome_values=VALUES)
    effect = model.fit(rows, contacted, worse, propensity).predict_effect(rows)
    assert 0 < model.scale_ < fitted.scale_ / 3
    billing = rows["billing"].to_numpy() == 1
    assert effect[billing].mean() < effect[~billing].mean() <= 0
    # A model that expects no effect (none at all) leaves a list ranked by it in the order
    # of the risk, and so does the one score every ranking by expected prevention is judged by.
    effect = np.zeros(len(rows))
    risk = np.random.default_rng(20).random(len(rows))
    order = np.argsort(-prevention_score(effect, risk), kind="stable")
    assert np.array_equal(order, np.argsort(-risk, kind="stable"))
    tiny = np.where(np.arange(len(rows)) == 5, -1e-6, 0.0)  # the least effect a list shows
    assert np.argsort(-prevention_score(tiny, risk), kind="stable")[0] == 5


def test_the_notes_learner_reads_a_category_and_names_it():
    # A call annoys the young (they note it upset them) and resolves the rest's billing
    # problems: the classifier tells the bands apart and says so in words.
    rows, contacted, complained = modifier_experiment(6_000, 20)
    young = rows["age_band"].to_numpy() == "18-29"
    code = np.where(young, "customer_upset", np.where(rows["billing"] == 1, "issue_resolved",
                                                       "no_change"))  # fmt: skip
    rows = rows.assign(**{NOTE: np.where(contacted, code, None)})
    model = UpliftModel(["billing", "age_band"], kind="notes", outcome_values=VALUES)
    predicted = model.fit(rows, contacted, complained, np.full(len(rows), 0.5)).predict_effect(rows)
    assert model.levels_ == {"age_band": ["18-29", "30-44", "45-64"]}
    assert model.scale_ > 0  # the young's complaints outweigh the rest's: both say so
    billing = rows["billing"].to_numpy() == 1
    troubled = rows["probability"].to_numpy() > model.floor_  # else nothing to settle
    assert (predicted[~troubled] == 0).all()
    assert predicted[young & troubled].min() > 0 > predicted[billing & ~young & troubled].max()
    assert (np.abs(predicted) <= rows["probability"].to_numpy()).all()  # never beyond the risk
    said = model.effect_reasons(rows[young & troubled].head(20), top=1)
    assert all(text == "helps less: Age band 18-29" for text in said), said[:3]
    # A band never seen at fit is read as missing, not an error.
    assert np.isfinite(model.predict_effect(rows.head(3).assign(age_band="65+"))).all()


def test_the_notes_learner_moves_the_log_odds_towards_a_customer_without_trouble():
    # Every reached call noted alike: the effect follows from the risk alone. Above the
    # floor (the risk of the rows' least risky tenth), a code worth 1 takes the customer
    # down to it and one worth 0.5 halfway in log-odds, so the riskier gain more than in
    # proportion to their risk (one more problem adds alike to the log-odds).
    X, contacted, complained, propensity, _ = experiment(2_000, 22)
    rows = X.assign(probability=0.01 + 0.3 * X["risk"] ** 2)
    risk = rows["probability"].to_numpy()
    for code, worth in (("issue_resolved", 1.0), ("customer_calmed", 0.5)):
        noted = rows.assign(**{NOTE: np.where(contacted, code, None)})
        model = UpliftModel(["billing"], kind="notes", outcome_values=VALUES)
        effect = model.fit(noted, contacted, complained, propensity).predict_effect(noted)
        assert model.floor_ == pytest.approx(np.quantile(risk, 0.1), rel=0.05)
        troubled = risk > model.floor_
        assert (effect[~troubled] == 0).all() and (effect[troubled] < 0).all()
        said = np.asarray(model.effect_reasons(noted))
        assert all(t.endswith("that of a customer without trouble") for t in said[~troubled])
        logit = np.log(risk / (1 - risk))
        floor = np.log(model.floor_ / (1 - model.floor_))
        settled = risk - 1 / (1 + np.exp(-(logit - worth * (logit - floor))))
        assert np.allclose(effect[troubled], -model.scale_ * settled[troubled])
        order = np.argsort(risk[troubled])
        share = (effect[troubled] / risk[troubled])[order]
        assert (np.diff(share) <= 1e-12).all() and share[-1] < share[len(share) // 2] < share[0]


def test_the_notes_learner_grows_as_many_trees_as_the_notes_can_teach():
    # Notes that say whom a call helps keep the held-out log-loss falling for dozens of
    # trees; codes drawn at random stop it within a few (no noise learnt).
    X, contacted, complained, propensity, _ = experiment(2_000, 16)
    rows = with_notes(X.assign(probability=0.05 + 0.25 * X["risk"]), contacted, 17)
    telling = UpliftModel(["billing", "risk"], kind="notes", outcome_values=VALUES)
    telling.fit(rows, contacted, complained, propensity)
    drawn = np.random.default_rng(3).choice(list(VALUES), len(rows), p=[0.3, 0.3, 0.3, 0.1])
    noise = rows.assign(**{NOTE: np.where(contacted, drawn, None)})
    random = UpliftModel(["billing", "risk"], kind="notes", outcome_values=VALUES)
    random.fit(noise, contacted, complained, propensity)
    trees = [model.fitted_params()["notes_trees"] for model in (random, telling)]
    assert trees[0] < 15 < 30 < trees[1] <= telling.settings.n_estimators


def test_earlier_calls_that_made_things_worse_are_counted_before_the_day_only():
    day = pd.Timestamp("2026-03-10", tz="UTC")  # a list of the day is made at its midnight
    made = [
        day - pd.Timedelta(days=3),
        day - pd.Timedelta(minutes=1),
        day,
        day + pd.Timedelta(hours=9),
        day - pd.Timedelta(days=2),
        day - pd.Timedelta(days=5),
    ]
    notes = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "c"],
        NOTE: ["customer_upset"] * 4 + ["issue_resolved", "no_change"],
        "contacted_at": made,
        # The call at 09:00 came from the day before's list: still made after the cutoff.
        "date": [t.date() for t in made[:3]] + [(day - pd.Timedelta(days=1)).date()]
        + [t.date() for t in made[4:]],
    })  # fmt: skip
    at = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d"],
                       "date": [d.date() for d in (day, day - pd.Timedelta(days=2), day, day,
                                                   day)]})  # fmt: skip
    # Calls from the day's cutoff on are not counted (a list made then could not know
    # them), nor codes worth 0 or more, nor codes not valued at all.
    assert calls_made_worse(at, notes, VALUES).tolist() == [2, 1, 0, 0, 0]
    assert calls_made_worse(at, notes, {"customer_upset": 0.0}).tolist() == [0] * 5
    assert calls_made_worse(at.head(0), notes, VALUES).tolist() == []


def test_the_notes_learner_learns_who_minds_a_call_from_their_earlier_calls():
    # A third of the customers mind being called (their calls are noted as upsetting them);
    # for most of them an earlier call said so already. The rest's billing problems are
    # resolved by a call. The learner lets the earlier calls turn the expected effect around.
    X, contacted, complained, propensity, _ = experiment(6_000, 24)
    rng = np.random.default_rng(25)
    minds = rng.random(len(X)) < 1 / 3
    earlier = np.where(minds & (rng.random(len(X)) < 0.7), rng.integers(1, 3, len(X)), 0)
    earlier[~minds & (rng.random(len(X)) < 0.05)] = 1  # a wrong note, now and then
    code = np.where(minds, "customer_upset",
                    np.where(X["billing"] == 1, "issue_resolved", "no_change"))  # fmt: skip
    rows = X.assign(probability=0.05 + 0.25 * X["risk"], **{CALLS_MADE_WORSE: earlier})
    rows = rows.assign(**{NOTE: np.where(contacted, code, None)})
    model = UpliftModel(["billing", CALLS_MADE_WORSE], kind="notes", outcome_values=VALUES)
    effect = model.fit(rows, contacted, complained, propensity).predict_effect(rows)
    troubled = rows["probability"].to_numpy() > model.floor_
    billing = X["billing"].to_numpy() == 1
    told, untold = troubled & (earlier > 0), troubled & (earlier == 0)
    assert effect[told].mean() > 0 > effect[untold & billing].mean()
    assert effect[told & billing].mean() > effect[untold & billing].max()
    # In words: the earlier calls hold the effect back for those they told about, and let
    # it be for the others.
    said = pd.Series(model.effect_reasons(rows[troubled], top=2), index=np.flatnonzero(troubled))
    worse = "helps less: Earlier calls noted as making things worse"
    assert said[told[troubled]].str.contains(worse).all()
    clear = said[untold[troubled]].str.contains(
        "a call helps more: .*Earlier calls noted as making things worse \\(0\\)", regex=True
    )
    assert clear.mean() > 0.9
