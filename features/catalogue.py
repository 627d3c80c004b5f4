"""The feature catalogue: every feature's name, group, meaning and known risk direction,
and the reason groups that turn SHAP contributions into text an outreach agent can use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

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


# A feature's look-back: the days it counts over, or LATEST for the time since (or the value
# of) the latest contact, event or complaint, which a model caps at its own look-back (see
# features.parameters); None for a recency-weighted sum (old events weigh nothing), a state
# at the cutoff or the profile. A count or sum over a window longer than the history a row
# has is scaled to the window (see features.build); averages need no scaling.
LATEST = "latest"


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    description: str
    monotone: int = 0  # +1: more never lowers risk; -1: more never raises it; 0: unknown
    categories: tuple[str, ...] | None = None  # categorical feature with a fixed vocabulary
    family: str = ""  # the family computed with it (see FAMILIES)
    lookback: int | str | None = None  # window days, LATEST, or None (see LATEST)
    needs: tuple[str, ...] = ()  # inputs of its own, beyond its family's ("table.column")
    # A count or sum of the customer's own events over its window: scaled to the window
    # when the row's history covers less of it.
    scaled: bool = False


@dataclass(frozen=True)
class Family:
    """Features computed together from the same data: the unit ``build_features`` builds."""

    name: str
    description: str
    features: tuple[str, ...]
    needs: tuple[str, ...]  # the input it is built from, as "table.column"
    event_types: tuple[str, ...] = ()  # for families of events: the types they count
    reads: tuple[str, ...] = ()  # inputs it also reads when present (none is needed)


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


_DECAYED = f"weighted by recency (half-life {DECAY_HALF_LIFE_DAYS} days)"
_FAST = f"half-life {FAST_HALF_LIFE_DAYS} day"
_SLOW = f"half-life {SLOW_HALF_LIFE_DAYS} days"


def _slot_rows(
    family: str, group: str, n: int, feature: Callable[[str], str], named: str, pooled: str
) -> list[tuple]:
    """The rows of a per-value family: slot 1..n (by frequency), then ``other``."""
    return [
        (
            feature(slot),
            family,
            group,
            0,
            30,
            pooled if slot == SLOT_OTHER else named.format(f"{slot} (by frequency)"),
        )
        for slot in slots(n)
    ]


def _event_rows(event: str, group: str, family: str) -> list[tuple]:
    words = event.replace("_", " ").capitalize()
    return [
        (f"{event}_{w}d", family, group, +1, w, f"{words} events in the last {w} days")
        for w in (7, 30)
    ]


# The catalogue: name, family, reason group, known risk direction (+1 more never lowers risk,
# -1 more never raises it, 0 unknown), look-back (window days, LATEST or None), description.
# fmt: off
_TABLE: tuple[tuple, ...] = (
    *(
        ("contacts_1d", "contact_volume", "CONTACT_SURGE", +1, 1, "Contacts started in the last 1 days"),
        ("contacts_7d", "contact_volume", "CONTACT_SURGE", +1, 7, "Contacts started in the last 7 days"),
        ("contacts_30d", "contact_volume", "CONTACT_SURGE", 0, 30, "Contacts started in the last 30 days"),
        ("contacts_90d", "contact_volume", "CONTACT_SURGE", 0, 90, "Contacts started in the last 90 days"),
    ),
    *_slot_rows("contact_channels", "CONTACT_SURGE", CHANNEL_SLOTS, channel_feature, "Contacts by channel {} in 30 days", "Contacts by other channels in 30 days"),
    ("hours_since_last_contact", "contact_volume", "CONTACT_SURGE", 0, LATEST, "Hours since the latest contact started"),
    ("open_contacts", "open_contacts", "CONTACT_SURGE", +1, None, "Contacts started but not closed at the cutoff"),
    *_slot_rows("contact_reasons", "CONTACT_TOPIC", REASON_SLOTS, reason_feature, "Contacts about reason {} in 30 days", "Contacts about other reasons in 30 days"),
    ("unresolved_7d", "resolution", "UNRESOLVED", +1, 7, "Contacts closed unresolved in the last 7 days"),
    ("unresolved_30d", "resolution", "UNRESOLVED", +1, 30, "Contacts closed unresolved in the last 30 days"),
    ("resolution_rate_30d", "resolution", "UNRESOLVED", -1, 30, "Share of contacts closed in 30 days that were resolved"),
    ("last_contact_resolved", "resolution", "UNRESOLVED", -1, LATEST, "Whether the latest closed contact was resolved (1/0)"),
    ("hours_since_last_unresolved", "resolution", "UNRESOLVED", 0, LATEST, "Hours since the latest unresolved contact closed"),
    ("long_waits_7d", "waits", "LONG_WAITS", +1, 7, "Closed contacts in 7 days that waited long (features.long_wait_minutes)"),
    ("long_waits_30d", "waits", "LONG_WAITS", +1, 30, "Closed contacts in 30 days that waited long (features.long_wait_minutes)"),
    ("mean_wait_minutes_30d", "waits", "LONG_WAITS", 0, 30, "Mean wait of contacts closed in the last 30 days"),
    ("transferred_7d", "transfers", "LONG_WAITS", +1, 7, "Contacts closed after a transfer in the last 7 days"),
    ("transferred_30d", "transfers", "LONG_WAITS", +1, 30, "Contacts closed after a transfer in the last 30 days"),
    ("mean_handle_minutes_30d", "handling", "LONG_WAITS", 0, 30, "Mean handling time of contacts closed in 30 days"),
    ("mean_sentiment_7d", "sentiment", "NEGATIVE_SENTIMENT", 0, 7, "Mean sentiment of contacts closed in the last 7 days"),
    ("mean_sentiment_30d", "sentiment", "NEGATIVE_SENTIMENT", 0, 30, "Mean sentiment of contacts closed in the last 30 days"),
    ("sentiment_trend", "sentiment", "NEGATIVE_SENTIMENT", 0, 30, "Mean sentiment of the last 7 days minus that of days 8-30"),
    ("very_negative_contacts_30d", "sentiment", "NEGATIVE_SENTIMENT", +1, 30, "Very negative contacts in 30 days (features.very_negative_sentiment)"),
    ("last_sentiment", "sentiment", "NEGATIVE_SENTIMENT", 0, LATEST, "Sentiment of the latest closed contact"),
    ("adjusted_sentiment_last", "sentiment", "NEGATIVE_SENTIMENT", -1, LATEST, "Sentiment of the latest closed contact with its own outcome's cost added back (the mood the customer brought to it)"),
    ("adjusted_sentiment_fast", "sentiment", "NEGATIVE_SENTIMENT", -1, None, f"Outcome-adjusted sentiment, recency-weighted mean ({_FAST})"),
    ("adjusted_sentiment_slow", "sentiment", "NEGATIVE_SENTIMENT", -1, None, f"Outcome-adjusted sentiment, recency-weighted mean ({_SLOW})"),
    ("adjusted_sentiment_90d", "sentiment", "NEGATIVE_SENTIMENT", -1, 90, "Outcome-adjusted sentiment, mean over 90 days (how easily this customer gets upset)"),
    ("very_negative_fast", "sentiment", "NEGATIVE_SENTIMENT", +1, None, f"Very negative contacts, recency-weighted ({_FAST})"),
    ("unresolved_fast", "resolution", "UNRESOLVED", +1, None, f"Unresolved contacts, recency-weighted ({_FAST})"),
    *_event_rows("payment_failed", "PAYMENT_PROBLEM", "payments"),
    *_event_rows("deduction_delayed", "PAYMENT_PROBLEM", "payments"),
    *_event_rows("order_delayed", "DELIVERY_DELAY", "deliveries"),
    *_event_rows("app_error", "APP_ERRORS", "app_errors"),
    ("contacts_decayed", "contact_volume", "CONTACT_SURGE", +1, None, f"Contacts {_DECAYED}"),
    ("unresolved_decayed", "resolution", "UNRESOLVED", +1, None, f"Unresolved contacts {_DECAYED}"),
    ("long_waits_decayed", "waits", "LONG_WAITS", +1, None, f"Long waits {_DECAYED}"),
    ("transfers_decayed", "transfers", "LONG_WAITS", +1, None, f"Transferred contacts {_DECAYED}"),
    ("negativity_decayed", "sentiment", "NEGATIVE_SENTIMENT", +1, None, f"Negative sentiment (sum of -sentiment/100 below 0) {_DECAYED}"),
    ("payment_problems_decayed", "payments", "PAYMENT_PROBLEM", +1, None, f"Failed payments and delayed deductions {_DECAYED}"),
    ("order_delayed_decayed", "deliveries", "DELIVERY_DELAY", +1, None, f"Delayed orders {_DECAYED}"),
    ("app_error_decayed", "app_errors", "APP_ERRORS", +1, None, f"App errors {_DECAYED}"),
    ("problems_fast", "problems", "RECENT_PROBLEMS", +1, None, f"Operational problems of any kind, recency-weighted ({_FAST})"),
    ("problems_slow", "problems", "RECENT_PROBLEMS", +1, None, f"Operational problems of any kind, recency-weighted ({_SLOW})"),
    ("problems_since_resolved_contact", "problems", "RECENT_PROBLEMS", +1, 30, "Problems since the customer's latest resolved contact (within 30 days)"),
    ("hours_since_problem", "problems", "RECENT_PROBLEMS", 0, LATEST, "Hours since the latest operational problem of any kind"),
    ("seconds_since_payment_failed", "payments", "PAYMENT_PROBLEM", 0, LATEST, "Seconds since the latest failed payment"),
    ("failed_amount_30d", "payments", "PAYMENT_PROBLEM", 0, 30, "Amount of failed payments in the last 30 days"),
    ("seconds_since_order_delayed", "deliveries", "DELIVERY_DELAY", 0, LATEST, "Seconds since the latest delayed order"),
    ("refund_30d", "refunds", "COMPLAINT_HISTORY", 0, 30, "Refunds in the last 30 days"),
    ("complaints_90d", "complaint_history", "COMPLAINT_HISTORY", 0, 90, "Complaints filed in the last 90 days"),
    ("complaints_365d", "complaint_history", "COMPLAINT_HISTORY", 0, 365, "Complaints filed in the last 365 days"),
    ("days_since_last_complaint", "complaint_history", "COMPLAINT_HISTORY", 0, LATEST, "Days since the latest complaint was filed"),
    ("region_incident_active", "incidents", "SERVICE_INCIDENT", +1, None, "Incidents active in the customer's region at the cutoff"),
    ("region_incident_severity", "incidents", "SERVICE_INCIDENT", +1, None, "Summed severity of active incidents in the region"),
    ("region_incident_exposure", "incidents", "SERVICE_INCIDENT", +1, None, f"Severity-hours of incidents in the region, recency-weighted ({_SLOW})"),
    ("region_incidents_7d", "incidents", "SERVICE_INCIDENT", 0, 7, "Incidents started in the region in the last 7 days"),
    ("hours_since_region_incident", "incidents", "SERVICE_INCIDENT", 0, LATEST, "Hours since the latest incident in the region started"),
    ("days_since_bill", "billing_cycle", "BILLING_CYCLE", 0, None, "Whole days since the latest bill day"),
    ("days_to_next_bill", "billing_cycle", "BILLING_CYCLE", 0, None, "Whole days until the next bill day"),
    ("hours_since_bill_issued", "bills_issued", "BILLING_CYCLE", 0, LATEST, "Hours since the latest bill_issued event"),
    *_slot_rows("event_types", "ACCOUNT_EVENTS", EVENT_TYPE_SLOTS, event_type_feature, "Events of type {} in 30 days", "Events of other types in 30 days"),
    ("segment", "profile", "PROFILE", 0, None, "Customer segment"),
    ("region", "profile", "PROFILE", 0, None, "Customer region"),
    ("age_band", "profile", "PROFILE", 0, None, "Age band"),
    ("plan", "profile", "PROFILE", 0, None, "Plan"),
    ("tenure_days", "tenure", "PROFILE", 0, None, "Days since signup"),
    ("bill_day", "billing_cycle", "PROFILE", 0, None, "Day of month the bill is issued"),
    ("day_of_week", "tenure", "PROFILE", 0, None, "Day of week of the cutoff (0 = Monday)"),
)
# fmt: on
# The profile's columns are each optional: each feature needs its own (categories take
# the values the model saw at fit, the data's own words).
_PROFILE = ("segment", "region", "age_band", "plan")
# Windowed features that are averages or shares (the same whatever part of the window was
# observed), or count the region's incidents (a table of its own, not the customer's past):
# the other windowed features are counts and sums, scaled when the history is shorter.
_NOT_SCALED = (
    "resolution_rate_30d",
    "mean_wait_minutes_30d",
    "mean_handle_minutes_30d",
    "mean_sentiment_7d",
    "mean_sentiment_30d",
    "sentiment_trend",
    "adjusted_sentiment_90d",
    "region_incidents_7d",
)

# Which features are computed together, and from what. A family is built whole or not at
# all; asking ``build_features`` for one of its features builds it (and returns just what
# was asked). Its features are the catalogue rows naming it, in catalogue order.
# fmt: off
_FAMILIES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("contact_volume", "How many contacts the customer started, and how recently", ("contacts.started_at",), ()),
    ("contact_channels", "Contacts per channel", ("contacts.started_at", "contacts.channel"), ()),
    ("contact_reasons", "Contacts per reason", ("contacts.started_at", "contacts.reason"), ()),
    ("open_contacts", "Contacts started and not yet closed", ("contacts.started_at", "contacts.closed_at"), ()),
    ("resolution", "Whether closed contacts were resolved", ("contacts.closed_at", "contacts.resolved"), ()),
    ("waits", "How long customers waited", ("contacts.closed_at", "contacts.wait_seconds", "contacts.channel"), ()),
    ("transfers", "Contacts transferred between agents", ("contacts.closed_at", "contacts.transferred"), ()),
    ("handling", "How long contacts took to handle", ("contacts.closed_at", "contacts.handle_seconds"), ()),
    ("sentiment", "How the customer sounded", ("contacts.closed_at", "contacts.sentiment"), ()),
    ("payments", "Failed payments and delayed deductions", ("events.occurred_at", "events.event_type", "events.amount"), ("payment_failed", "deduction_delayed")),
    ("deliveries", "Delayed orders", ("events.occurred_at", "events.event_type"), ("order_delayed",)),
    ("app_errors", "App errors", ("events.occurred_at", "events.event_type"), ("app_error",)),
    ("problems", "Operational problems of any kind, and whether a contact has fixed them since", ("events.occurred_at", "events.event_type", "contacts.closed_at", "contacts.resolved"), PROBLEM_EVENTS),
    ("refunds", "Refunds", ("events.occurred_at", "events.event_type"), ("refund",)),
    ("bills_issued", "Bills issued", ("events.occurred_at", "events.event_type"), ("bill_issued",)),
    ("event_types", "Events per type (the data's most frequent types)", ("events.occurred_at", "events.event_type"), ()),
    ("complaint_history", "Complaints filed before", ("complaints.filed_at",), ()),
    ("incidents", "Service incidents in the customer's region", ("customers.region", "incidents.region", "incidents.started_at", "incidents.ended_at", "incidents.severity"), ()),
    ("billing_cycle", "Where the cutoff falls in the customer's billing month", ("customers.bill_day",), ()),
    # Whichever profile columns the data has (each feature needs its own).
    ("profile", "Who the customer is", (), ()),
    # Signed up when first seen when the data has no sign-up times.
    ("tenure", "How long the customer has been with us, and the day of the week", ("customers.signup_at",), ()),
)
# fmt: on


# What a family also reads when the data has it: the sentiment a contact's own outcome
# costs is added back (features.parameters), and only queued channels wait long.
_ALSO_READS = {
    "sentiment": (
        "contacts.resolved",
        "contacts.wait_seconds",
        "contacts.channel",
        "contacts.transferred",
    ),
}


def _scaled(name: str, lookback: int | str | None) -> bool:
    return isinstance(lookback, int) and name not in _NOT_SCALED


def _own_needs(name: str, lookback: int | str | None) -> tuple[str, ...]:
    """A profile feature reads its own column; a scaled count reads when the customer
    signed up (see features.build._scale_to_windows)."""
    if name in _PROFILE:
        return (f"customers.{name}",)
    return ("customers.signup_at",) if _scaled(name, lookback) else ()


def _catalogue() -> tuple[tuple[Feature, ...], tuple[Family, ...]]:
    features = tuple(
        Feature(
            name,
            group,
            description,
            monotone,
            categories=() if name in _PROFILE else None,
            family=family,
            lookback=lookback,
            needs=_own_needs(name, lookback),
            scaled=_scaled(name, lookback),
        )
        for name, family, group, monotone, lookback, description in _TABLE
    )
    families = tuple(
        Family(
            name,
            description,
            tuple(f.name for f in features if f.family == name),
            needs,
            types,
            _ALSO_READS.get(name, ()),
        )
        for name, description, needs, types in _FAMILIES
    )
    declared = {f.name for f in families}
    stray = sorted({f.family for f in features} - declared)
    empty = [f.name for f in families if not f.features]
    if stray or empty or len({f.name for f in features}) != len(features):
        raise AssertionError(
            f"every feature must be in one declared family (stray {stray}, empty {empty})"
        )
    return features, families


FEATURES, FAMILIES = _catalogue()
# Every input ("table.column") any family or feature reads.
FEATURE_INPUTS = frozenset(need for family in FAMILIES for need in family.needs) | frozenset(
    need for feature in FEATURES for need in feature.needs
)
FAMILIES_BY_NAME = {f.name: f for f in FAMILIES}
_FAMILY_OF = {f.name: f.family for f in FEATURES}
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
    """The families that need an input in ``absent`` ("table.column"), or whose every
    feature does, each with why."""
    out = {}
    for family in FAMILIES:
        missing = [need for need in family.needs if need in absent]
        own = [n for name in family.features for n in FEATURES_BY_NAME[name].needs]
        if not missing and own and all(n in absent for n in own):
            missing = own
        if missing:
            out[family.name] = f"needs {', '.join(missing)}, absent from the data"
    return out


def available_features(absent: Collection[str]) -> tuple[str, ...]:
    """The catalogue's features whose inputs are all present, in catalogue order: what a
    model may learn from (features of absent inputs would only be constants)."""
    off = unavailable_families(absent)
    return tuple(
        f.name
        for f in FEATURES
        if f.family not in off and not any(need in absent for need in f.needs)
    )


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
