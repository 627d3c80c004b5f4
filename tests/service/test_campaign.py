"""Hostile input, case by case: each test is one case of a fault and abuse campaign against
the service and the jobs, kept so that it stays fixed.

| case | what is sent or done | what must happen |
|---|---|---|
| 1 | a retried `POST /events` of an older or partial version of a recorded contact | per item `duplicate`, the batch's new rows recorded, no 500 |
| 2 | `multipart/form-data` without a boundary to each write route | 415, no traceback |
| 3 | `text/plain` JSON to a write route | 415 |
| 4 | a write with a foreign `Origin` or `Sec-Fetch-Site: cross-site` | 403; the page's own posts pass |
| 5 | a foreign `Host` on an open service (DNS rebinding) | 400 |
| 6 | thousands of junk paths, an id in a URL | `/metrics` labels stay the routes; no id on `/metrics` |
| 7 | `/metrics` without the token when one is set | 401 |
| 8 | an outcome write the database refuses (disk full) | 503 with a clear message; no value in any log line |
| 9 | an event write the database refuses (disk full) | 503; retrying after space is back records it |
| 10 | formula text in a rejected data row and a rejected outcome | neutralised in every CSV written |
| 11 | a list with an unknown assignment | not judged, an alert says why |
| 12 | a list with a customer listed three times | not judged, an alert says why |
| 13 | a list without `probability` | not judged, an alert names the column |
| 14 | a stray folder `2026-13-45` among the lists | passed over |
| 15 | `radar monitor` before any list matured | a report that says so, no crash |
| 16 | a monitor killed mid-run | its MLflow run marked FAILED by the next one |
| 17 | outcomes of unknown customers in an import | set aside, as `POST /outcomes` refuses them |
| 18 | conflicting duplicate outcomes in one file | all set aside; identical repeats count once |
| 19 | an empty or Latin-1 outcomes file | one error naming the file |
| 20 | a data load after an outcome import | the import's rejects stay |
| 21 | times without a zone in a data file | read as UTC and said so |
| 22 | a file-level error after a load with rejects | the rejects folder shows this run's error |
| 23 | a day re-published while a reader follows `latest.json` | never a missing folder |
| 24 | two `radar score` on one workspace | the second stops, naming the first |
| 25 | a damaged model file | the error names the file |
| 26 | `{}` to `/events`, a schema-invalid body | 200 with nothing recorded; 400 with `detail` a string |
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import sqlalchemy as sa

from data.contract import ContractError
from data.fileio import workspace_lock
from data.load import load_history
from experiments.config import DataConfig, OutreachConfig
from radar.outcomes import import_outcomes
from serving.batch.risk_list import score_day
from serving.monitoring.monitor import run_monitor
from serving.publication import (
    LATEST,
    LIST_PARQUET,
    known_customers,
    latest_folder,
    publish,
)
from tests.service.conftest import make_client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FORMULA = "=cmd|' /C calc'!A0"
MARKER = "personal-note-7f3a"  # a value that must never reach a log line


def contact(cid: str, contact_id: str, **more) -> dict:
    return {
        "contact_id": contact_id,
        "customer_id": cid,
        "started_at": "2026-03-21T09:00:00Z",
        "channel": "phone",
        **more,
    }


def outcome(cid: str, **more) -> dict:
    return {
        "customer_id": cid,
        "contacted_at": "2026-03-21T10:00:00Z",
        "reached": True,
        "outcome_code": "called",
        **more,
    }


# ---------------------------------------------------------------------------------- service


def test_01_a_retried_older_version_of_a_contact_is_a_duplicate(trained, workspace, monkeypatch):
    cid = trained["risk_list"]["customer_id"].iloc[0]
    closed = {"closed_at": "2026-03-21T09:40:00Z", "resolved": True, "sentiment": 10}
    with make_client(workspace[0], monkeypatch) as c:
        assert c.post("/events", json={"contacts": [contact(cid, "R1")]}).status_code == 200
        after = c.post("/events", json={"contacts": [contact(cid, "R1", **closed)]})
        assert after.json()["results"][0]["status"] == "updated"
        # The CRM retries the open version, and a partial one, beside a new contact.
        retry = c.post(
            "/events",
            json={
                "contacts": [
                    contact(cid, "R1"),
                    contact(cid, "R1", resolved=True),
                    contact(cid, "R2"),
                ]
            },
        )
    assert retry.status_code == 200, retry.text
    assert [r["status"] for r in retry.json()["results"]] == ["duplicate", "duplicate", "accepted"]


@pytest.mark.parametrize("route", ["/score", "/events", "/outcomes", "/reload"])
def test_02_multipart_without_a_boundary_is_a_415(client, route, caplog):
    with caplog.at_level(logging.ERROR):
        answer = client.post(route, content=b"x", headers={"Content-Type": "multipart/form-data"})
    assert answer.status_code == 415, answer.text
    assert not [r for r in caplog.records if r.exc_info]


def test_03_a_text_plain_body_is_refused(client, trained):
    cid = trained["risk_list"]["customer_id"].iloc[0]
    body = json.dumps({"outcomes": [outcome(cid)]})
    answer = client.post("/outcomes", content=body, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert "application/json" in answer.json()["error"]


def test_04_cross_site_writes_are_refused_and_the_page_own_pass(trained, workspace, monkeypatch):
    cid = trained["risk_list"]["customer_id"].iloc[0]
    body = {"outcomes": [outcome(cid, contacted_at="2026-03-21T11:00:00Z")]}
    with make_client(workspace[0], monkeypatch) as client:
        evil = client.post("/outcomes", json=body, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        fetch = client.post("/reload", headers={"Sec-Fetch-Site": "cross-site"})
        assert fetch.status_code == 403
        own = client.post(
            "/outcomes",
            json=body,
            headers={"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-origin"},
        )
    assert own.status_code == 200, own.text


def test_05_an_open_service_answers_to_its_own_host_names_only(client):
    assert client.get("/livez", headers={"Host": "rebound.example:3000"}).status_code == 400
    assert client.get("/livez", headers={"Host": "localhost:3000"}).status_code == 200
    assert client.get("/livez", headers={"Host": "[::1]:3000"}).status_code == 200


@pytest.fixture(scope="module")
def guarded_server(trained, tmp_path_factory):
    """The real server (``/metrics`` needs the real process) with a token."""
    from radar.process import free_port, service_env, start_service, stop

    port = free_port(0)
    log = tmp_path_factory.mktemp("guarded") / "service.log"
    env = service_env(trained["config"]) | {"RADAR_API_TOKEN": "s3cret"}
    proc = start_service(trained["config"], port, log, env=env, timeout=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_06_junk_paths_do_not_grow_the_metrics(guarded_server):
    import httpx

    auth = {"Authorization": "Bearer s3cret"}
    with httpx.Client(base_url=guarded_server, timeout=30) as c:
        c.get("/nothing-here")  # the label "other" exists from here on
        before = len(c.get("/metrics", headers=auth).text)
        for i in range(2000):
            c.get(f"/junk/{i}/C000123")
        text = c.get("/metrics", headers=auth).text
    assert "C000123" not in text and "/junk/" not in text
    assert len(text) <= before * 1.05, (before, len(text))
    assert 'endpoint="other"' in text


def test_07_metrics_need_the_token_when_there_is_one(guarded_server):
    import httpx

    assert httpx.get(f"{guarded_server}/metrics", timeout=30).status_code == 401
    ok = httpx.get(
        f"{guarded_server}/metrics", headers={"Authorization": "Bearer s3cret"}, timeout=30
    )
    assert ok.status_code == 200 and "complaint_radar" in ok.text


def _refuse_writes(engine) -> object:
    """Every later write to this SQLite database fails, as on a full disk (the database
    refuses the statement); returns the hook, to give the space back."""

    def refuse(dbapi_connection, _) -> None:
        dbapi_connection.set_authorizer(
            lambda action, *_: (
                sqlite3.SQLITE_DENY
                if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE)
                else sqlite3.SQLITE_OK
            )
        )

    sa.event.listen(engine, "connect", refuse)
    engine.dispose()
    return refuse


@pytest.fixture
def opened(monkeypatch):
    """The stores the service opens, as it opens them."""
    from serving.api.journal import EventJournal
    from serving.outreach.outcomes import OutcomeStore

    found: dict[type, object] = {}
    for kind in (EventJournal, OutcomeStore):
        original = kind.__init__

        def remember(self, *args, _original=original, _kind=kind, **kwargs):
            _original(self, *args, **kwargs)
            found[_kind] = self

        monkeypatch.setattr(kind, "__init__", remember)
    return found


def test_08_a_failed_outcome_write_is_a_503_and_logs_no_value(
    trained, workspace, monkeypatch, caplog, opened
):
    from serving.outreach.outcomes import OutcomeStore

    cid = trained["risk_list"]["customer_id"].iloc[0]
    with make_client(workspace[0], monkeypatch) as c:
        _refuse_writes(opened[OutcomeStore].engine)
        with caplog.at_level(logging.DEBUG):
            answer = c.post(
                "/outcomes", json={"outcomes": [outcome(cid, note=MARKER, outcome_code=MARKER)]}
            )
    assert answer.status_code == 503, answer.text
    assert "posting it again later is safe" in answer.json()["error"]
    logged = [r.getMessage() + str(r.exc_info or "") for r in caplog.records]
    assert any("outcome database refused a write" in line for line in logged)
    assert not [line for line in logged if MARKER in line]


def test_09_a_failed_event_write_is_a_503_and_a_retry_records_it(
    trained, workspace, monkeypatch, opened
):
    from serving.api.journal import EventJournal

    cid = trained["risk_list"]["customer_id"].iloc[0]
    with make_client(workspace[0], monkeypatch) as c:
        engine = opened[EventJournal].engine
        hook = _refuse_writes(engine)
        full = c.post("/events", json={"contacts": [contact(cid, "F1")]})
        assert full.status_code == 503 and "event journal unavailable" in full.json()["error"]
        sa.event.remove(engine, "connect", hook)
        engine.dispose()  # space is back
        retry = c.post("/events", json={"contacts": [contact(cid, "F1")]})
    assert retry.status_code == 200 and retry.json()["results"][0]["status"] == "accepted"


# ----------------------------------------------------------------------------------- files


def test_10_formula_text_is_neutralised_in_every_csv(trained, small_world, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("customers", "complaints", "events", "incidents"):
        pd.read_parquet(small_world / f"{name}.parquet").to_parquet(data / f"{name}.parquet")
    contacts = pd.read_parquet(small_world / "contacts.parquet")
    bad = contacts.head(1).assign(contact_id=FORMULA, started_at=pd.NaT)
    pd.concat([contacts, bad]).to_parquet(data / "contacts.parquet")
    rejects = tmp_path / "rejects"
    load_history(data, rejects / "data")
    text = (rejects / "data" / "contacts_rejected.csv").read_text()
    assert "'" + FORMULA in text and "\n" + FORMULA not in text and "," + FORMULA not in text

    file = tmp_path / "outcomes.csv"
    pd.DataFrame([outcome(FORMULA, contacted_at="not a time")]).to_csv(file, index=False)
    with pytest.raises(ValueError, match="no valid outcome"):
        import_outcomes(file, f"sqlite:///{tmp_path / 'o.db'}", rejects / "outcomes")
    assert "'" + FORMULA in (rejects / "outcomes" / "outcomes.csv").read_text()


def _matured_lists(trained, config, backs=(5, 4)) -> Path:
    h, lists = trained["history"], config.workspace.risk_lists_dir
    outreach = OutreachConfig(capacity_k=40, holdout_fraction=0.5, suppress_days=0)
    for back in backs:
        day = h.observed_until.date() - timedelta(days=back)
        score_day(h, trained["scorer"], day, lists, config.labels, None, outreach)
    return lists


def _rewrite(lists: Path, back: int, trained, change) -> None:
    day = trained["history"].observed_until.date() - timedelta(days=back)
    path = lists / day.isoformat() / LIST_PARQUET
    change(pd.read_parquet(path)).to_parquet(path)


@pytest.mark.parametrize(
    "case, change, words",
    [
        ("11", lambda d: d.assign(assignment="contact_maybe"), "assignment: not one of"),
        ("12", lambda d: pd.concat([d, d.head(1), d.head(1)]), "listed more than once"),
        ("13", lambda d: d.drop(columns=["probability"]), "lacks column(s) ['probability']"),
    ],
    ids=["11-unknown-assignment", "12-duplicate-rows", "13-no-probability"],
)
def test_11_to_13_a_list_that_says_the_impossible_is_not_believed(
    trained, workspace, case, change, words
):
    _, config = workspace
    lists = _matured_lists(trained, config)
    good = run_monitor(trained["history"], config)
    _rewrite(lists, 5, trained, change)
    report = run_monitor(trained["history"], config)
    refused = [a for a in report["alerts"] if a["kind"] == "invalid_list"]
    assert len(refused) == 1 and words in refused[0]["message"]
    assert len(report["matured_days"]) == len(good["matured_days"]) - 1
    assert good["matured_days"][1] == report["matured_days"][0]  # the other day unchanged


def test_14_a_stray_folder_among_the_lists_is_passed_over(trained, workspace):
    _, config = workspace
    lists = _matured_lists(trained, config)
    stray = lists / "2026-13-45"
    stray.mkdir()
    pd.read_parquet(next(lists.glob("????-??-??")) / LIST_PARQUET).to_parquet(stray / LIST_PARQUET)
    report = run_monitor(trained["history"], config)
    assert "2026-13-45" not in report["listed_days"] and len(report["matured_days"]) == 2


def test_15_no_list_matured_yet_is_a_normal_report(trained, workspace):
    _, config = workspace  # only the fixture's list of the data's last day
    report = run_monitor(trained["history"], config)
    assert report["matured_days"] == [] and report["calibration"] == []
    assert any("no list has matured yet" in n for n in report["notes"])


def test_16_a_killed_monitor_run_is_marked_failed(trained, workspace):
    from training import registry

    _, config = workspace
    client = registry.connect(config)
    name = config.registry.experiment + "-monitoring"
    experiment = client.get_experiment_by_name(name) or client.get_experiment(
        client.create_experiment(name)
    )
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    left = client.create_run(
        experiment.experiment_id, tags={**registry.owner_tags(), registry.PID_TAG: dead}
    )
    run_monitor(trained["history"], config)
    assert client.get_run(left.info.run_id).info.status == "FAILED"
    runs = mlflow.search_runs(experiment_names=[name])
    assert set(runs["status"]) == {"FINISHED", "FAILED"}


def test_17_18_outcome_imports_refuse_unknown_customers_and_conflicts(trained, tmp_path):
    cid, other = trained["risk_list"]["customer_id"].iloc[:2]
    rows = [
        outcome(cid),
        outcome(cid),  # the same again: counts once
        outcome(other, outcome_code="called"),
        outcome(other, outcome_code="refund"),  # the same customer and time, another code
        outcome("NO-SUCH-CUSTOMER"),
    ]
    file = tmp_path / "outcomes.csv"
    pd.DataFrame(rows).to_csv(file, index=False)
    known = known_customers(trained["config"].workspace.risk_lists_dir)
    rejects = tmp_path / "rejects"
    counts = import_outcomes(file, f"sqlite:///{tmp_path / 'o.db'}", rejects, known)
    assert counts == {"accepted": 1, "updated": 0, "duplicate": 0, "rejected": 3}
    set_aside = pd.read_csv(rejects / "outcomes.csv")
    assert list(set_aside["_line"]) == [4, 5, 6]
    assert set_aside["_reason"].str.contains("conflicting duplicate").sum() == 2
    assert "unknown customer" in set_aside["_reason"].iloc[2]


@pytest.mark.parametrize("content", [b"", "customer_id,note\nC1,caf\xe9\n".encode("latin-1")])
def test_19_an_unreadable_outcomes_file_is_named(tmp_path, content):
    file = tmp_path / "team export.csv"
    file.write_bytes(content)
    with pytest.raises(ValueError, match=r"team export\.csv"):
        import_outcomes(file, f"sqlite:///{tmp_path / 'o.db'}", tmp_path / "rejects")


def test_20_a_data_load_leaves_the_outcome_imports_rejects(trained, small_world, workspace):
    _, config = workspace
    file = config.workspace.root / "outcomes.csv"
    pd.DataFrame(
        [outcome("NO-SUCH-CUSTOMER")] * 1 + [outcome(trained["risk_list"]["customer_id"].iloc[0])]
    ).to_csv(file, index=False)
    known = known_customers(config.workspace.risk_lists_dir)
    import_outcomes(file, config.outcomes_url(), config.workspace.outcome_rejects_dir, known)
    load_history(small_world, config.workspace.data_rejects_dir, config.data)
    assert (config.workspace.outcome_rejects_dir / "outcomes.csv").exists()
    assert (config.workspace.data_rejects_dir / "load_report.json").exists()


def test_21_times_without_a_zone_are_read_as_utc_and_said_so(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {"contact_id": ["K1", "K2"], "customer_id": ["A", "B"],
         "started_at": ["2026-03-01 10:00:00", "2026-03-01T10:00:00+01:00"]}
    ).to_csv(data / "contacts.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"complaint_id": ["P1"], "customer_id": ["A"], "filed_at": ["2026-03-02T10:00:00Z"]}
    ).to_csv(data / "complaints.csv", index=False)
    history, report = load_history(data, tmp_path / "rejects")
    issues = report.tables["contacts"].issues
    assert [(i.column, i.count, i.severity) for i in issues] == [("started_at", 1, "warning")]
    assert "read as UTC" in issues[0].problem and "line 2" in issues[0].examples[0]
    assert history.contacts["started_at"].min() == pd.Timestamp("2026-03-01 09:00", tz="UTC")


def test_22_after_a_file_level_error_the_rejects_show_this_run(small_world, tmp_path):
    rejects, data = tmp_path / "rejects", tmp_path / "data"
    data.mkdir()
    contacts = pd.read_parquet(small_world / "contacts.parquet")
    broken = contacts.copy()
    broken.iloc[:5, broken.columns.get_loc("started_at")] = pd.NaT
    broken.to_parquet(data / "contacts.parquet")
    pd.read_parquet(small_world / "complaints.parquet").to_parquet(data / "complaints.parquet")
    load_history(data, rejects)
    assert (rejects / "contacts_rejected.csv").exists()
    contacts.to_parquet(data / "contacts.parquet")  # the contacts fixed, the complaints lost
    (data / "complaints.parquet").unlink()
    with pytest.raises(ContractError, match="complaints"):
        load_history(data, rejects)
    report = json.loads((rejects / "load_report.json").read_text())
    assert "required table 'complaints' not found" in report["error"]
    assert report["tables"]["contacts"]["rows_rejected"] == 0
    assert not (rejects / "contacts_rejected.csv").exists()


def test_23_a_reader_of_latest_json_never_finds_its_folder_missing(tmp_path):
    day = pd.Timestamp("2026-05-31").date()

    def write(folder: Path) -> None:
        (folder / "list.txt").write_text("x")

    publish(tmp_path, day, write, {})
    misses, reads, stop = [], [0], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                _, folder = latest_folder(tmp_path)
                if not (folder / "list.txt").exists():
                    misses.append(folder)
            except (OSError, ValueError) as exc:
                misses.append(exc)
            reads[0] += 1

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(150):
        publish(tmp_path, day, write, {})
    stop.set()
    reader.join()
    assert reads[0] > 100 and misses == []
    assert json.loads((tmp_path / LATEST).read_text())["date"] == "2026-05-31"


def test_24_a_second_job_on_a_busy_workspace_stops_naming_the_first(small_world, workspace):
    ws, _ = workspace
    with workspace_lock(ws, "train"):
        done = subprocess.run(
            [sys.executable, "-m", "radar.cli", "--workspace", str(ws), "score", "--data",
             str(small_world)],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
    assert done.returncode != 0
    assert "is busy: radar train (pid" in done.stderr, done.stderr


@pytest.mark.parametrize("damaged", ["booster.txt", "risk_model.json"])
def test_25_a_damaged_model_file_is_named(trained, tmp_path, damaged):
    import shutil

    from training.model import ModelFileError, load_model

    saved = next(trained["root"].rglob("risk_model.json")).parent
    copy = tmp_path / "model"
    shutil.copytree(saved, copy)
    if not (copy / damaged).exists():  # a linear champion has no booster
        damaged = "linear_model.json"
    (copy / damaged).write_text("garbage")
    with pytest.raises(ModelFileError, match=re.escape(str(copy / damaged))):
        load_model(copy)


def test_26_an_empty_events_body_and_a_schema_error(client):
    empty = client.post("/events", json={})
    assert empty.status_code == 200 and empty.json() == {"results": [], "recorded": 0}
    invalid = client.post("/score", json={"customer_ids": "not a list"})
    assert invalid.status_code == 400
    assert isinstance(invalid.json()["detail"], str)


def test_the_reject_limit_still_stops_a_mostly_broken_table(small_world, tmp_path):
    """The campaign's fixes changed where rejects go, not the limits that stop a run."""
    data = tmp_path / "data"
    data.mkdir()
    contacts = pd.read_parquet(small_world / "contacts.parquet")
    contacts["started_at"] = pd.NaT
    contacts.to_parquet(data / "contacts.parquet")
    pd.read_parquet(small_world / "complaints.parquet").to_parquet(data / "complaints.parquet")
    with pytest.raises(ContractError, match="contacts"):
        load_history(data, tmp_path / "rejects", DataConfig())
