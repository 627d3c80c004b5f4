"""The BentoML scoring service: ``POST /score`` for one or many customers.

Customers are scored by id (features from the latest daily snapshot published by
``radar score``) or from a posted history (features computed by the same
``build_features`` as training). Every item succeeds or fails on its own. The model is
the registered version the ``champion`` alias pointed to at start-up (or a pinned one);
each answer names it. ``/readyz`` is ready only when model and snapshot are loaded.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import bentoml
import pandas as pd
from starlette.responses import JSONResponse

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS, validate_table
from data.history import History
from features.build import build_features
from radar.config import load_config
from serving.risk_list import Snapshot, load_snapshot
from serving.schemas import CustomerHistory, CustomerScore, ReasonOut, ScoreRequest, ScoreResponse
from serving.scorer import Scorer

log = logging.getLogger("complaint_radar.service")


def _error(status: int, message: str) -> JSONResponse:
    """A JSON error body ``{"error": ...}`` with a specific message (BentoML's own 5xx body is generic)."""
    return JSONResponse({"error": message}, status_code=status)


@bentoml.service(name="complaint_radar", workers=1, traffic={"timeout": 60})
class ComplaintRadar:
    """Complaint risk in the next 48 hours, with reasons, for the CRM."""

    def __init__(self) -> None:
        self.config = load_config()
        self.scorer: Scorer | None = None
        self.snapshot: Snapshot | None = None
        self.problems: list[str] = []
        try:
            self.scorer = Scorer.from_registry(self.config)
        except Exception as exc:  # stay up, report not ready, say why
            self.problems.append(f"model not loaded: {exc}")
        try:
            self.snapshot = load_snapshot(self.config.workspace.risk_lists_dir)
        except Exception as exc:
            self.problems.append(f"snapshot not loaded: {exc}")
        for problem in self.problems:
            log.error("%s", problem)
        if self.snapshot is not None:
            log.info("snapshot %s: %d customers", self.snapshot.date, len(self.snapshot.features))

    def __is_ready__(self) -> bool:
        return self.scorer is not None and self.snapshot is not None

    @bentoml.api(route="/score", input_spec=ScoreRequest, output_spec=ScoreResponse)
    def score(self, **fields: Any) -> ScoreResponse | JSONResponse:
        """Score customers by id and/or posted history; per-item errors never fail the batch."""
        if not self.__is_ready__():
            return _error(503, "service not ready: " + "; ".join(self.problems))
        request = ScoreRequest.model_construct(**fields)
        assert self.scorer is not None and self.snapshot is not None
        k = self.config.serving.top_reasons if request.top_reasons is None else request.top_reasons
        n = len(request.customer_ids) + len(request.histories)
        if n == 0:
            return _error(400, "nothing to score: give customer_ids and/or histories")
        if n > self.config.serving.max_batch:
            return _error(
                413, f"batch of {n} customers exceeds the limit of {self.config.serving.max_batch}"
            )
        results = self._score_ids(request.customer_ids, k) + [
            self._score_history(h, request.as_of, k) for h in request.histories
        ]
        return ScoreResponse(
            results=results,
            model_name=self.scorer.model_name,
            model_version=self.scorer.model_version,
            snapshot_date=self.snapshot.date,
        )

    # ------------------------------------------------------------------ helpers
    def _score_ids(self, ids: list[str], k: int) -> list[CustomerScore]:
        snap, scorer = self.snapshot, self.scorer
        assert snap is not None and scorer is not None
        known = [
            i
            for i in dict.fromkeys(ids)
            if i in snap.features.index and bool(snap.features.at[i, "eligible"])
        ]
        scored = {}
        if known:
            frame = snap.features.loc[known].reset_index(drop=True)
            for row in scorer.score(frame, top_reasons=k, with_reasons=k > 0).itertuples(
                index=False
            ):
                scored[row.customer_id] = row
        results = []
        for cid in ids:
            common = {
                "customer_id": cid,
                "source": "snapshot",
                "snapshot_date": snap.date,
                "as_of": snap.cutoff_at.isoformat(),
            }
            if cid in scored:
                results.append(self._ok(scored[cid], common, []))
            elif cid in snap.features.index:
                results.append(
                    CustomerScore(
                        status="error",
                        error="not eligible at the snapshot: a complaint is already open",
                        **common,
                    )
                )
            else:
                results.append(
                    CustomerScore(
                        status="error",
                        error="unknown customer id (not in the latest snapshot)",
                        **common,
                    )
                )
        return results

    def _score_history(
        self, posted: CustomerHistory, as_of: datetime | None, k: int
    ) -> CustomerScore:
        scorer = self.scorer
        assert scorer is not None
        cutoff = pd.Timestamp(as_of or datetime.now(UTC)).tz_convert("UTC").floor("s")
        cid = posted.customer.customer_id
        common = {"customer_id": cid, "source": "history", "as_of": cutoff.isoformat()}
        assert self.snapshot is not None
        history, problems, warnings = history_from_request(posted, cutoff, self.snapshot.incidents)
        if problems:
            return CustomerScore(
                status="error",
                error="invalid history: " + "; ".join(problems),
                warnings=warnings,
                **common,
            )
        features = build_features(
            history, pd.DataFrame({"customer_id": [cid], "cutoff_at": [cutoff]})
        )
        row = next(
            scorer.score(features, top_reasons=k, with_reasons=k > 0).itertuples(index=False)
        )
        return self._ok(row, common, warnings)

    @staticmethod
    def _ok(row: Any, common: dict, warnings: list[str]) -> CustomerScore:
        return CustomerScore(
            status="ok",
            probability=float(row.probability),
            risk_tier=row.risk_tier,
            reasons=[ReasonOut(**vars(r)) for r in row.reasons],
            model_name=row.model_name,
            model_version=row.model_version,
            warnings=warnings,
            **common,
        )


def history_from_request(
    posted: CustomerHistory, cutoff: pd.Timestamp, incidents: pd.DataFrame | None = None
) -> tuple[History, list[str], list[str]]:
    """Posted history -> validated :class:`History` through the data contract.

    Returns (history, problems that reject the item, warnings such as remapped categories).
    """
    cid = posted.customer.customer_id
    tables = {
        CUSTOMERS: pd.DataFrame([posted.customer.model_dump()]),
        CONTACTS: pd.DataFrame(
            [{**c.model_dump(), "customer_id": cid} for c in posted.contacts],
            columns=CONTACTS.column_names,
        ),
        COMPLAINTS: pd.DataFrame(
            [{**c.model_dump(), "customer_id": cid} for c in posted.complaints],
            columns=COMPLAINTS.column_names,
        ),
        EVENTS: pd.DataFrame(
            [{**e.model_dump(), "customer_id": cid} for e in posted.events],
            columns=EVENTS.column_names,
        ),
    }
    frames, problems, warnings = {}, [], []
    for schema, raw in tables.items():
        valid, report = validate_table(raw, schema)
        frames[schema.name] = valid
        for issue in report.issues:
            (warnings if issue.severity == "warning" else problems).append(str(issue))
    history = History.from_frames(**frames, incidents=incidents, observed_until=cutoff)
    return history, problems, warnings
