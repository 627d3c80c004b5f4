"""One typed, frozen configuration object, loaded from a YAML file in ``experiments/``.

Unknown keys are rejected, so a typo in an experiment file fails loudly instead of
silently training with a default.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXPERIMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = EXPERIMENTS_DIR / "default.yaml"
CONFIG_ENV = "RADAR_CONFIG"
WORKSPACE_ENV = "RADAR_WORKSPACE"


class Environment(BaseSettings):
    """The environment variables the product reads, in one place (read when a config is
    loaded or a service starts, never at import)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    radar_config: Path | None = Field(None, description="The experiment YAML (--config).")
    radar_workspace: Path | None = Field(None, description="Replaces workspace.root.")
    radar_api_token: SecretStr | None = Field(
        None, description="The service's bearer token (else serving.token_file; neither: open)."
    )
    radar_outcomes_url: SecretStr | None = Field(
        None, description="The outcome database's URL (a password stays out of the YAML)."
    )
    radar_journal_url: SecretStr | None = Field(
        None, description="The event journal's database URL (shared by the service's replicas)."
    )
    mlflow_tracking_uri: str | None = Field(None, description="Another MLflow store.")
    radar_bentoml_timeout: str | None = Field(
        None, description="'stock' keeps BentoML's own timeout middleware (benchmarks only)."
    )


@cache
def user_tracking_uri() -> str | None:
    """The user's MLflow store, read the first time it is asked for (before any MLflow call:
    ``mlflow.set_tracking_uri`` writes the same variable, so a later read would return
    whatever store was used last)."""
    return Environment().mlflow_tracking_uri


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceConfig(_Frozen):
    """Where output goes."""

    root: Path = Field(
        Path("workspace"),
        description="Git-ignored folder for all output: MLflow store, worlds, runs, lists.",
    )

    @property
    def world_dir(self) -> Path:
        return self.root / "world"

    @property
    def mlflow_uri(self) -> str:
        return user_tracking_uri() or f"sqlite:///{(self.root / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        return (self.root / "mlartifacts").resolve()

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def risk_lists_dir(self) -> Path:
        return self.root / "risk_lists"

    @property
    def rejects_dir(self) -> Path:
        """Rows set aside, one folder per writer, each replaced whole by its next run."""
        return self.root / "rejects"

    @property
    def data_rejects_dir(self) -> Path:
        """The last data load's rejected rows (a CSV per table) and its report."""
        return self.rejects_dir / "data"

    @property
    def outcome_rejects_dir(self) -> Path:
        """The last outcome import's rejected rows and its report."""
        return self.rejects_dir / "outcomes"

    @property
    def journal_path(self) -> Path:
        """Events posted to the service, folded into the next `radar score`."""
        return self.root / "events.db"

    @property
    def monitoring_dir(self) -> Path:
        """`radar monitor`'s report and JSON."""
        return self.root / "monitoring"

    @property
    def monitoring_file(self) -> Path:
        """`radar monitor`'s findings (the service reads them into its gauges)."""
        return self.monitoring_dir / "monitoring.json"

    @property
    def spark_dir(self) -> Path:
        """The Spark engine's Parquet output, when ``spark.output`` names no other place."""
        return self.root / "spark"

    @property
    def outcomes_path(self) -> Path:
        """Outreach outcomes, when ``outreach.outcomes_url`` names no other database."""
        return self.root / "outcomes.db"


class DataConfig(_Frozen):
    """How input data is read, and the limits that stop a run when it is empty or mostly rejected."""

    min_rows: dict[str, int] = Field(
        default_factory=lambda: {"customers": 1, "contacts": 1},
        description="Fewest valid rows a table must keep after validation (table -> rows).",
    )
    max_reject_fraction: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Largest share of a table's rows that may be set aside before the run stops.",
    )
    mapping: Path | None = Field(
        None,
        description="YAML mapping of the export's own files, column names, values and time "
        "formats to the contract (see data/mapping.py; `--mapping` on the command line).",
    )


class SimulationConfig(_Frozen):
    """The synthetic world of `radar simulate` and `radar demo`."""

    customers: int = Field(
        12000,
        ge=10,
        description="Customers in the world (3000 also works, but its 28-day test period is "
        "too small to tell apart AP differences under ~15 %).",
    )
    days: int = Field(150, ge=14, description="Days simulated.")
    seed: int = Field(7, description="Same seed, same world.")
    start: date = Field(date(2026, 1, 1), description="First simulated day (UTC).")
    truth_paths: int = Field(
        16, ge=1, description="Monte Carlo paths per customer-day for the true risk."
    )
    truth_days: int | None = Field(
        35,
        ge=1,
        description="True risk only for the last N daily cutoffs (the test period); null: every day.",
    )


# The longest a complaint counts as open when no complaint of the training period has a
# resolution time to learn from: a week.
DEFAULT_OPEN_COMPLAINT_DAYS = 7.0


class LabelConfig(_Frozen):
    """What is predicted, and for whom."""

    horizon_hours: int = Field(48, ge=1, description="Predict a complaint in (t, t + horizon].")
    exclude_open_complaints: bool = Field(
        True, description="Customers with an open complaint are not scored."
    )
    open_complaint_days: float | None = Field(
        None,
        gt=0,
        le=36_500,
        description="The longest a complaint counts as open, resolved or not (null: the time "
        "within which nine in ten of the training period's resolved complaints were resolved, "
        f"else {DEFAULT_OPEN_COMPLAINT_DAYS:g}); never for ever, so a customer who complained "
        "is scored again.",
    )


class SplitConfig(_Frozen):
    """Out-of-time periods, oldest first: warm-up | train | gap | validation | gap | test."""

    start: date | Literal["auto"] | None = Field(
        None,
        description="First day of the warm-up (null: the first contact, event or complaint; "
        "auto: the first day from which the data is dense, past a few stray early rows).",
    )
    warmup_days: int = Field(
        30,
        ge=1,
        description="First days only feed features; also the look-back of every feature: "
        "longer windows are left out of the model and the latest X older than this counts as "
        "none, so every training day sees as much history as the scored days.",
    )
    validation_days: int = Field(21, ge=3, description="Early stopping and calibration.")
    test_days: int = Field(28, ge=3, description="Judged beside the peers; never used to choose.")
    gap_hours: int = Field(48, ge=0, description="Gap between periods; at least the horizon.")


class FeatureConfig(_Frozen):
    """Thresholds and costs some features need: a value, or null to estimate it when training.

    Estimated on the training period; either way the resolved values are stored with the
    model, so the list and the service build features as training did."""

    queued_channels: list[str] = Field(
        default_factory=lambda: ["phone", "chat", "app", "branch", "other"],
        description="Channels where customers wait in a queue; only their waits can be long "
        "(email and social answer later: a response time, not a queue).",
    )
    long_wait_minutes: float | None = Field(
        30.0,
        gt=0,
        description="A queued wait over this is a long wait (null: the 90th percentile of "
        "queued waits in the training period).",
    )
    very_negative_sentiment: float | None = Field(
        -80.0,
        ge=-100,
        le=100,
        description="Sentiment below this is very negative (null: the 5th percentile of "
        "sentiment in the training period).",
    )
    sentiment_outcome_cost: dict[str, float] | None = Field(
        default_factory=lambda: {"unresolved": 30.0, "long_wait": 25.0, "transferred": 10.0},
        description="Sentiment points a contact's own outcome costs, added back to read the "
        "mood before it (null: estimated by least squares on the training period's contacts).",
    )

    @model_validator(mode="after")
    def _costs_name_outcomes(self) -> FeatureConfig:
        cost = self.sentiment_outcome_cost
        if cost is not None and set(cost) != set(CONTACT_OUTCOMES):
            raise ValueError(
                f"features.sentiment_outcome_cost must give exactly {list(CONTACT_OUTCOMES)}; got {sorted(cost)}"
            )
        return self


# The contact outcomes whose sentiment cost is added back (see FeatureConfig).
CONTACT_OUTCOMES = ("unresolved", "long_wait", "transferred")


class ModelConfig(_Frozen):
    """LightGBM settings (the one place their defaults are declared)."""

    num_leaves: int = Field(7, ge=2, description="Leaves per tree (small trees explain fast).")
    max_depth: int = Field(4, ge=-1, description="Tree depth limit (-1: none).")
    learning_rate: float = Field(0.03, gt=0, le=1, description="Shrinkage per tree.")
    n_estimators: int = Field(1500, ge=1, description="Most trees; early stopping picks fewer.")
    early_stopping_rounds: int = Field(
        100, ge=1, description="Stop after this many trees without a better validation loss."
    )
    min_child_samples: int = Field(200, ge=1, description="Fewest rows in a leaf.")
    subsample: float = Field(0.8, gt=0, le=1, description="Share of rows per tree.")
    colsample_bytree: float = Field(0.8, gt=0, le=1, description="Share of features per tree.")
    reg_lambda: float = Field(1.0, ge=0, description="L2 penalty on leaf values.")
    min_positives_per_leaf: float = Field(
        0.0,
        ge=0,
        description="Raise min_child_samples so a leaf holds this many positives on average at "
        "the training rate (scales leaves with the number of positives; 0: off).",
    )
    monotone_constraints: bool = Field(
        True, description="Use the catalogue's known risk directions."
    )
    seed: int = Field(42, description="Seed of the booster, sampling and peers.")


class SamplingConfig(_Frozen):
    """Which eligible customer-days become rows, chosen before any feature is built.

    Negatives of the train and validation periods may be sampled; each kept negative
    carries the weight 1/rate, so training, early stopping and calibration still see the
    natural class prior. The test period is judged on every eligible day of a uniform
    sample of customers (all of them by default).
    """

    train_negative_rate: float = Field(
        1.0, gt=0, le=1, description="Share of train-period negatives kept (weighted 1/rate)."
    )
    validation_negative_rate: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of validation-period negatives kept (weighted 1/rate).",
    )
    test_customer_fraction: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Uniform share of customers whose test-period days are evaluated "
        "(the intervals then resample customers as well as days).",
    )
    seed: int = Field(0, description="Seed of the sampling (recorded with the run).")


class SearchConfig(_Frozen):
    """A small hyperparameter grid, each trial a nested MLflow run, judged on validation."""

    enabled: bool = Field(
        False, description="`radar train` searches first and trains with the best trial."
    )
    metric: Literal["average_precision", "roc_auc"] = Field(
        "average_precision", description="Judged on the validation period, never on test."
    )
    grid: dict[str, list[float | int | bool]] = Field(
        default_factory=lambda: {
            "num_leaves": [7, 15],
            "min_child_samples": [200, 500],
            "reg_lambda": [1.0, 10.0],
        },
        description="model.* keys and the values to try; every combination is one trial.",
    )

    @model_validator(mode="after")
    def _grid_names_model_keys(self) -> SearchConfig:
        unknown = sorted(set(self.grid) - set(ModelConfig.model_fields))
        if unknown:
            raise ValueError(f"search.grid keys must be model settings; unknown: {unknown}")
        empty = sorted(k for k, v in self.grid.items() if not v)
        if empty:
            raise ValueError(f"search.grid lists must not be empty: {empty}")
        return self


MODEL_KINDS = ("lightgbm", "linear")


class Candidate(_Frozen):
    """One model `radar train` may choose: LightGBM with some ``model:`` settings changed,
    or the sign-constrained logistic regression with its L2 strength ``c``."""

    name: str
    kind: Literal["lightgbm", "linear"]
    model: ModelConfig
    c: float = 0.1
    max_train_positives: int | None = None  # fitted only when positives are this few


class SelectionConfig(_Frozen):
    """The candidate models `radar train` fits and chooses between on the validation period."""

    metric: Literal["average_precision", "roc_auc"] = Field(
        "average_precision",
        description="Validation metric that chooses (the test period is never used to choose).",
    )
    candidates: dict[str, dict[str, float | int | bool | str]] = Field(
        default_factory=lambda: {
            "logistic_regression": {"kind": "linear", "c": 0.1},
            "lightgbm_regularised": {
                "num_leaves": 3,
                "max_depth": 2,
                "min_positives_per_leaf": 5.0,
                "reg_lambda": 20.0,
                "colsample_bytree": 0.5,
                "max_train_positives": 2000,
            },
            "lightgbm": {},
        },
        description="Name -> the model: settings it changes (kind: lightgbm, the default), or "
        "kind: linear with c (inverse L2 strength); max_train_positives: fitted only when the "
        "train period has at most this many positives. Simplest first: the first whose "
        "validation metric is not clearly below the best's (paired 95 % interval) is chosen.",
    )

    @model_validator(mode="after")
    def _candidates_are_known(self) -> SelectionConfig:
        if not self.candidates:
            raise ValueError("selection.candidates must name at least one model")
        for name, settings in self.candidates.items():
            kind = settings.get("kind", "lightgbm")
            if kind not in MODEL_KINDS:
                raise ValueError(f"selection.candidates.{name}: kind must be one of {MODEL_KINDS}")
            common = {"kind", "max_train_positives"}
            allowed = {*common, "c"} if kind == "linear" else {*common, *ModelConfig.model_fields}
            unknown = sorted(set(settings) - allowed)
            if unknown:
                raise ValueError(
                    f"selection.candidates.{name}: unknown settings {unknown} for kind {kind}"
                )
            if kind == "linear" and not float(settings.get("c", 0.1)) > 0:
                raise ValueError(f"selection.candidates.{name}: c must be positive")
            if kind == "lightgbm":  # each value checked now, not when training reaches it
                try:
                    ModelConfig.model_validate(
                        {k: v for k, v in settings.items() if k not in common}
                    )
                except ValidationError as exc:
                    raise ValueError(f"selection.candidates.{name}: {exc}") from exc
        return self

    def resolve(self, model: ModelConfig) -> list[Candidate]:
        """The candidates, each LightGBM one on ``model:`` with its own changes applied."""
        out = []
        for name, settings in self.candidates.items():
            changes = {
                k: v for k, v in settings.items() if k not in ("kind", "c", "max_train_positives")
            }
            limit = settings.get("max_train_positives")
            out.append(
                Candidate(
                    name=name,
                    kind=str(settings.get("kind", "lightgbm")),
                    model=ModelConfig.model_validate({**model.model_dump(), **changes}),
                    c=float(settings.get("c", 0.1)),
                    max_train_positives=None if limit is None else int(limit),
                )
            )
        return out


class EvaluationConfig(_Frozen):
    """How the test period is judged."""

    capacity_fraction: float = Field(
        0.01, gt=0, le=1, description="Daily outreach capacity as a share of eligible customers."
    )
    capacity_k: int | None = Field(
        None, ge=1, description="Absolute daily capacity; overrides the fraction."
    )
    promote_metric: Literal["average_precision", "roc_auc"] = Field(
        "average_precision",
        description="The champion gate compares this on the test period (and the rule's).",
    )
    bootstrap_samples: int = Field(
        100, ge=0, description="Resamples of whole test days for 95 % intervals (0: none)."
    )
    min_positives: int = Field(
        100,
        ge=1,
        description="Fewest positive customer-days a period needs to be trusted; below it the "
        "CLI, the report and evaluation.json say the period is too small to learn from or judge.",
    )


class RegistryConfig(_Frozen):
    """MLflow names."""

    model_name: str = Field("complaint-risk", description="Registered model name.")
    uplift_model_name: str = Field(
        "complaint-uplift",
        description="Registered name of the model of whom a call helps (`radar uplift`).",
    )
    experiment: str = Field("complaint-radar", description="MLflow experiment of the runs.")


class ServingConfig(_Frozen):
    """The scoring service."""

    host: str = Field("127.0.0.1", description="Bind address; beyond loopback a token is required.")
    port: int = Field(3000, ge=1, le=65535, description="HTTP port.")
    top_reasons: int = Field(3, ge=1, le=10, description="Reasons per score by default.")
    max_batch: int = Field(
        1100,
        ge=1,
        description="Most customers (ids + histories) in one request (the request schema "
        "allows 1000 ids and 100 histories).",
    )
    high_tier: float = Field(
        0.10, gt=0, lt=1, description="Probability at or above which the tier is 'high'."
    )
    medium_tier: float = Field(
        0.03, gt=0, lt=1, description="Probability at or above which the tier is 'medium'."
    )
    model_version: int | None = Field(
        None, description="Pin a registered version; default: the champion's version at load."
    )
    reload_seconds: float = Field(
        30.0,
        ge=0,
        description="How often to look for a new champion or snapshot (0: only POST /reload).",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="Serve beyond loopback without a token (only behind a gateway that authenticates).",
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest request body accepted (else 413)."
    )
    history_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest a request may spend scoring posted histories (else 503)."
    )
    token_file: Path | None = Field(
        None,
        description="File with the bearer token for /score and /reload (else $RADAR_API_TOKEN; neither: open).",
    )
    consistency_sample: int = Field(
        5000,
        ge=0,
        description="Customers whose online features are checked against each new snapshot's "
        "(0: no check).",
    )
    max_online_overlays: int = Field(
        20_000,
        ge=1,
        description="Customers with posted events whose rebuilt feature state is kept; "
        "the least recently scored beyond it are rebuilt from the journal when asked.",
    )
    stale_data_hours: float = Field(
        36.0,
        gt=0,
        description="Warn when a score's as_of lies this long after the last data of its customer.",
    )
    journal_url: str | None = Field(
        None,
        description="Database of the events posted to /events (SQLAlchemy URL, e.g. "
        "postgresql+psycopg://user@host/db, shared by every replica; $RADAR_JOURNAL_URL wins); "
        "default: SQLite workspace/events.db.",
    )
    journal_poll_seconds: float = Field(
        0.25,
        ge=0,
        description="How often the service applies what other processes (replicas, workers) "
        "recorded in a shared event journal (0: never; a single process needs none).",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes `radar serve` runs on one port (connections spread by the "
        "kernel, SO_REUSEPORT); each holds its own online state, all share the journal.",
    )
    allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Host names the service answers to besides its bind address (e.g. the "
        "name a gateway forwards); without a token, loopback names are always allowed and "
        "nothing else; with one and this empty, any.",
    )

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ServingConfig:
        if self.medium_tier >= self.high_tier:
            raise ValueError("serving.medium_tier must be below serving.high_tier")
        return self


class OutreachConfig(_Frozen):
    """Whom outreach contacts each day, and the control group that measures its effect."""

    capacity_k: int | None = Field(
        None, ge=0, description="Customers the team can contact a day (default: evaluation's)."
    )
    capacity_fraction: float | None = Field(
        None, gt=0, le=1, description="Daily capacity as a share of eligible customers."
    )
    segment_capacity: dict[str, int] = Field(
        default_factory=dict,
        description="Capacity per segment (segments not named get none); replaces the above.",
    )
    holdout_fraction: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Share of the customers within capacity held out at random (not contacted).",
    )
    suppress_days: int = Field(
        7,
        ge=0,
        description="Customers assigned (contact or holdout) on a list of the last N days are "
        "not assigned again.",
    )
    rank_by: Literal["risk", "prevented"] = Field(
        "risk",
        description="What the day's capacity goes to: the riskiest customers, or those whose "
        "call is expected to prevent the most complaints (needs an uplift champion: "
        "`radar uplift`).",
    )
    explore_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of the day's capacity given to customers drawn at random from the "
        "rest of the list instead of the top, so that whom a call helps can be learnt beyond "
        "the riskiest (each row's propensity is recorded); 0: the top only.",
    )
    explore_depth: int | None = Field(
        None,
        ge=1,
        description="Draw the explored customers from the next N capacities' worth of the list "
        "below the top instead of from all the rest: where the customers a call could help "
        "are, so each randomised row teaches more (whom the model can learn about is these "
        "customers); none: all the rest.",
    )
    seed: int = Field(0, description="Seed of the daily holdout draw (with the date).")
    outcome_values: dict[str, float] = Field(
        default_factory=lambda: {
            "issue_resolved": 1.0,
            "customer_calmed": 0.5,
            "no_change": 0.0,
            "customer_upset": -1.0,
        },
        description="What each code the team notes for a call that reached the customer is "
        "worth: the share of the customer's trouble the call settled (1: all of it; "
        "negative: it made things worse). `radar uplift` learns each customer's chances of "
        "these codes (the 'notes' learner); codes not named (no_answer, declined, ...) teach "
        "it nothing; {}: learn from the complaints only.",
    )
    outcomes_url: str | None = Field(
        None,
        description="Database of outreach outcomes (SQLAlchemy URL, e.g. "
        "postgresql+psycopg://user@host/db; $RADAR_OUTCOMES_URL wins); default: "
        "SQLite workspace/outcomes.db.",
    )

    @model_validator(mode="after")
    def _one_capacity(self) -> OutreachConfig:
        if self.capacity_k is not None and self.capacity_fraction is not None:
            raise ValueError("give outreach.capacity_k or outreach.capacity_fraction, not both")
        negative = {s: k for s, k in self.segment_capacity.items() if k < 0}
        if negative:
            raise ValueError(f"outreach.segment_capacity must not be negative: {negative}")
        if self.segment_capacity and self.explore_fraction > 0:
            raise ValueError("outreach.explore_fraction needs one capacity, not segment_capacity")
        beyond = {c: v for c, v in self.outcome_values.items() if not -1 <= v <= 1}
        if beyond:
            raise ValueError(f"outreach.outcome_values must lie in [-1, 1]: {beyond}")
        return self


class LoopConfig(_Frozen):
    """The simulated outreach loop of `radar demo`: a world where a call lowers frustration."""

    customers: int = Field(4000, ge=500, description="Customers of the loop's own world.")
    days: int = Field(5, ge=1, description="Days of the loop: list, calls, outcomes, next day.")
    outreach_effect: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a reached customer's hidden frustration a call removes (the truth).",
    )
    effect: Literal["uniform", "heterogeneous"] = Field(
        "uniform",
        description="uniform: every reached customer loses outreach_effect; heterogeneous: the "
        "share depends on the cause of their problem and on the customer, a few are annoyed "
        "(see data/README.md).",
    )
    reach_rate: float = Field(
        0.7, gt=0, le=1, description="Share of the customers to contact that the team reaches."
    )
    capacity_fraction: float = Field(
        0.05, gt=0, le=1, description="The loop's daily capacity (larger: a sharper estimate)."
    )
    holdout_fraction: float = Field(
        0.5, gt=0, lt=1, description="The loop's holdout share (larger: a sharper estimate)."
    )
    agent_error: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of the simulated team's notes of a reached call that name another "
        "code than what the call did (drawn at random; see data/README.md).",
    )


class MonitoringConfig(_Frozen):
    """`radar monitor`: the thresholds that raise alerts on listed days whose labels matured."""

    feature_psi_alert: float = Field(
        0.25, gt=0, description="A feature's PSI against the model's training reference above this."
    )
    score_psi_alert: float = Field(
        0.25, gt=0, description="The score's PSI against the training reference above this."
    )
    drift_days: int = Field(
        7, ge=1, description="Drift is judged on the customers of the last N published lists."
    )
    usual_movement_margin: float = Field(
        1.5,
        ge=1,
        description="A feature alerts only beyond this many times the largest PSI it showed "
        "between weeks of the training period (a dozen weeks seen: the next may move a bit "
        "further without anything drifting; 1: exactly as far).",
    )
    min_precision_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Realized precision at capacity below this share of the expected (the "
        "selected customers' mean probability), pooled over matured days.",
    )
    uplift_gain_to_tell: float = Field(
        0.3,
        gt=0,
        description="`radar uplift` says how many times today's randomised rows it would take "
        "to tell a ranking that prevents this share more than the ranking by risk from it.",
    )


class SparkConfig(_Frozen):
    """`--engine spark`: labels, features and scoring on Apache Spark, per customer partition."""

    master: str | None = Field(
        "local[*]",
        description="Where Spark runs when `radar` starts it (local[*]: this machine's cores); "
        "ignored under spark-submit, which brings its own session. null: Spark's own default.",
    )
    partitions: int = Field(
        16,
        ge=1,
        description="Customer partitions (hash of customer_id); each is one task holding its "
        "customers' whole history (~4 KB per customer), so size them to fit an executor.",
    )
    output: str | None = Field(
        None,
        description="Where Spark writes Parquet partitioned by date (a shared file system or "
        "object store on a cluster); null: WORKSPACE/spark.",
    )


class RadarConfig(_Frozen):
    workspace: WorkspaceConfig = WorkspaceConfig()
    data: DataConfig = DataConfig()
    simulation: SimulationConfig = SimulationConfig()
    labels: LabelConfig = LabelConfig()
    split: SplitConfig = SplitConfig()
    features: FeatureConfig = FeatureConfig()
    sampling: SamplingConfig = SamplingConfig()
    model: ModelConfig = ModelConfig()
    search: SearchConfig = SearchConfig()
    selection: SelectionConfig = SelectionConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    registry: RegistryConfig = RegistryConfig()
    serving: ServingConfig = ServingConfig()
    outreach: OutreachConfig = OutreachConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    loop: LoopConfig = LoopConfig()
    spark: SparkConfig = SparkConfig()

    def journal_url(self) -> str:
        """Where the service journals posted events: $RADAR_JOURNAL_URL, the configured URL,
        or a SQLite file in the workspace."""
        from_environment = Environment().radar_journal_url
        return (
            (from_environment.get_secret_value() if from_environment else None)
            or self.serving.journal_url
            or f"sqlite:///{self.workspace.journal_path.resolve()}"
        )

    def outcomes_url(self) -> str:
        """Where outreach outcomes are kept: $RADAR_OUTCOMES_URL, the configured URL, or a
        SQLite file in the workspace."""
        from_environment = Environment().radar_outcomes_url
        return (
            (from_environment.get_secret_value() if from_environment else None)
            or self.outreach.outcomes_url
            or f"sqlite:///{self.workspace.outcomes_path.resolve()}"
        )

    @model_validator(mode="after")
    def _truth_covers_test(self) -> RadarConfig:
        needed = self.split.test_days + -(-self.labels.horizon_hours // 24)
        truth = self.simulation.truth_days
        if truth is not None and truth < needed:
            raise ValueError(
                f"simulation.truth_days ({truth}) must cover the test period and the horizon "
                f"(at least {needed} days), or the evaluation has no true-risk ceiling"
            )
        return self

    @model_validator(mode="after")
    def _gap_covers_horizon(self) -> RadarConfig:
        if self.split.gap_hours < self.labels.horizon_hours:
            raise ValueError(
                f"split.gap_hours ({self.split.gap_hours}) must be at least labels.horizon_hours "
                f"({self.labels.horizon_hours}), or training labels would overlap validation"
            )
        return self


def render_yaml(config: RadarConfig) -> str:
    """``config`` as a commented YAML file (each setting's description beside it).

    ``experiments/default.yaml`` is this rendering of the defaults, so that every default
    is declared once, here; a test keeps the two the same.
    """
    lines = [
        "# Complaint Radar experiment config. Copy this file, edit, and pass it with --config.",
        "# Unknown keys are rejected. Paths are relative to the folder you run `radar` from.",
        "# Every default is declared in experiments/config.py; `radar config` prints this file.",
    ]
    for section in type(config).model_fields:
        block = getattr(config, section)
        lines += ["", f"{section}:" + (f"  # {_doc(type(block))}" if _doc(type(block)) else "")]
        for key, info in type(block).model_fields.items():
            value = block.model_dump(mode="json")[key]
            comment = f"  # {info.description}" if info.description else ""
            if isinstance(value, dict) and value:
                lines.append(f"  {key}:{comment}")
                lines += [f"    {k}: {_yaml_value(v)}" for k, v in value.items()]
            else:
                lines.append(f"  {key}: {_yaml_value(value)}{comment}")
    return "\n".join(lines) + "\n"


def _yaml_value(value: object) -> str:
    """One value as inline YAML (lists in flow style)."""
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if value == {}:
        return "{}"
    if isinstance(value, dict):
        return yaml.safe_dump(
            value, default_flow_style=True, sort_keys=False, width=float("inf")
        ).strip()
    return yaml.safe_dump(value).removesuffix("\n...\n").strip()


def _doc(cls: type) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


class ConfigError(ValueError):
    """The configuration file is missing or invalid."""


def load_config(path: Path | str | None = None, **overrides: object) -> RadarConfig:
    """Load the config from ``path``, ``$RADAR_CONFIG`` or ``experiments/default.yaml``.

    ``$RADAR_WORKSPACE`` replaces ``workspace.root`` (the service and tests use it).

    ``overrides`` replace whole sections or top-level keys (used by the CLI and tests).
    """
    environment = Environment()
    path = Path(path or environment.radar_config or DEFAULT_CONFIG)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    if environment.radar_workspace:
        workspace = str(environment.radar_workspace)
        raw["workspace"] = {**(raw.get("workspace") or {}), "root": workspace}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RadarConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid config {path}:\n{exc}") from exc


def with_section(config: RadarConfig, section: str, **changes: object) -> RadarConfig:
    """A copy of ``config`` with some keys of one section changed (validated)."""
    current = getattr(config, section).model_dump()
    current.update(changes)
    data = config.model_dump()
    data[section] = current
    return RadarConfig.model_validate(data)
