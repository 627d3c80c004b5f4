"""Request and response models of the scoring endpoint (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from data.contract import MAX_AMOUNT, MAX_DURATION_SECONDS, MAX_ID_LENGTH

EXAMPLE_TIME = "2026-05-30T09:15:00Z"
CLOCK_SKEW = timedelta(seconds=300)
MAX_IDS = 1000
MAX_HISTORIES = 100
MAX_EVENTS = 1000


EARLIEST = datetime(1950, 1, 1, tzinfo=UTC)  # same bound as the data contract


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("timestamp is in the future")
    if value < EARLIEST:
        raise ValueError(f"timestamp is before {EARLIEST.date()}")
    return value


# A timezone-aware time that has already happened (a few minutes of clock skew allowed).
KnownTime = Annotated[AwareDatetime, AfterValidator(_not_in_future)]
MAX_TEXT_LENGTH = 64  # channels, reasons, segments, regions: short codes, not prose
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]


class _Strict(BaseModel):
    # Posted histories are customer data: error messages name the field, never echo the value.
    # Infinity and NaN are not measurements (JSON has neither; Python's parser accepts both).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, allow_inf_nan=False)


class CustomerProfile(_Strict):
    customer_id: Id = Field(description="Customer id as in the CRM.", examples=["C000042"])
    signup_at: KnownTime = Field(
        description="When the customer signed up (UTC).", examples=["2024-03-01T10:00:00Z"]
    )
    segment: Code = Field(
        description="retail, institutional or high_net_worth; others map to 'other'.",
        examples=["retail"],
    )
    region: Code = Field(description="Service region.", examples=["north"])
    age_band: Code = Field(description="18-29, 30-44, 45-64 or 65+.", examples=["30-44"])
    plan: Code = Field(description="basic, standard or premium.", examples=["standard"])
    bill_day: int = Field(
        ge=1, le=28, description="Day of month the bill is issued.", examples=[12]
    )


class ContactIn(_Strict):
    contact_id: Id = Field(description="Unique contact id.", examples=["K1"])
    started_at: KnownTime = Field(
        description="When the contact started.", examples=["2026-05-28T14:02:00Z"]
    )
    closed_at: KnownTime | None = Field(None, description="When it closed; null while open.")
    channel: Code = Field(
        description="phone, chat, email, app, social, branch or other (unknown values map to other).",
        examples=["phone"],
    )
    reason: Code = Field(
        description="billing, payment, delivery, product_quality, account_access, technical_fault, service_attitude or other.",
        examples=["payment"],
    )
    wait_seconds: float | None = Field(
        None, ge=0, le=MAX_DURATION_SECONDS, description="Seconds in the queue.", examples=[2400]
    )
    handle_seconds: float | None = Field(
        None, ge=0, le=MAX_DURATION_SECONDS, description="Seconds of handling.", examples=[420]
    )
    transferred: bool | None = Field(None, description="Whether the contact was transferred.")
    resolved: bool | None = Field(
        None, description="Whether the issue was resolved; known at close.", examples=[False]
    )
    sentiment: float | None = Field(
        None,
        ge=-100,
        le=100,
        description="-100 (furious) to 100 (delighted); known at close.",
        examples=[-85],
    )


class ComplaintIn(_Strict):
    complaint_id: Id = Field(examples=["Q1"])
    filed_at: KnownTime
    resolved_at: KnownTime | None = None
    category: Code = Field(examples=["billing"])
    severity: int = Field(ge=1, le=3, description="1 critical, 2 standard, 3 minor.")
    channel: Code = Field(examples=["email"])


class EventIn(_Strict):
    event_id: Id | None = Field(
        None,
        description="Unique event id; without one, an event is known by what it says (the same "
        "event posted again is a duplicate).",
        examples=["E1"],
    )
    occurred_at: KnownTime = Field(examples=["2026-05-29T06:00:00Z"])
    event_type: Code = Field(
        description="payment_failed, deduction_delayed, order_delayed, app_error, bill_issued, refund or other.",
        examples=["payment_failed"],
    )
    amount: float | None = Field(None, ge=-MAX_AMOUNT, le=MAX_AMOUNT, examples=[49.9])


class CustomerHistory(_Strict):
    """A customer's recent history, scored with the same feature code as training."""

    customer: CustomerProfile
    contacts: list[ContactIn] = Field(default_factory=list, max_length=5000)
    complaints: list[ComplaintIn] = Field(default_factory=list, max_length=1000)
    events: list[EventIn] = Field(default_factory=list, max_length=5000)


class ScoreRequest(_Strict):
    """Score customers by id (their history as the service knows it) and/or from posted
    histories, as of now or of `as_of`."""

    customer_ids: list[Id] = Field(
        default_factory=list,
        max_length=MAX_IDS,
        description="Customers of the latest snapshot, scored on their published history plus "
        "everything posted to /events since.",
        examples=[["C000042", "C000007"]],
    )
    histories: list[CustomerHistory] = Field(
        default_factory=list,
        max_length=MAX_HISTORIES,
        description="Histories to score as of `as_of`.",
    )
    as_of: KnownTime | None = Field(
        None,
        description="The moment to score at (default: now): only data before it is used, "
        "for ids and histories alike.",
        examples=[EXAMPLE_TIME],
    )
    top_reasons: int | None = Field(
        None, ge=0, le=10, description="Reasons per customer (default from config; 0 = none)."
    )


class ReasonOut(BaseModel):
    code: str = Field(description="Reason code, e.g. UNRESOLVED.", examples=["UNRESOLVED"])
    text: str = Field(
        description="What happened, in words.",
        examples=["3 unresolved contacts in the last 7 days (4 in 30 days)"],
    )
    action: str = Field(
        description="Suggested outreach action.",
        examples=["Assign a senior agent to close the open issue in one call"],
    )
    contribution: float = Field(
        description="Summed SHAP contribution (log-odds) of the reason's features.", examples=[0.83]
    )
    features: dict[str, float | str | None] = Field(
        description="The reason's most influential feature values.",
        examples=[{"unresolved_7d": 3.0}],
    )


class CustomerScore(BaseModel):
    customer_id: str = Field(examples=["C000042"])
    status: Literal["ok", "error"] = Field(
        description="'error' items carry `error`; other items are unaffected."
    )
    probability: float | None = Field(
        None, description="Calibrated probability of a complaint in the next 48 h.", examples=[0.18]
    )
    risk_tier: Literal["high", "medium", "low"] | None = Field(None, examples=["high"])
    reasons: list[ReasonOut] = Field(default_factory=list)
    source: Literal["online", "history"] = Field(
        description="'online': the service's state of the customer (published history and "
        "posted events); 'history': the history posted in the request."
    )
    as_of: str | None = Field(
        None,
        description="Cutoff of the features (ISO 8601).",
        examples=["2026-05-30T00:00:00+00:00"],
    )
    snapshot_date: str | None = Field(
        None, description="Daily snapshot used (id lookups).", examples=["2026-05-30"]
    )
    model_name: str | None = Field(None, examples=["complaint-risk"])
    model_version: str | None = Field(None, examples=["3"])
    error: str | None = Field(
        None, description="Why this item could not be scored.", examples=["unknown customer id"]
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Non-fatal input problems (e.g. unknown channel mapped to other).",
    )


class ScoreResponse(BaseModel):
    results: list[CustomerScore]
    model_name: str = Field(examples=["complaint-risk"])
    model_version: str = Field(description="Registered version that answered.", examples=["3"])
    snapshot_date: str | None = Field(None, examples=["2026-05-30"])


class ContactEvent(ContactIn):
    """A contact as it happens: post it when it opens, and again with its outcome."""

    customer_id: Id = Field(description="A customer of the latest snapshot.", examples=["C000042"])


class ComplaintEvent(ComplaintIn):
    customer_id: Id = Field(description="A customer of the latest snapshot.", examples=["C000042"])


class OperationalEvent(EventIn):
    customer_id: Id = Field(description="A customer of the latest snapshot.", examples=["C000042"])


class EventsRequest(_Strict):
    """Contacts, complaints and operational events of known customers, as they happen."""

    contacts: list[ContactEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    complaints: list[ComplaintEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    events: list[OperationalEvent] = Field(default_factory=list, max_length=MAX_EVENTS)


# What happened to one posted item (events and outcomes alike).
RecordStatus = Literal["accepted", "updated", "duplicate", "error"]


class EventOutcome(BaseModel):
    table: Literal["contacts", "complaints", "events"]
    index: int = Field(description="Position of the item in its list in the request.")
    status: RecordStatus = Field(
        description="'duplicate': already recorded as is (posting again is safe); "
        "'updated': a recorded contact or complaint got its outcome."
    )
    error: str | None = Field(None, description="Why the item was refused (table.column: problem).")


class EventsResponse(BaseModel):
    results: list[EventOutcome]
    recorded: int = Field(description="Items accepted or updated (kept across restarts).")


MAX_NOTE_LENGTH = 2000


class OutreachOutcome(_Strict):
    """What happened when the outreach team contacted (or tried to contact) a customer."""

    customer_id: Id = Field(description="Customer contacted.", examples=["C000123"])
    contacted_at: KnownTime = Field(
        description="When the contact (attempt) happened.", examples=[EXAMPLE_TIME]
    )
    list_date: date | None = Field(
        None,
        description="Date of the risk list the customer was taken from.",
        examples=["2026-05-30"],
    )
    reached: bool = Field(description="Whether the customer was actually reached.")
    outcome_code: Code = Field(
        description="What came of it, in the team's own codes.", examples=["issue_resolved"]
    )
    note: str | None = Field(
        None, max_length=MAX_NOTE_LENGTH, description="Free text.", examples=["refund promised"]
    )


class OutcomesRequest(_Strict):
    """Outreach outcomes to record (idempotent by customer and contact time)."""

    outcomes: list[OutreachOutcome] = Field(min_length=1, max_length=MAX_EVENTS)


class OutcomeResult(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    status: RecordStatus = Field(
        description="'duplicate': already recorded as is; 'updated': a correction of a "
        "recorded outcome (same customer and time)."
    )
    error: str | None = Field(None, description="Why the item was refused.")


class OutcomesResponse(BaseModel):
    results: list[OutcomeResult]
    recorded: int = Field(description="Items accepted or updated.")


class ReloadResponse(BaseModel):
    model_name: str | None = Field(None, examples=["complaint-risk"])
    model_version: str | None = Field(None, description="Version now answering.", examples=["4"])
    snapshot_date: str | None = Field(None, examples=["2026-05-31"])
    reloaded: bool = Field(description="Whether anything changed.")
    problems: list[str] = Field(
        default_factory=list,
        description="Why loading failed (the previous model and snapshot stay).",
    )
