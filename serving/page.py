"""The outreach page: today's list to work through, filtered and searched in the browser, with
outcomes recorded from it (``GET /list`` on the service; the same page, read-only, beside
each published list as ``risk_list.html``)."""

from __future__ import annotations

import hmac
import html
import json
import logging
from datetime import date

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from data.outcomes import OutcomeStore, without_password
from experiments.config import load_config
from serving.auth import LOGIN_PAGE, TOKEN_COOKIE, AuthConfigError, load_token

log = logging.getLogger("complaint_radar.page")
PAGE_ROWS = 1000  # the top of the list; the CSV and Parquet files hold everyone
OUTCOME_CODES = ("issue_resolved", "callback_scheduled", "declined", "no_answer", "other")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; position: sticky; top: 0; }
tr.high td.tier { color: #b00020; font-weight: bold; } tr.medium td.tier { color: #b36b00; }
.meta { color: #555; } .capacity { font-weight: bold; } .filters * { margin-right: .6em; }
form.outcome { display: none; margin-top: .3em; } form.outcome.open { display: block; }
.recorded { color: #1b5e20; }
"""

SCRIPT = """
const rows = [...document.querySelectorAll('tbody tr')];
const field = id => document.getElementById(id);
function applyFilters() {
  const tier = field('f-tier').value, assignment = field('f-assignment').value;
  const segment = field('f-segment').value, reason = field('f-reason').value;
  const search = field('f-search').value.trim().toLowerCase();
  let shown = 0;
  for (const row of rows) {
    const d = row.dataset;
    const ok = (!tier || d.tier === tier) && (!assignment || d.assignment === assignment)
      && (!segment || d.segment === segment)
      && (!reason || d.reasons.split(',').includes(reason))
      && (!search || d.customer.toLowerCase().includes(search));
    row.hidden = !ok;
    if (ok) shown++;
  }
  field('shown').textContent = shown;
}
document.querySelectorAll('.filters select, .filters input').forEach(el => {
  el.addEventListener('input', applyFilters);
  el.addEventListener('change', applyFilters);
});
document.querySelectorAll('button.record').forEach(button => button.addEventListener('click',
  () => button.nextElementSibling.classList.toggle('open')));
document.querySelectorAll('form.outcome').forEach(form => form.addEventListener('submit',
  async event => {
    event.preventDefault();
    const row = form.closest('tr'), data = new FormData(form);
    const outcome = {customer_id: row.dataset.customer, list_date: document.body.dataset.listDate,
      contacted_at: new Date().toISOString(), reached: data.get('reached') === 'on',
      outcome_code: data.get('outcome_code'), note: data.get('note') || null};
    const answer = await fetch('/outcomes', {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({outcomes: [outcome]})});
    const body = await answer.json().catch(() => ({}));
    const result = (body.results || [])[0] || {};
    const cell = row.querySelector('.outcome-cell');
    if (answer.ok && result.status !== 'error') {
      cell.querySelector('.status').textContent =
        `recorded: ${outcome.outcome_code} (${outcome.reached ? 'reached' : 'not reached'})`;
      cell.querySelector('.status').className = 'status recorded';
      form.classList.remove('open');
    } else {
      cell.querySelector('.status').textContent = 'not recorded: ' + (result.error || body.error || answer.status);
    }
  }));
applyFilters();
"""


def render_page(
    risk_list: pd.DataFrame,
    meta: dict,
    outcomes: pd.DataFrame | None = None,
    interactive: bool = False,
) -> str:
    """The list as a page: filters (tier, assignment, segment, reason), search by customer,
    today's capacity line and, when ``interactive``, a form per row to record an outcome."""
    shown = risk_list.head(PAGE_ROWS)
    recorded = _latest_outcomes(outcomes)
    tiers = risk_list["risk_tier"].value_counts().to_dict()
    outreach = meta.get("outreach", {})
    options = {
        "f-tier": ("tier", ["high", "medium", "low"]),
        "f-assignment": ("assignment", ["contact", "holdout", "none"]),
        "f-segment": (
            "segment",
            sorted(shown.get("segment", pd.Series(dtype=str)).astype(str).unique()),
        ),
        "f-reason": (
            "reason",
            sorted({c for codes in shown["reason_codes"] for c in str(codes).split(",") if c}),
        ),
    }
    filters = "".join(
        f"<label>{label} <select id='{key}'><option value=''>all</option>"
        + "".join(f"<option>{html.escape(str(v))}</option>" for v in values)
        + "</select></label>"
        for key, (label, values) in options.items()
    )
    rows = "".join(
        _row(r, recorded.get(str(r.customer_id)), interactive) for r in shown.itertuples()
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "#", "Customer", "Risk (48 h)", "Tier", "Today", "Segment", "Why",
            "Suggested action", "Outcome",
        )
    )  # fmt: skip
    capacity = (
        f"Today's capacity: {outreach.get('capacity', '?')} customers: "
        f"{outreach.get('contact', 0)} to contact, {outreach.get('holdout', 0)} held out at random "
        f"as the control group (not contacted); {outreach.get('suppressed_recently_assigned', 0)} "
        f"skipped as assigned in the last {outreach.get('suppress_days', '?')} days."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Complaint risk list {meta["scored_for"]}</title>
<style>{STYLE}</style></head>
<body data-list-date="{meta["scored_for"]}">
<h1>Customers most likely to complain in the next 48 hours</h1>
<p class="meta">Scored for {meta["scored_for"]} (data before {meta["cutoff_at"]}) by
{html.escape(str(meta["model_name"]))} version {meta["model_version"]}. {meta["n_eligible"]} eligible customers:
{tiers.get("high", 0)} high, {tiers.get("medium", 0)} medium, {tiers.get("low", 0)} low risk.
The top {len(shown)} are below; the CSV and Parquet files hold all.</p>
<p class="capacity" id="capacity">{capacity}</p>
<div class="filters">{filters}<label>customer <input id="f-search" type="search"
placeholder="customer id"></label> <span><span id="shown">{len(shown)}</span> shown</span></div>
<table><thead><tr>{head}</tr></thead><tbody>
{rows}
</tbody></table>
<script>{SCRIPT}</script>
</body></html>
"""


def _row(r: object, outcome: str | None, interactive: bool) -> str:
    reasons = "<br>".join(
        html.escape(str(getattr(r, f"reason_{i}")))
        for i in range(1, 10)
        if getattr(r, f"reason_{i}", "")
    )
    form = ""
    if interactive:
        codes = "".join(f"<option>{c}</option>" for c in OUTCOME_CODES)
        form = (
            "<button class='record' type='button'>Record outcome</button>"
            "<form class='outcome'><label><input type='checkbox' name='reached'> reached</label> "
            f"<select name='outcome_code'>{codes}</select> "
            "<input name='note' placeholder='note' maxlength='2000'> <button type='submit'>Save</button></form>"
        )
    status = (
        f"<span class='status recorded'>{html.escape(outcome)}</span>"
        if outcome
        else "<span class='status'></span>"
    )
    segment = html.escape(str(getattr(r, "segment", "")))
    return (
        f"<tr class='{r.risk_tier}' data-customer='{html.escape(str(r.customer_id))}' "
        f"data-tier='{r.risk_tier}' data-assignment='{getattr(r, 'assignment', 'none')}' "
        f"data-segment='{segment}' data-reasons='{html.escape(str(r.reason_codes))}'>"
        f"<td>{r.rank}</td><td>{html.escape(str(r.customer_id))}</td><td>{r.probability:.1%}</td>"
        f"<td class='tier'>{r.risk_tier}</td><td>{getattr(r, 'assignment', '')}</td><td>{segment}</td>"
        f"<td>{reasons}</td><td>{html.escape(str(r.suggested_action))}</td>"
        f"<td class='outcome-cell'>{status}{form}</td></tr>"
    )


def _latest_outcomes(outcomes: pd.DataFrame | None) -> dict[str, str]:
    """Customer -> what the latest recorded outcome says."""
    if outcomes is None or outcomes.empty:
        return {}
    latest = outcomes.sort_values("contacted_at").groupby("customer_id").tail(1)
    return {
        str(
            o.customer_id
        ): f"recorded: {o.outcome_code} ({'reached' if o.reached else 'not reached'})"
        for o in latest.itertuples()
    }


# ---------------------------------------------------------------- the served page
async def list_page(request: Request) -> Response:
    config = load_config()
    lists = config.workspace.risk_lists_dir
    try:
        pointer = json.loads((lists / "latest.json").read_text())
        folder = lists / pointer["path"]
        risk_list = pd.read_parquet(folder / "risk_list.parquet")
        meta = json.loads((folder / "snapshot.json").read_text())
    except (OSError, ValueError, KeyError) as exc:
        return HTMLResponse(f"<p>No published list: {html.escape(str(exc))}</p>", status_code=503)
    outcomes = None
    try:
        store = OutcomeStore(config.outcomes_url())
        outcomes = store.frame(date.fromisoformat(meta["scored_for"]))
        store.close()
    except Exception as exc:  # the list still shows; outcomes just are not marked
        log.warning("outreach page without recorded outcomes: %s", without_password(exc))
        outcomes = None
    return HTMLResponse(render_page(risk_list, meta, outcomes, interactive=True))


async def login(request: Request) -> Response:
    """Exchange the service token for a same-site cookie, so the page can record outcomes."""
    try:
        token = load_token(load_config())
    except AuthConfigError as exc:
        return HTMLResponse(html.escape(str(exc)), status_code=503)
    supplied = str((await request.form()).get("token", "")).encode()
    if token is not None and not hmac.compare_digest(supplied, token):
        return HTMLResponse(
            LOGIN_PAGE.format(message="That token is not the service's."), status_code=401
        )
    response = RedirectResponse("./", status_code=303)
    if token is not None:
        response.set_cookie(
            TOKEN_COOKIE, supplied.decode(), httponly=True, samesite="strict", path="/"
        )
    return response


page_app = Starlette(
    routes=[Route("/", list_page, methods=["GET"]), Route("/login", login, methods=["POST"])]
)
