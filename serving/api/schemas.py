"""Request and response models of the scoring endpoint (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, create_model

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS, Column, TableSchema
from serving.fields import Code, Flag, Id, Integer, Moment, Number, Strict, bounded
from serving.outreach.outcomes import OutreachOutcome

EXAMPLE_TIME = "2026-05-30T09:15:00Z"
MAX_IDS = 1000
MAX_HISTORIES = 100
MAX_EVENTS = 1000

# A time must carry its zone; whether it has already happened is checked per item.
_TYPES = {"id": Id, "time": Moment, "float": Number, "int": Integer, "bool": Flag}


def _field(column: Column) -> tuple[object, object]:
    """A request field of a contract column: its kind, bounds, description and example; a
    column an export may leave out (or empty) is optional."""
    kind = _TYPES.get(column.kind, Code)
    bounds = {k: v for k, v in (("ge", column.min), ("le", column.max)) if v is not None}
    if bounds:  # on the value's own type, so the schema says minimum/maximum beside null
        kind = bounded(kind, **bounds)
    examples = [column.example] if column.example is not None else None
    info = {"description": column.description, "examples": examples}
    if column.required and not column.nullable:
        return kind, Field(**info)
    return kind | None, Field(None, **info)


def contract_model(
    name: str, schema: TableSchema, doc: str, without: tuple[str, ...] = ()
) -> type[BaseModel]:
    """The request model of a contract table's rows (generated: the contract is the one
    declaration of columns, kinds, bounds and which are optional)."""
    fields = {c.name: _field(c) for c in schema.columns if c.name not in without}
    return create_model(name, __base__=Strict, __doc__=doc, **fields)


# What a posted history holds: the customer's profile and rows (the customer implied).
CustomerProfile = contract_model("CustomerProfile", CUSTOMERS, "A customer's profile.")
ContactIn = contract_model(
    "ContactIn", CONTACTS, "A contact: post it when it opens, and again when it closes.",
    ("customer_id",),
)  # fmt: skip
ComplaintIn = contract_model("ComplaintIn", COMPLAINTS, "A complaint.", ("customer_id",))
EventIn = contract_model("EventIn", EVENTS, "An operational event.", ("customer_id",))
# What /events takes: rows of known customers, as they happen.
ContactEvent = contract_model(
    "ContactEvent", CONTACTS, "A contact as it happens: post it when it opens, and again with "
    "its outcome (posting it again, or an older version of it, records nothing new).",
)  # fmt: skip
ComplaintEvent = contract_model("ComplaintEvent", COMPLAINTS, "A complaint as it is filed.")
OperationalEvent = contract_model("OperationalEvent", EVENTS, "An operational event.")


class CustomerHistory(Strict):
    """A customer's recent history, scored with the same feature code as training."""

    customer: CustomerProfile
    contacts: list[ContactIn] = Field(default_factory=list, max_length=5000)
    complaints: list[ComplaintIn] = Field(default_factory=list, max_length=1000)
    events: list[EventIn] = Field(default_factory=list, max_length=5000)


class ScoreRequest(Strict):
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
    # Absent means the default; null is not a moment or a number (the published schema of
    # a top-level field has no null, so nothing it calls invalid is taken).
    as_of: Moment = Field(
        None,
        description="The moment to score at (default: now): only data before it is used, "
        "for ids and histories alike; a moment that has not happened yet is an error for "
        "every item.",
        examples=[EXAMPLE_TIME],
    )
    top_reasons: bounded(Integer, ge=0, le=10) = Field(
        None, description="Reasons per customer (default from config; 0 = none)."
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
    expected_effect: float | None = Field(
        None,
        description="Expected change of the 48-hour complaint probability if the customer is "
        "contacted (negative: a call prevents), from the uplift model learnt on earlier "
        "lists' contact and holdout groups; null when none is registered.",
        examples=[-0.04],
    )
    effect_reasons: str | None = Field(
        None,
        description="In words, what moves this customer's expected effect most (given when "
        "reasons are asked for and an uplift model is registered).",
        examples=["a call helps more: Payment failed events in the last 7 days (2)"],
    )
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


class EventsRequest(Strict):
    """Contacts, complaints and operational events of known customers, as they happen."""

    contacts: list[ContactEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    complaints: list[ComplaintEvent] = Field(default_factory=list, max_length=MAX_EVENTS)
    events: list[OperationalEvent] = Field(default_factory=list, max_length=MAX_EVENTS)


# What happened to one posted item (events and outcomes alike).
RecordStatus = Literal["accepted", "updated", "duplicate", "error"]


class ItemResult(BaseModel):
    """What happened to one posted item."""

    index: int = Field(description="Position of the item in its list in the request.")
    status: RecordStatus = Field(
        description="'duplicate': already recorded as is (posting again is safe); "
        "'updated': a correction of a recorded item (a contact closed, a complaint resolved, "
        "an outcome of the same customer and time)."
    )
    error: str | None = Field(None, description="Why the item was refused (table.column: problem).")


class EventResult(ItemResult):
    table: Literal["contacts", "complaints", "events"]


class EventsResponse(BaseModel):
    results: list[EventResult]
    recorded: int = Field(description="Items accepted or updated (kept across restarts).")


class OutcomesRequest(Strict):
    """Outreach outcomes to record (idempotent by customer and contact time)."""

    outcomes: list[OutreachOutcome] = Field(default_factory=list, max_length=MAX_EVENTS)


class OutcomesResponse(BaseModel):
    results: list[ItemResult]
    recorded: int = Field(description="Items accepted or updated (kept across restarts).")


class ReloadResponse(BaseModel):
    model_name: str | None = Field(None, examples=["complaint-risk"])
    model_version: str | None = Field(None, description="Version now answering.", examples=["4"])
    snapshot_date: str | None = Field(None, examples=["2026-05-31"])
    reloaded: bool = Field(description="Whether anything changed.")
    problems: list[str] = Field(
        default_factory=list,
        description="Why loading failed (the previous model and snapshot stay).",
    )
