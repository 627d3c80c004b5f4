"""The world's knobs and vocabulary.

The vocabulary is the simulated company's own (the contract takes any channel, reason,
segment or plan); its event types are the contract's, which the event families read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SEGMENTS = ("retail", "institutional", "high_net_worth")
AGE_BANDS = ("18-29", "30-44", "45-64", "65+")
PLANS = ("basic", "standard", "premium")
SIM_CHANNELS = ("phone", "chat", "email", "app", "social", "branch")
# Operational problems: the event types that hurt (bills and refunds are recorded apart).
PROBLEMS = ("payment_failed", "deduction_delayed", "order_delayed", "app_error")
# The contact reason a customer gives when calling about an open problem of each type.
PROBLEM_REASON = ("payment", "payment", "delivery", "technical_fault")
IDLE_REASONS = ("billing", "product_quality", "account_access", "service_attitude", "other")
COMPLAINT_CATEGORIES = ("billing", "service_attitude", "product_quality", "other")
# Channel preference by age band (rows follow AGE_BANDS, columns SIM_CHANNELS).
CHANNEL_BY_AGE = np.array(
    [
        [0.15, 0.30, 0.10, 0.30, 0.12, 0.03],
        [0.30, 0.25, 0.15, 0.20, 0.05, 0.05],
        [0.45, 0.15, 0.20, 0.10, 0.02, 0.08],
        [0.60, 0.05, 0.12, 0.02, 0.01, 0.20],
    ]
)
# Channels that answer asynchronously: waits of hours, not minutes.
ASYNC_CHANNELS = np.array([c in ("email", "social") for c in SIM_CHANNELS])
HOURS_PER_DAY = 24
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class WorldParams:
    """The knobs of the world. Rates are per customer-day unless named otherwise."""

    # Population
    segment_shares: tuple[float, float, float] = (0.75, 0.20, 0.05)
    age_shares: tuple[float, float, float, float] = (0.20, 0.30, 0.33, 0.17)
    plan_shares: tuple[float, float, float] = (0.50, 0.35, 0.15)
    regions: tuple[str, ...] = ("north", "south", "east", "west", "central")
    existing_share: float = 0.75  # signed up before the window; the rest join during it
    churn_share: float = 0.08  # stop all activity at a random time in the window
    # Hidden frustration
    frustration_half_life_hours: float = 96.0
    sensitivity_sigma: float = 0.5  # lognormal spread of how strongly a customer reacts
    frustration_cap: float = 3.5  # complaint hazard saturates smoothly near this level
    # Operational problems
    problem_rates: tuple[float, float, float, float] = (1 / 50, 1 / 90, 1 / 45, 1 / 35)
    problem_impact: tuple[float, float, float, float] = (1.3, 1.0, 0.8, 0.35)
    bill_payment_failure_boost: float = 6.0  # failed payments cluster on the bill day and next
    problem_fix_hours: float = 120.0  # mean time for a problem to be fixed without contact
    # Regional incidents
    incident_rate_per_region_day: float = 1 / 20
    incident_hours: tuple[int, int] = (4, 40)
    incident_frustration_per_hour: float = 0.012  # times severity, times sensitivity
    incident_contact_boost: float = 0.5  # contact rate multiplier per severity level
    incident_wait_boost: float = 0.8  # wait multiplier per severity level
    # Contacts
    contact_rates: tuple[float, float, float] = (1 / 30, 1 / 12, 1 / 18)  # by segment
    contact_frustration_boost: float = 0.9
    contact_problem_boost: float = 2.5  # per open problem
    long_wait_seconds: float = 1800.0
    resolve_base: float = 1.6  # log-odds of resolution for an easy contact
    resolve_per_problem: float = 0.9  # each open problem makes resolution harder
    resolve_per_frustration: float = 0.25
    transfer_rate: float = 0.15
    unresolved_frustration: float = 0.55
    long_wait_frustration: float = 0.45
    transfer_frustration: float = 0.2
    resolved_relief: float = 0.35  # frustration removed by a resolved contact
    escalation_sentiment: float = -80.0  # below this a contact escalates frustration
    escalation_frustration: float = 0.6
    # Complaints
    complaint_base: float = 0.0004
    complaint_frustration_beta: float = 2.0
    segment_complaint_mult: tuple[float, float, float] = (1.0, 0.6, 1.5)
    bill_peak_day: int = 3  # days after the bill when complaint-prone emotion peaks
    bill_peak_boost: float = 1.8
    out_of_blue: float = 0.00015  # complaints unrelated to the hidden state
    complaint_resolve_days: tuple[float, float] = (1.0, 12.0)
    refund_share: float = 0.3
    # Outreach (the daily loop): the share of a reached customer's hidden frustration that a
    # proactive call removes. 0: outreach changes nothing (the default world has none).
    outreach_effect: float = 0.0
    # Calls that help some customers and not others (None / 0: every reached customer loses
    # ``outreach_effect``). By the cause of the customer's open problem (PROBLEMS order): a
    # call sorts out a failed payment or a delayed deduction, barely a delayed order or an
    # app fault. While the customer's region has an incident running, a call removes this
    # share instead (an outage is not fixed by a call). The angriest are past calming: the
    # share is divided by 1 + (frustration / ``outreach_calm_frustration``)^2. A share of
    # customers, drawn once, is annoyed by being called: their frustration grows by
    # ``outreach_annoyance``; by age band (AGE_BANDS order) when
    # ``outreach_annoyed_share_by_age`` is set (the young, who live in the app, mind a call).
    outreach_effect_by_problem: tuple[float, float, float, float] | None = None
    outreach_effect_in_incident: float | None = None
    outreach_calm_frustration: float | None = None
    outreach_annoyed_share: float = 0.0
    outreach_annoyed_share_by_age: tuple[float, float, float, float] | None = None
    outreach_annoyance: float = 0.25

    # Injected drift (None: the world never changes): from this day on, a share of contacts
    # move to one channel (an app launch, a phone line closed), so the contact-channel
    # features leave their training distribution; the monitor must say so.
    channel_shift_day: int | None = None
    channel_shift_share: float = 0.8
    channel_shift_to: str = "app"

    def with_heterogeneous_outreach(self) -> WorldParams:
        """This world with calls whose effect depends on the cause and on the customer."""
        return replace(
            self,
            outreach_effect_by_problem=(0.8, 0.8, 0.2, 0.1),
            outreach_effect_in_incident=0.0,
            outreach_calm_frustration=2.5,
            outreach_annoyed_share_by_age=(0.4, 0.05, 0.02, 0.02),
        )

    def scaled(self, positive_rate_factor: float) -> WorldParams:
        """The same world with complaint hazards scaled (adjusts the positive rate)."""
        return replace(
            self,
            complaint_base=self.complaint_base * positive_rate_factor,
            out_of_blue=self.out_of_blue * positive_rate_factor,
        )
