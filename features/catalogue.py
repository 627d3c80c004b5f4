"""The feature catalogue: every feature's name, group, meaning and known risk direction,
and the reason groups that turn SHAP contributions into text an outreach agent can use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace

DAY = 86_400
WINDOWS_DAYS = (1, 7, 30, 90)
DECAY_HALF_LIFE_DAYS = 3  # "recent trouble" features weigh an event half as much every 3 days
FAST_HALF_LIFE_DAYS = 1  # "right now" features: what happened in the last day or so
SLOW_HALF_LIFE_DAYS = 4  # mood and exposure: how long being upset lasts
# Per-value features count the data's own most frequent channels, reasons and event types
# (learnt at training and stored with the model: see features.parameters), one slot per
# value in order of frequency, and the rest pooled in an ``other`` slot.
CHANNEL_SLOTS = 6
REASON_SLOTS = 10
EVENT_TYPE_SLOTS = 6
SLOT_OTHER = "other"
PROBLEM_EVENTS = ("payment_failed", "deduction_delayed", "order_delayed", "app_error")


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    description: str
    monotone: int = 0  # +1: more never lowers risk; -1: more never raises it; 0: unknown
    categories: tuple[str, ...] | None = None  # categorical feature with a fixed vocabulary
    family: str = ""  # the family computed with it (see FAMILIES)


@dataclass(frozen=True)
class Family:
    """Features computed together from the same data: the unit ``build_features`` builds."""

    name: str
    description: str
    features: tuple[str, ...]
    needs: tuple[str, ...]  # the input it is built from, as "table.column"
    event_types: tuple[str, ...] = ()  # for families of events: the types they count


@dataclass(frozen=True)
class ReasonGroup:
    """Related features whose contributions are added up into one reason code."""

    code: str
    title: str
    action: str
    text: Callable[[Mapping[str, float]], str]


def _n(value: float) -> str:
    """A count or amount for a sentence ('none' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return f"{value:.0f}"


def _ago(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "never"
    hours = seconds / 3600
    if hours < 1:
        return "within the last hour"
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def _plural(value: float, word: str) -> str:
    return f"{_n(value)} {word}{'' if value == 1 else 's'}"


def slots(n: int) -> tuple[str, ...]:
    """Slot names of a per-value feature family: ``1``..``n`` and ``other``."""
    return (*(str(i) for i in range(1, n + 1)), SLOT_OTHER)


def channel_feature(slot: str) -> str:
    return f"contacts_channel_{slot}_30d"


def reason_feature(slot: str) -> str:
    return f"contacts_reason_{slot}_30d"


def event_type_feature(slot: str) -> str:
    return f"events_type_{slot}_30d"


def value_label(feature: str) -> str:
    """The key under which a row's values carry the value a slot feature counts."""
    return f"{feature}:value"


def _top_slot(v: Mapping[str, object], features: list[str], noun: str, subject: str) -> str:
    counts = {f: v.get(f, 0.0) or 0.0 for f in features}
    best = max(counts, key=lambda f: counts[f])
    if not counts[best]:
        return f"no {noun}s in the last 30 days"
    value = v.get(value_label(best))
    about = f"'{value}'" if value else "other values"
    return f"{_plural(counts[best], noun)} {subject} {about} in the last 30 days"


def _top_reason(v: Mapping[str, object]) -> str:
    features = [reason_feature(s) for s in slots(REASON_SLOTS)]
    return _top_slot(v, features, "contact", "about")


def _top_event_type(v: Mapping[str, object]) -> str:
    features = [event_type_feature(s) for s in slots(EVENT_TYPE_SLOTS)]
    return _top_slot(v, features, "event", "of type")


REASON_GROUPS: tuple[ReasonGroup, ...] = (
    ReasonGroup(
        "CONTACT_SURGE",
        "Contact volume",
        "Call the customer proactively before the next inbound contact",
        lambda v: (
            f"{_plural(v['contacts_7d'], 'contact')} in the last 7 days "
            f"({_n(v['contacts_1d'])} in the last 24 h, {_n(v['open_contacts'])} still open)"
        ),
    ),
    ReasonGroup(
        "CONTACT_TOPIC",
        "What they contact about",
        "Brief the agent on the recurring topic",
        _top_reason,
    ),
    ReasonGroup(
        "UNRESOLVED",
        "Unresolved contacts",
        "Assign a senior agent to close the open issue in one call",
        lambda v: (
            f"{_plural(v['unresolved_7d'], 'unresolved contact')} in the last 7 days "
            f"({_n(v['unresolved_30d'])} in 30 days)"
        ),
    ),
    ReasonGroup(
        "LONG_WAITS",
        "Waits and transfers",
        "Offer a priority callback that skips the queue",
        lambda v: (
            f"{_plural(v['long_waits_30d'], 'long wait')} and "
            f"{_plural(v['transferred_30d'], 'transfer')} in the last 30 days"
        ),
    ),
    ReasonGroup(
        "NEGATIVE_SENTIMENT",
        "Sentiment",
        "Have an experienced agent acknowledge the frustration",
        lambda v: (
            f"last contact sentiment {_n(v['last_sentiment'])}, "
            f"{_plural(v['very_negative_contacts_30d'], 'very negative contact')} in 30 days"
        ),
    ),
    ReasonGroup(
        "PAYMENT_PROBLEM",
        "Payment problems",
        "Fix the payment issue and waive any resulting fee",
        lambda v: (
            f"payment failed {_ago(v['seconds_since_payment_failed'])} "
            f"({_n(v['payment_failed_30d'])} failed, {_n(v['deduction_delayed_30d'])} delayed deductions in 30 days)"
        ),
    ),
    ReasonGroup(
        "RECENT_PROBLEMS",
        "Problems piling up",
        "Review every open problem on the account and confirm each one is fixed",
        lambda v: (
            f"{_plural(v['problems_since_resolved_contact'], 'problem')} since their last "
            f"resolved contact (latest {_ago(v['hours_since_problem'] * 3600)})"
        ),
    ),
    ReasonGroup(
        "DELIVERY_DELAY",
        "Delivery delays",
        "Confirm the new delivery date and offer compensation",
        lambda v: (
            f"{_plural(v['order_delayed_30d'], 'delayed order')} in the last 30 days "
            f"(last {_ago(v['seconds_since_order_delayed'])})"
        ),
    ),
    ReasonGroup(
        "APP_ERRORS",
        "App errors",
        "Send a fix or workaround for the app error",
        lambda v: f"{_plural(v['app_error_7d'], 'app error')} in the last 7 days",
    ),
    ReasonGroup(
        "ACCOUNT_EVENTS",
        "What happened on the account",
        "Go through the account's recent events with the customer before they call",
        _top_event_type,
    ),
    ReasonGroup(
        "SERVICE_INCIDENT",
        "Regional service incident",
        "Send a personal status update on the incident",
        lambda v: (
            "service incident active in the customer's region"
            if v["region_incident_active"] > 0
            else f"{_plural(v['region_incidents_7d'], 'service incident')} in the region in the last 7 days"
        ),
    ),
    ReasonGroup(
        "BILLING_CYCLE",
        "Billing cycle",
        "Explain the latest bill before the customer asks",
        lambda v: f"bill issued {_n(v['days_since_bill'])} days ago",
    ),
    ReasonGroup(
        "COMPLAINT_HISTORY",
        "Complaint history",
        "Check that the previous complaint was really closed to their satisfaction",
        lambda v: (
            f"{_plural(v['complaints_365d'], 'complaint')} in the past year "
            f"(last {_n(v['days_since_last_complaint'])} days ago)"
        ),
    ),
    ReasonGroup(
        "PROFILE",
        "Customer profile",
        "Follow the segment's service playbook",
        lambda v: (
            f"{v.get('segment', 'customer')} customer, {_n(v['tenure_days'])} days since signup"
        ),
    ),
)
REASONS_BY_CODE = {g.code: g for g in REASON_GROUPS}


def _features() -> tuple[Feature, ...]:
    f: list[Feature] = []
    for w in WINDOWS_DAYS:
        f.append(
            Feature(
                f"contacts_{w}d",
                "CONTACT_SURGE",
                f"Contacts started in the last {w} days",
                +1 if w <= 7 else 0,
            )
        )
    for slot in slots(CHANNEL_SLOTS):
        which = "other channels" if slot == SLOT_OTHER else f"channel {slot} (by frequency)"
        f.append(Feature(channel_feature(slot), "CONTACT_SURGE", f"Contacts by {which} in 30 days"))
    f.append(
        Feature(
            "hours_since_last_contact", "CONTACT_SURGE", "Hours since the latest contact started"
        )
    )
    f.append(
        Feature(
            "open_contacts", "CONTACT_SURGE", "Contacts started but not closed at the cutoff", +1
        )
    )
    for slot in slots(REASON_SLOTS):
        which = "other reasons" if slot == SLOT_OTHER else f"reason {slot} (by frequency)"
        f.append(
            Feature(reason_feature(slot), "CONTACT_TOPIC", f"Contacts about {which} in 30 days")
        )
    f += [
        Feature("unresolved_7d", "UNRESOLVED", "Contacts closed unresolved in the last 7 days", +1),
        Feature(
            "unresolved_30d", "UNRESOLVED", "Contacts closed unresolved in the last 30 days", +1
        ),
        Feature(
            "resolution_rate_30d",
            "UNRESOLVED",
            "Share of contacts closed in 30 days that were resolved",
            -1,
        ),
        Feature(
            "last_contact_resolved",
            "UNRESOLVED",
            "Whether the latest closed contact was resolved (1/0)",
            -1,
        ),
        Feature(
            "hours_since_last_unresolved",
            "UNRESOLVED",
            "Hours since the latest unresolved contact closed",
        ),
        Feature(
            "long_waits_7d",
            "LONG_WAITS",
            "Closed contacts in 7 days that waited long (features.long_wait_minutes)",
            +1,
        ),
        Feature(
            "long_waits_30d",
            "LONG_WAITS",
            "Closed contacts in 30 days that waited long (features.long_wait_minutes)",
            +1,
        ),
        Feature(
            "mean_wait_minutes_30d",
            "LONG_WAITS",
            "Mean wait of contacts closed in the last 30 days",
        ),
        Feature(
            "transferred_7d",
            "LONG_WAITS",
            "Contacts closed after a transfer in the last 7 days",
            +1,
        ),
        Feature(
            "transferred_30d",
            "LONG_WAITS",
            "Contacts closed after a transfer in the last 30 days",
            +1,
        ),
        Feature(
            "mean_handle_minutes_30d",
            "LONG_WAITS",
            "Mean handling time of contacts closed in 30 days",
        ),
        Feature(
            "mean_sentiment_7d",
            "NEGATIVE_SENTIMENT",
            "Mean sentiment of contacts closed in the last 7 days",
        ),
        Feature(
            "mean_sentiment_30d",
            "NEGATIVE_SENTIMENT",
            "Mean sentiment of contacts closed in the last 30 days",
        ),
        Feature(
            "sentiment_trend",
            "NEGATIVE_SENTIMENT",
            "Mean sentiment of the last 7 days minus that of days 8-30",
        ),
        Feature(
            "very_negative_contacts_30d",
            "NEGATIVE_SENTIMENT",
            "Very negative contacts in 30 days (features.very_negative_sentiment)",
            +1,
        ),
        Feature("last_sentiment", "NEGATIVE_SENTIMENT", "Sentiment of the latest closed contact"),
        Feature(
            "adjusted_sentiment_last",
            "NEGATIVE_SENTIMENT",
            "Sentiment of the latest closed contact with its own outcome's cost added back "
            "(the mood the customer brought to it)",
            -1,
        ),
        Feature(
            "adjusted_sentiment_fast",
            "NEGATIVE_SENTIMENT",
            f"Outcome-adjusted sentiment, recency-weighted mean (half-life {FAST_HALF_LIFE_DAYS} day)",
            -1,
        ),
        Feature(
            "adjusted_sentiment_slow",
            "NEGATIVE_SENTIMENT",
            f"Outcome-adjusted sentiment, recency-weighted mean (half-life {SLOW_HALF_LIFE_DAYS} days)",
            -1,
        ),
        Feature(
            "adjusted_sentiment_90d",
            "NEGATIVE_SENTIMENT",
            "Outcome-adjusted sentiment, mean over 90 days (how easily this customer gets upset)",
            -1,
        ),
        Feature(
            "very_negative_fast",
            "NEGATIVE_SENTIMENT",
            f"Very negative contacts, recency-weighted (half-life {FAST_HALF_LIFE_DAYS} day)",
            +1,
        ),
        Feature(
            "unresolved_fast",
            "UNRESOLVED",
            f"Unresolved contacts, recency-weighted (half-life {FAST_HALF_LIFE_DAYS} day)",
            +1,
        ),
    ]
    for ev in PROBLEM_EVENTS:
        group = {
            "payment_failed": "PAYMENT_PROBLEM",
            "deduction_delayed": "PAYMENT_PROBLEM",
            "order_delayed": "DELIVERY_DELAY",
            "app_error": "APP_ERRORS",
        }[ev]
        f.append(
            Feature(
                f"{ev}_7d",
                group,
                f"{ev.replace('_', ' ').capitalize()} events in the last 7 days",
                +1,
            )
        )
        f.append(
            Feature(
                f"{ev}_30d",
                group,
                f"{ev.replace('_', ' ').capitalize()} events in the last 30 days",
                +1,
            )
        )
    decayed = f"weighted by recency (half-life {DECAY_HALF_LIFE_DAYS} days)"
    f += [
        Feature("contacts_decayed", "CONTACT_SURGE", f"Contacts {decayed}", +1),
        Feature("unresolved_decayed", "UNRESOLVED", f"Unresolved contacts {decayed}", +1),
        Feature("long_waits_decayed", "LONG_WAITS", f"Long waits {decayed}", +1),
        Feature("transfers_decayed", "LONG_WAITS", f"Transferred contacts {decayed}", +1),
        Feature(
            "negativity_decayed",
            "NEGATIVE_SENTIMENT",
            f"Negative sentiment (sum of -sentiment/100 below 0) {decayed}",
            +1,
        ),
        Feature(
            "payment_problems_decayed",
            "PAYMENT_PROBLEM",
            f"Failed payments and delayed deductions {decayed}",
            +1,
        ),
        Feature("order_delayed_decayed", "DELIVERY_DELAY", f"Delayed orders {decayed}", +1),
        Feature("app_error_decayed", "APP_ERRORS", f"App errors {decayed}", +1),
        Feature(
            "problems_fast",
            "RECENT_PROBLEMS",
            f"Operational problems of any kind, recency-weighted (half-life {FAST_HALF_LIFE_DAYS} day)",
            +1,
        ),
        Feature(
            "problems_slow",
            "RECENT_PROBLEMS",
            f"Operational problems of any kind, recency-weighted (half-life {SLOW_HALF_LIFE_DAYS} days)",
            +1,
        ),
        Feature(
            "problems_since_resolved_contact",
            "RECENT_PROBLEMS",
            "Problems since the customer's latest resolved contact (within 30 days)",
            +1,
        ),
        Feature(
            "hours_since_problem",
            "RECENT_PROBLEMS",
            "Hours since the latest operational problem of any kind",
        ),
    ]
    f += [
        Feature(
            "seconds_since_payment_failed",
            "PAYMENT_PROBLEM",
            "Seconds since the latest failed payment",
        ),
        Feature(
            "failed_amount_30d", "PAYMENT_PROBLEM", "Amount of failed payments in the last 30 days"
        ),
        Feature(
            "seconds_since_order_delayed",
            "DELIVERY_DELAY",
            "Seconds since the latest delayed order",
        ),
        Feature("refund_30d", "COMPLAINT_HISTORY", "Refunds in the last 30 days"),
        Feature("complaints_90d", "COMPLAINT_HISTORY", "Complaints filed in the last 90 days"),
        Feature("complaints_365d", "COMPLAINT_HISTORY", "Complaints filed in the last 365 days"),
        Feature(
            "days_since_last_complaint",
            "COMPLAINT_HISTORY",
            "Days since the latest complaint was filed",
        ),
        Feature(
            "region_incident_active",
            "SERVICE_INCIDENT",
            "Incidents active in the customer's region at the cutoff",
            +1,
        ),
        Feature(
            "region_incident_severity",
            "SERVICE_INCIDENT",
            "Summed severity of active incidents in the region",
            +1,
        ),
        Feature(
            "region_incident_exposure",
            "SERVICE_INCIDENT",
            "Severity-hours of incidents in the region, recency-weighted "
            f"(half-life {SLOW_HALF_LIFE_DAYS} days)",
            +1,
        ),
        Feature(
            "region_incidents_7d",
            "SERVICE_INCIDENT",
            "Incidents started in the region in the last 7 days",
        ),
        Feature(
            "hours_since_region_incident",
            "SERVICE_INCIDENT",
            "Hours since the latest incident in the region started",
        ),
        Feature("days_since_bill", "BILLING_CYCLE", "Whole days since the latest bill day"),
        Feature("days_to_next_bill", "BILLING_CYCLE", "Whole days until the next bill day"),
        Feature(
            "hours_since_bill_issued", "BILLING_CYCLE", "Hours since the latest bill_issued event"
        ),
        *(
            Feature(
                event_type_feature(slot),
                "ACCOUNT_EVENTS",
                "Events of "
                + ("other types" if slot == SLOT_OTHER else f"type {slot} (by frequency)")
                + " in 30 days",
            )
            for slot in slots(EVENT_TYPE_SLOTS)
        ),
        # Categories: the values the model saw at fit (the data's own words).
        Feature("segment", "PROFILE", "Customer segment", categories=()),
        Feature("region", "PROFILE", "Customer region", categories=()),
        Feature("age_band", "PROFILE", "Age band", categories=()),
        Feature("plan", "PROFILE", "Plan", categories=()),
        Feature("tenure_days", "PROFILE", "Days since signup"),
        Feature("bill_day", "PROFILE", "Day of month the bill is issued"),
        Feature("day_of_week", "PROFILE", "Day of week of the cutoff (0 = Monday)"),
    ]
    return tuple(f)


# Which features are computed together. A family is built whole or not at all; asking
# ``build_features`` for one of its features builds it (and returns just what was asked).
FAMILIES: tuple[Family, ...] = (
    Family(
        "contact_volume",
        "How many contacts the customer started, and how recently",
        (*(f"contacts_{w}d" for w in WINDOWS_DAYS), "hours_since_last_contact", "contacts_decayed"),
        needs=("contacts.started_at",),
    ),
    Family(
        "contact_channels",
        "Contacts per channel",
        tuple(channel_feature(slot) for slot in slots(CHANNEL_SLOTS)),
        needs=("contacts.started_at", "contacts.channel"),
    ),
    Family(
        "contact_reasons",
        "Contacts per reason",
        tuple(reason_feature(slot) for slot in slots(REASON_SLOTS)),
        needs=("contacts.started_at", "contacts.reason"),
    ),
    Family(
        "open_contacts",
        "Contacts started and not yet closed",
        ("open_contacts",),
        needs=("contacts.started_at", "contacts.closed_at"),
    ),
    Family(
        "resolution",
        "Whether closed contacts were resolved",
        (
            "unresolved_7d",
            "unresolved_30d",
            "resolution_rate_30d",
            "last_contact_resolved",
            "hours_since_last_unresolved",
            "unresolved_decayed",
            "unresolved_fast",
        ),
        needs=("contacts.closed_at", "contacts.resolved"),
    ),
    Family(
        "waits",
        "How long customers waited",
        ("long_waits_7d", "long_waits_30d", "mean_wait_minutes_30d", "long_waits_decayed"),
        needs=("contacts.closed_at", "contacts.wait_seconds", "contacts.channel"),
    ),
    Family(
        "transfers",
        "Contacts transferred between agents",
        ("transferred_7d", "transferred_30d", "transfers_decayed"),
        needs=("contacts.closed_at", "contacts.transferred"),
    ),
    Family(
        "handling",
        "How long contacts took to handle",
        ("mean_handle_minutes_30d",),
        needs=("contacts.closed_at", "contacts.handle_seconds"),
    ),
    Family(
        "sentiment",
        "How the customer sounded",
        (
            "mean_sentiment_7d",
            "mean_sentiment_30d",
            "sentiment_trend",
            "very_negative_contacts_30d",
            "last_sentiment",
            "adjusted_sentiment_last",
            "adjusted_sentiment_fast",
            "adjusted_sentiment_slow",
            "adjusted_sentiment_90d",
            "very_negative_fast",
            "negativity_decayed",
        ),
        needs=("contacts.closed_at", "contacts.sentiment"),
    ),
    Family(
        "payments",
        "Failed payments and delayed deductions",
        (
            "payment_failed_7d",
            "payment_failed_30d",
            "deduction_delayed_7d",
            "deduction_delayed_30d",
            "seconds_since_payment_failed",
            "failed_amount_30d",
            "payment_problems_decayed",
        ),
        needs=("events.occurred_at", "events.event_type", "events.amount"),
        event_types=("payment_failed", "deduction_delayed"),
    ),
    Family(
        "deliveries",
        "Delayed orders",
        (
            "order_delayed_7d",
            "order_delayed_30d",
            "seconds_since_order_delayed",
            "order_delayed_decayed",
        ),
        needs=("events.occurred_at", "events.event_type"),
        event_types=("order_delayed",),
    ),
    Family(
        "app_errors",
        "App errors",
        ("app_error_7d", "app_error_30d", "app_error_decayed"),
        needs=("events.occurred_at", "events.event_type"),
        event_types=("app_error",),
    ),
    Family(
        "problems",
        "Operational problems of any kind, and whether a contact has fixed them since",
        (
            "problems_fast",
            "problems_slow",
            "problems_since_resolved_contact",
            "hours_since_problem",
        ),
        needs=(
            "events.occurred_at",
            "events.event_type",
            "contacts.closed_at",
            "contacts.resolved",
        ),
        event_types=PROBLEM_EVENTS,
    ),
    Family(
        "refunds",
        "Refunds",
        ("refund_30d",),
        needs=("events.occurred_at", "events.event_type"),
        event_types=("refund",),
    ),
    Family(
        "bills_issued",
        "Bills issued",
        ("hours_since_bill_issued",),
        needs=("events.occurred_at", "events.event_type"),
        event_types=("bill_issued",),
    ),
    Family(
        "event_types",
        "Events per type (the data's most frequent types)",
        tuple(event_type_feature(slot) for slot in slots(EVENT_TYPE_SLOTS)),
        needs=("events.occurred_at", "events.event_type"),
    ),
    Family(
        "complaint_history",
        "Complaints filed before",
        ("complaints_90d", "complaints_365d", "days_since_last_complaint"),
        needs=("complaints.filed_at",),
    ),
    Family(
        "incidents",
        "Service incidents in the customer's region",
        (
            "region_incident_active",
            "region_incident_severity",
            "region_incident_exposure",
            "region_incidents_7d",
            "hours_since_region_incident",
        ),
        needs=(
            "customers.region",
            "incidents.region",
            "incidents.started_at",
            "incidents.ended_at",
            "incidents.severity",
        ),
    ),
    Family(
        "billing_cycle",
        "Where the cutoff falls in the customer's billing month",
        (
            "days_since_bill",
            "days_to_next_bill",
            "bill_day",
        ),
        needs=("customers.bill_day",),
    ),
    Family(
        "profile",
        "Who the customer is",
        ("segment", "region", "age_band", "plan"),
        needs=("customers.segment", "customers.region", "customers.age_band", "customers.plan"),
    ),
    Family(
        "tenure",
        "How long the customer has been with us, and the day of the week",
        ("tenure_days", "day_of_week"),
        # Signed up when first seen when the data has no sign-up times.
        needs=("customers.signup_at",),
    ),
)
FAMILIES_BY_NAME = {f.name: f for f in FAMILIES}
_FAMILY_OF = {name: family.name for family in FAMILIES for name in family.features}

FEATURES: tuple[Feature, ...] = tuple(replace(f, family=_FAMILY_OF[f.name]) for f in _features())
if len(_FAMILY_OF) != sum(len(f.features) for f in FAMILIES) or set(_FAMILY_OF) != {
    f.name for f in FEATURES
}:
    raise AssertionError("every catalogued feature must be in exactly one family")
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.categories is not None)
KEY_COLUMNS = ("customer_id", "cutoff_at")
# Recency-weighted features are rescaled from each customer's latest event, so they are
# exact up to float rounding only (tests compare them with a tolerance).
RECENCY_WEIGHTED: tuple[str, ...] = tuple(
    n for n in FEATURE_NAMES if n.endswith(("_decayed", "_fast", "_slow", "_exposure"))
)


def families_of(features: Collection[str] | None) -> tuple[str, ...]:
    """The families that compute ``features`` (every family for None), in catalogue order."""
    if features is None:
        return tuple(f.name for f in FAMILIES)
    unknown = sorted(set(features) - set(_FAMILY_OF))
    if unknown:
        raise KeyError(f"not in the feature catalogue: {unknown}")
    wanted = {_FAMILY_OF[name] for name in features}
    return tuple(f.name for f in FAMILIES if f.name in wanted)


def unavailable_families(absent: Collection[str]) -> dict[str, str]:
    """The families that need an input in ``absent`` ("table.column"), each with why."""
    out = {}
    for family in FAMILIES:
        missing = [need for need in family.needs if need in absent]
        if missing:
            out[family.name] = f"needs {', '.join(missing)}, absent from the data"
    return out


def available_features(absent: Collection[str]) -> tuple[str, ...]:
    """The catalogue's features whose inputs are all present, in catalogue order: what a
    model may learn from (features of absent inputs would only be constants)."""
    off = unavailable_families(absent)
    return tuple(f.name for f in FEATURES if f.family not in off)


def feature_columns(frame: Collection[str]) -> list[str]:
    """The catalogue's features among ``frame``'s columns, in catalogue order."""
    present = set(frame)
    return [name for name in FEATURE_NAMES if name in present]


def catalogue_frame() -> list[dict[str, object]]:
    """The catalogue as rows (for docs, MLflow and the service)."""
    return [
        {
            "name": f.name,
            "group": f.group,
            "family": f.family,
            "reason": REASONS_BY_CODE[f.group].title,
            "description": f.description,
            "monotone": f.monotone,
        }
        for f in FEATURES
    ]
