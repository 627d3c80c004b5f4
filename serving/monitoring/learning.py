"""What the matured lists teach: every customer a matured list assigned (``contact`` or
``holdout``), with the features the list was scored on, the group the draw
put them in, the chance of that draw, the code the team noted for a call that reached them
and whether they complained within the horizon. The rows an uplift model learns from and is
judged on (:mod:`training.uplift`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from data.history import History
from experiments.config import RadarConfig
from features.catalogue import FEATURE_NAMES
from serving.monitoring.monitor import matured_days
from serving.outreach.outcomes import call_notes
from serving.publication import CONTACT, HOLDOUT, SNAPSHOT_FEATURES, published_days, read_list
from training import registry
from training.uplift import (
    CALLS_MADE_WORSE,
    EFFECT_MODIFIERS,
    LEARNERS,
    MIN_NOTES,
    NOTE,
    NOTES_LEARNER,
    UpliftModel,
    calls_made_worse,
    default_learner,
    prevented_difference_interval,
    prevented_interval,
    prevented_rate_interval,
    prevention_score,
    valued_notes,
)


def randomised_rows(
    history: History, published: list[tuple[Date, Path]], config: RadarConfig
) -> pd.DataFrame:
    """One row per assigned customer of each matured list: ``date``, ``customer_id``, the
    snapshot's features, the list's ``probability``, ``contacted``, ``propensity`` (its
    chance of ``contact``; lists from before propensities were recorded: the day's contact
    share), ``chance`` (its chance of the group it is in: what its inverse-probability
    weight inverts), ``outcome_code`` (the code noted for the call that reached a contacted
    customer, from the outcome store; else missing), ``calls_made_worse`` (how many of the
    customer's calls made before the list's cutoff were noted with a code worth below 0) and
    ``complained``."""
    frames = []
    for day in matured_days(history, published, config.labels.horizon_hours, config.evaluation):
        listed = day.listed[day.listed["assignment"].isin([CONTACT, HOLDOUT])]
        if listed.empty:
            continue
        recorded = read_list(day.folder).set_index("customer_id")
        contacted = (listed["assignment"] == CONTACT).to_numpy()
        if "propensity" in recorded.columns:
            # A held-out row records its chance of contact too: the design's, not 0.
            propensity = recorded.loc[listed["customer_id"], "propensity"].to_numpy(dtype=float)
        else:
            propensity = pd.Series(contacted.mean(), index=listed.index).to_numpy()
        # Each row's chance of the group it landed in: ``contact`` is the recorded
        # propensity; ``holdout`` is the same draw's chance of being assigned times the
        # holdout share, i.e. the propensity times holdout/contact of the day (the rows
        # hold only assigned customers: the alternative to contact is not the holdout alone).
        held_per_contact = (~contacted).sum() / max(contacted.sum(), 1)
        chance = np.where(contacted, propensity, propensity * held_per_contact)
        features = pd.read_parquet(day.folder / SNAPSHOT_FEATURES).set_index("customer_id")
        frames.append(
            features.loc[listed["customer_id"]]
            .reset_index()
            .assign(
                date=day.day,
                probability=listed["probability"].to_numpy(dtype=float),
                contacted=contacted,
                propensity=propensity,
                chance=chance,
                complained=listed["label"].to_numpy(dtype=int),
            )
        )
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    notes = call_notes(config.outcomes_url())
    noted = rows[["date", "customer_id"]].merge(notes, how="left", on=["date", "customer_id"])
    return rows.assign(
        **{
            NOTE: noted[NOTE].where(rows["contacted"]).to_numpy(),
            CALLS_MADE_WORSE: calls_made_worse(rows, notes, config.outreach.outcome_values),
        }
    )


def uplift_features(rows: pd.DataFrame) -> list[str]:
    """The catalogue's numeric features present in ``rows`` (what the boosted uplift
    learners read)."""
    return [c for c in FEATURE_NAMES if c in rows and pd.api.types.is_numeric_dtype(rows[c])]


def learner_columns(kind: str, rows: pd.DataFrame) -> list[str]:
    """What an uplift learner reads of ``rows``: the effect modifiers present for the
    ``modifiers`` learner, every numeric feature for the boosted ones (and the profile's
    categories among the modifiers for the ``notes`` learner, whose thousands of calls can
    tell a category's customers apart, and the customer's earlier calls that made things
    worse, which tell who minds a call)."""
    if kind == "modifiers":
        return [c for c in EFFECT_MODIFIERS if c in rows]
    if kind == NOTES_LEARNER:
        numeric = uplift_features(rows)
        modifiers = [c for c in EFFECT_MODIFIERS if c in rows and c not in numeric]
        return [*numeric, *modifiers, *([CALLS_MADE_WORSE] if CALLS_MADE_WORSE in rows else [])]
    return uplift_features(rows)


def fitted_learner(
    kind: str, rows: pd.DataFrame, seed: int, outcome_values: Mapping[str, float]
) -> UpliftModel:
    """The ``kind`` learner fitted on every one of ``rows`` (reading what
    :func:`learner_columns` names)."""
    learner = UpliftModel(
        learner_columns(kind, rows), seed=seed, kind=kind,
        outcome_values=outcome_values if kind == NOTES_LEARNER else None,
    )  # fmt: skip
    return learner.fit(rows, rows["contacted"], rows["complained"], rows["chance"])


def usable_learners(rows: pd.DataFrame, outcome_values: Mapping[str, float]) -> list[str]:
    """The learners ``rows`` can teach: the ``notes`` learner only where they carry enough
    valued notes."""
    enough = valued_notes(rows, outcome_values) >= MIN_NOTES
    return [kind for kind in LEARNERS if kind != NOTES_LEARNER or enough]


@dataclass(frozen=True)
class UpliftResult:
    """What ``radar uplift`` learnt and how the ranking it gives did on later days."""

    version: str
    promoted: bool
    evaluation: dict  # rows, complaints, prevented in the top half by each ranking


@dataclass(frozen=True)
class LearnerChoice:
    """The learner to use, and how each ranked the later days."""

    kind: str
    learnt_on_days: int
    late: pd.DataFrame  # the later days' rows every learner was judged on
    top: int  # how many of them each ranking's top holds (half)
    judged: dict  # learner -> (estimate, 2.5 %, 97.5 %) prevented in its top half
    scores: dict  # learner -> its ranking score of the later rows (expected prevention)


def choose_learner(
    rows: pd.DataFrame, seed: int, outcome_values: Mapping[str, float] | None = None
) -> LearnerChoice:
    """Each learner the rows can teach (:func:`usable_learners`) learns on the earlier two
    thirds of the days of ``rows`` and ranks the latest third, judged by the complaints its
    top half prevented, estimated from those days' randomised groups. The default learner
    (:func:`training.uplift.default_learner`: the one learnt from the calls' notes where the
    team notes valued codes, else the one with the fewest parameters) is chosen unless
    another prevented clearly more (paired 95 % interval above zero; of several, the one that
    prevented most): with few complaints a forest learns noise that can look better by
    chance."""
    days = sorted(rows["date"].unique())
    if len(days) < 2:
        raise ValueError("learning whom a call helps needs matured lists of at least 2 days")
    split = days[max(1, len(days) * 2 // 3)]
    early, late = rows[rows["date"] < split], rows[rows["date"] >= split]
    k = len(late) // 2
    groups = [late[c].to_numpy() for c in ("contacted", "complained", "chance")]
    values = outcome_values or {}
    kinds, default = usable_learners(early, values), default_learner(early, values)
    judged, scores = {}, {}
    for kind in kinds:
        effect = fitted_learner(kind, early, seed, values).predict_effect(late)
        scores[kind] = prevention_score(effect, late["probability"])
        judged[kind] = prevented_interval(scores[kind], *groups, k)
    better = [
        kind
        for kind in kinds
        if kind != default
        and prevented_difference_interval(scores[kind], scores[default], *groups, k)[1] > 0
    ]
    chosen = max(better, key=lambda kind: judged[kind][0]) if better else default
    return LearnerChoice(chosen, max(1, len(days) * 2 // 3), late, k, judged, scores)


def prevented_per_100_calls(rows: pd.DataFrame) -> tuple[float, float, float]:
    """(estimate, 2.5 %, 97.5 %) of the complaints a call prevented per 100 calls over all
    of ``rows`` (their randomised groups, weighted by 1 / ``chance``; see
    :func:`~training.uplift.prevented_rate_interval`)."""
    groups = (rows[c].to_numpy() for c in ("contacted", "complained", "chance"))
    return tuple(100 * v for v in prevented_rate_interval(*groups))


RISK_QUARTERS = ("lowest quarter", "second quarter", "third quarter", "highest quarter")


def effect_groups(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each row's group per effect modifier (the column's name -> a label per row): a
    category's own value, a flag's ``no`` / ``yes``, a cause's amount by halves of the rows,
    and ``risk`` by quarter of the rows."""
    groupings = {c: _groups_of(rows[c]) for c in EFFECT_MODIFIERS if c in rows}
    if len(rows) >= 4:
        quarter = pd.qcut(rows["probability"].rank(method="first"), 4, labels=False).to_numpy()
        groupings["risk"] = np.array(RISK_QUARTERS)[quarter]
    return groupings


def effect_by_group(rows: pd.DataFrame) -> pd.DataFrame:
    """A call's prevention per 100 calls within each of :func:`effect_groups`, from the
    randomised groups alone (no model). One row per group: ``modifier``, ``value``,
    ``rows``, ``complaints``, ``per_100``, ``low``, ``high`` (95 %; NaN where the group lacks
    a contacted or a held-out row). What the rows say about whom a call helps, and how far
    they are from saying it."""
    found = []
    for column, group in effect_groups(rows).items():
        for value in RISK_QUARTERS if column == "risk" else sorted(set(group)):
            part = rows[group == value]
            per_100, low, high = prevented_per_100_calls(part)  # NaN without both groups
            found.append({
                "modifier": column, "value": str(value), "rows": len(part),
                "complaints": int(part["complained"].sum()),
                "per_100": per_100, "low": low, "high": high,
            })  # fmt: skip
    return pd.DataFrame(
        found, columns=["modifier", "value", "rows", "complaints", "per_100", "low", "high"]
    )


def _groups_of(values: pd.Series) -> np.ndarray:
    """A category's own values; a flag as ``no`` / ``yes``; any other number split at the
    rows' median (a decayed count is seldom exactly 0), or into ``0`` and ``> 0`` when at
    least half the rows are 0. A missing value is a group of its own."""
    if not pd.api.types.is_numeric_dtype(values):
        return values.astype("string").fillna("(none)").to_numpy()
    numbers = values.to_numpy(dtype=float)
    known = numbers[~np.isnan(numbers)]
    if set(np.unique(known)) <= {0.0, 1.0}:
        labels = np.where(numbers > 0, "yes", "no")
    else:
        median = float(np.median(known))
        if median == 0:
            labels = np.where(numbers > 0, "> 0", "0")
        else:
            labels = np.where(numbers >= median, f">= {median:.3g}", f"< {median:.3g}")
    return np.where(np.isnan(numbers), "(none)", labels)


def rows_to_tell(
    beyond_risk: tuple[float, float, float], prevented_by_risk: float, gain: float
) -> float | None:
    """How many times the judged rows it would take to tell a ranking that prevents
    ``gain`` more than the ranking by risk from it: the paired interval's half-width
    shrinks as one over the root of the rows, and must fall below that difference. None
    while the ranking by risk is not seen to prevent anything (no difference to size)."""
    difference = gain * prevented_by_risk
    if not difference > 0:
        return None
    half_width = (beyond_risk[2] - beyond_risk[1]) / 2
    return float((half_width / difference) ** 2)


def train_uplift(config: RadarConfig, history: History, min_complaints: int = 20) -> UpliftResult:
    """Learn whom a call helps from every matured list's randomised rows: the learner chosen
    on the latest third of the days (:func:`choose_learner`) is set against the ranking by
    risk on those days, learns again on every day, and is logged and registered,
    ``champion`` only when it prevented clearly more than the risk ranking (the paired 95 %
    interval of the difference above zero: a ranking that only looks better by chance
    would call the wrong customers every day)."""
    rows = randomised_rows(history, published_days(config.workspace.risk_lists_dir), config)
    if rows.empty or rows["complained"].sum() < min_complaints:
        found = 0 if rows.empty else int(rows["complained"].sum())
        raise ValueError(
            f"the matured lists' contact and holdout groups hold {found} complaint(s); "
            f"learning whom a call helps needs at least {min_complaints}: let more lists "
            "mature (or explore: outreach.explore_fraction)"
        )
    values = config.outreach.outcome_values
    choice = choose_learner(rows, config.model.seed, values)
    chosen, late, k = choice.kind, choice.late, choice.top
    names = learner_columns(chosen, rows)
    groups = [late[c].to_numpy() for c in ("contacted", "complained", "chance")]
    by_uplift = choice.judged[chosen]
    by_risk = prevented_interval(late["probability"].to_numpy(), *groups, k)
    beyond_risk = prevented_difference_interval(
        choice.scores[chosen], late["probability"].to_numpy(), *groups, k
    )
    evaluation = {
        "rows": len(rows), "complaints": int(rows["complained"].sum()),
        "valued_notes": valued_notes(rows, values),
        "prevented_per_100_calls": list(prevented_per_100_calls(rows)),
        "rows_to_tell_gain": rows_to_tell(
            beyond_risk, by_risk[0], config.monitoring.uplift_gain_to_tell
        ),
        "learnt_on_days": choice.learnt_on_days, "judged_on_rows": len(late),
        "judged_on_days": int(late["date"].nunique()), "top": k,
        "learners": {kind: list(v) for kind, v in choice.judged.items()}, "learner": chosen,
        "prevented_by_uplift": list(by_uplift), "prevented_by_risk": list(by_risk),
        "prevented_beyond_risk": list(beyond_risk),
        "by_group": effect_by_group(rows).replace({np.nan: None}).to_dict("records"),
    }  # fmt: skip
    model = fitted_learner(chosen, rows, config.model.seed, values)
    client = registry.connect(config)
    with mlflow.start_run(run_name="uplift", tags=registry.owner_tags()):
        mlflow.log_params({
            "learner": chosen, "features": len(names), "rows": len(rows), **model.fitted_params(),
        })  # fmt: skip
        mlflow.log_metrics({
            "prevented_top_half_uplift": by_uplift[0], "prevented_top_half_risk": by_risk[0],
            "prevented_beyond_risk": beyond_risk[0],
            "complaints": evaluation["complaints"],
            "valued_notes": evaluation["valued_notes"],
        })  # fmt: skip
        mlflow.log_dict(evaluation, "uplift_evaluation.json")
        uri = registry.log_uplift_model(model, rows)
    version = registry.register(client, uri, config.registry.uplift_model_name)
    promoted = bool(beyond_risk[1] > 0)
    if promoted:
        registry.set_alias(
            client, config.registry.uplift_model_name, registry.CHAMPION, version.version
        )
    return UpliftResult(str(version.version), promoted, evaluation)
