"""The service's own Prometheus metrics (BentoML's request metrics come beside them), and the
latest ``radar monitor`` report read into gauges so that its alerts reach what watches the
service."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import bentoml

log = logging.getLogger("complaint_radar.service")

SCORES = bentoml.metrics.Histogram(
    name="complaint_radar_probability",
    documentation="Calibrated 48 h complaint probabilities served",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
)
TIERS = bentoml.metrics.Counter(
    name="complaint_radar_scored",
    documentation="Customers scored, by risk tier",
    labelnames=["tier"],
)
POSTED = bentoml.metrics.Counter(
    name="complaint_radar_events",
    documentation="Items posted to /events, by table and status",
    labelnames=["table", "status"],
)
OUTCOMES_POSTED = bentoml.metrics.Counter(
    name="complaint_radar_outcomes",
    documentation="Outreach outcomes posted to /outcomes, by status",
    labelnames=["status"],
)
CHECKED = bentoml.metrics.Counter(
    name="complaint_radar_online_offline_checked",
    documentation="Feature values of the online state compared with a snapshot built offline",
    labelnames=["check"],
)
DISAGREEMENTS = bentoml.metrics.Counter(
    name="complaint_radar_online_offline_disagreements",
    documentation="Online feature values that differ (beyond 1e-9) from the snapshot built "
    "offline at the same cutoff; check=previous: the state that served the day against the "
    "next nightly build, check=loaded: a freshly loaded state against its own snapshot",
    labelnames=["check", "feature"],
)
MONITOR = {
    name: bentoml.metrics.Gauge(name=f"complaint_radar_monitor_{name}", documentation=doc)
    for name, doc in (
        ("alerts", "Alerts in the latest `radar monitor` report"),
        ("score_psi", "PSI of the score on the latest lists against training"),
        ("realized_precision_at_capacity", "Pooled over the report's matured days"),
        ("expected_precision_at_capacity", "The selected customers' mean probability, pooled"),
        ("outreach_effect", "Complaint rate of contacted minus held-out customers"),
        ("report_age_seconds", "Seconds since the monitoring report was written"),
    )
}
MONITOR_FEATURE_PSI = bentoml.metrics.Gauge(
    name="complaint_radar_monitor_feature_psi",
    documentation="PSI of each feature on the latest lists against training",
    labelnames=["feature"],
)


def count_scores(probabilities: list[float], tiers: list[str]) -> None:
    for probability, tier in zip(probabilities, tiers, strict=True):
        SCORES.observe(probability)
        TIERS.labels(tier=tier).inc()


class MonitoringGauges:
    """The latest monitoring report as gauges, re-read only when it was rewritten."""

    def __init__(self, report: Path) -> None:
        self.report = Path(report)
        self.stamp: float | None = None  # when the report read last was written

    def refresh(self) -> None:
        try:
            stamp = self.report.stat().st_mtime
        except OSError:
            return  # no report yet
        MONITOR["report_age_seconds"].set(max(0.0, time.time() - stamp))
        if stamp == self.stamp:
            return
        try:
            report = json.loads(self.report.read_text())
        except (OSError, ValueError) as exc:
            log.warning("monitoring report %s unreadable: %s", self.report, exc)
            return
        self.stamp = stamp
        pooled = report.get("pooled_at_capacity", {})
        values = {
            "alerts": len(report.get("alerts", [])),
            "score_psi": report.get("score_psi"),
            "realized_precision_at_capacity": pooled.get("realized_precision"),
            "expected_precision_at_capacity": pooled.get("expected_precision"),
            "outreach_effect": report.get("outreach_effect", {}).get("difference"),
        }
        for name, value in values.items():
            MONITOR[name].set(float("nan") if value is None else value)
        for feature, value in report.get("feature_psi", {}).items():
            MONITOR_FEATURE_PSI.labels(feature=feature).set(value)
