"""A YAML mapping reads an export in its own file names, column names, values and time
formats; whatever it does not fix is still reported row by row."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from data.contract import ContractError
from data.load import load_history
from data.mapping import load_mapping
from experiments.config import DataConfig
from radar.cli import main

MAPPING = """
tables:
  contacts:
    file: tickets.csv
    columns: {contact_id: Ticket, customer_id: Account, started_at: Opened, channel: Source}
    values:
      channel: {Telefono: phone, Posta: email, Negozio: branch}
    times:
      started_at: {format: "%d/%m/%Y %H:%M", zone: Europe/Rome}
  complaints:
    file: grievances
    columns: {complaint_id: Id, customer_id: Account, filed_at: When}
    times:
      filed_at: {format: "%d/%m/%Y %H:%M", zone: Europe/Rome}
"""


@pytest.fixture
def export(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame(
        {
            "Ticket": ["T1", "T2", "T3", "T4"],
            "Account": ["A", "A", "B", "C"],
            "Opened": [
                "01/03/2026 10:00",
                "02/07/2026 10:00",
                "05/03/2026 08:30",
                "31/02/2026 09:00",
            ],
            "Source": ["Telefono", "Posta", "Negozio", "Telefono"],
            "Internal": ["x", "y", "z", "w"],
        }
    ).to_csv(folder / "tickets.csv", index=False)
    pd.DataFrame({"Id": ["G1"], "Account": ["A"], "When": ["03/07/2026 12:00"]}).to_csv(
        folder / "grievances.csv", index=False
    )
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING)
    return folder, path


def test_an_export_in_its_own_names_loads_through_the_mapping(export, tmp_path):
    folder, mapping = export
    limits = DataConfig(mapping=mapping, max_reject_fraction=0.5)
    history, report = load_history(folder, tmp_path / "rejects", limits)
    contacts = history.contacts.set_index("contact_id")
    # Rome is UTC+1 in March and UTC+2 in July.
    assert contacts.loc["T1", "started_at"] == pd.Timestamp("2026-03-01 09:00", tz="UTC")
    assert contacts.loc["T2", "started_at"] == pd.Timestamp("2026-07-02 08:00", tz="UTC")
    assert contacts["channel"].to_dict() == {"T1": "phone", "T2": "email", "T3": "branch"}
    assert history.complaints["filed_at"].tolist() == [pd.Timestamp("2026-07-03 10:00", tz="UTC")]
    # 31 February is no date: the row is set aside, quoted as the export wrote it.
    issue = report.tables["contacts"].issues[0]
    assert (issue.column, issue.count, issue.examples) == (
        "started_at",
        1,
        ["line 5, contact_id T4: '31/02/2026 09:00'"],  # the line of tickets.csv
    )
    rejected = pd.read_csv(tmp_path / "rejects" / "contacts_rejected.csv")
    assert rejected["contact_id"].tolist() == ["T4"]


def test_without_the_mapping_the_export_is_not_found(export):
    folder, _ = export
    with pytest.raises(ContractError, match="required table 'contacts' not found"):
        load_history(folder)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables: {tickets: {}}", "unknown table 'tickets'"),
        (
            "tables: {contacts: {columns: {opened_at: Opened}}}",
            r"\['opened_at'\] are not columns of contacts",
        ),
        (
            "tables: {contacts: {times: {channel: {zone: UTC}}}}",
            r"\['channel'\] are not time columns",
        ),
        ("tables: {contacts: {times: {started_at: {zone: Europe/Milano}}}}", "unknown time zone"),
        ("tables: {contacts: {colums: {}}}", "colums"),
        ("tables: [", "not valid YAML"),
    ],
)
def test_a_wrong_mapping_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    with pytest.raises(ContractError, match=message):
        load_mapping(path)


def test_a_source_column_the_export_lacks_is_named(export, tmp_path):
    folder, mapping = export
    path = tmp_path / "wrong.yaml"
    path.write_text(mapping.read_text().replace("Opened", "OpenedAt"))
    with pytest.raises(ContractError, match=r"'OpenedAt' \(for started_at\) not in the export"):
        load_history(folder, limits=DataConfig(mapping=path))


def test_check_profiles_the_export_through_the_mapping(export, tmp_path):
    folder, mapping = export
    out = tmp_path / "check.json"
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "check",
            "--data",
            str(folder),
            "--mapping",
            str(mapping),
            "--json",
            str(out),
        ]
    )
    report = json.loads(out.read_text())
    assert code == 1  # four contacts are not enough to train on
    assert report["mapping"] == str(mapping)
    contacts = report["tables"]["contacts"]
    assert contacts["file"].endswith("tickets.csv") and contacts["rows"] == 4
    assert contacts["unexpected_columns"] == ["Internal"]
    assert contacts["vocabularies"]["channel"]["values"] == 3  # mapped: Telefono is phone
    assert contacts["vocabularies"]["channel"]["most_frequent"][0] == ["phone", 2]
    assert report["families"]["contact_volume"] == "ok"


# A service desk's export as it comes: three semicolon-separated Latin-1 files, incidents
# by configuration item, and "complaints" that are the incidents reopened.
INCIDENTS = """Incident ID;CI Name;Status;Open Time;Reopen Time;Resolved Time;Close Time
IM1;WBS01;Closed;01-03-2026 08:00:00;;01-03-2026 10:00:00;01-03-2026 11:00:00
IM2;WBS01;Closed;02-03-2026 08:00:00;04-03-2026 09:00:00;;05-03-2026 12:00:00
IM3;WBS02;Closed;02-03-2026 08:00:00;;02-03-2026 09:30:00;02-03-2026 10:00:00
IM4;WBS02;Closed;02-03-2026 08:00:00;03-03-2026 08:00:00;03-03-2026 18:00:00;04-03-2026 08:00:00
IM5;WBS03;Caffè;02-03-2026 08:00:00;;;
"""
INTERACTIONS = """Interaction ID;CI Name;Open Time;Category
SD1;WBS01;01-03-2026 07:55:00;incident
SD2;WBS01;02-03-2026 07:59:00;request for information
SD3;WBS02;02-03-2026 07:59:00;incident
"""
CHANGES = """CI Name;Change ID;Actual Start
WBS02;C1;02-03-2026 06:00:00
WBS02;C2;02-03-2026 06:00:00
WBS03;C3;02-03-2026 06:00:00
"""
QUERY_MAPPING = """
tables:
  incidents: null  # the desk's incidents.csv is not the contract's regional incidents
  contacts:  # every call to the desk
    file: interactions.csv
    delimiter: ";"
    columns: {contact_id: Interaction ID, customer_id: CI Name, started_at: Open Time,
              reason: Category}
    times:
      started_at: {format: "%d-%m-%Y %H:%M:%S", zone: Europe/Amsterdam}
  complaints:  # the incidents reopened; resolved, else closed
    query: |
      SELECT "Incident ID" AS complaint_id, "CI Name" AS customer_id,
             "Reopen Time" AS filed_at,
             COALESCE("Resolved Time", "Close Time") AS resolved_at
      FROM read_csv('incidents.csv', delim=';', all_varchar=true, encoding='latin-1')
      WHERE "Reopen Time" IS NOT NULL
    times:
      filed_at: {format: "%d-%m-%Y %H:%M:%S", zone: Europe/Amsterdam}
      resolved_at: {format: "%d-%m-%Y %H:%M:%S", zone: Europe/Amsterdam}
  events:  # incidents and changes of the item, several in the same second on one item
    query: |
      SELECT "CI Name" AS customer_id, "Open Time" AS occurred_at, 'incident' AS event_type
      FROM read_csv('incidents.csv', delim=';', all_varchar=true, encoding='latin-1')
      UNION ALL
      SELECT "CI Name", "Actual Start", 'change' FROM read_csv('changes.csv', delim=';')
    times:
      occurred_at: {format: "%d-%m-%Y %H:%M:%S", zone: Europe/Amsterdam}
"""


@pytest.fixture
def service_desk(tmp_path):
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "incidents.csv").write_bytes(INCIDENTS.encode("latin-1"))
    (folder / "interactions.csv").write_text(INTERACTIONS)
    (folder / "changes.csv").write_text(CHANGES)
    mapping = tmp_path / "desk.yaml"
    mapping.write_text(QUERY_MAPPING)
    return folder, mapping


def test_a_service_desk_export_reads_through_queries_and_a_plain_mapping(service_desk):
    folder, mapping = service_desk
    assert load_mapping(mapping).tables["contacts"].delimiter == ";"
    history, report = load_history(folder, limits=DataConfig(mapping=mapping))
    contacts = history.contacts.set_index("contact_id")
    assert sorted(contacts.index) == ["SD1", "SD2", "SD3"]
    assert contacts.loc["SD2", "reason"] == "request for information"
    # Amsterdam is UTC+1 in March.
    assert contacts.loc["SD1", "started_at"] == pd.Timestamp("2026-03-01 06:55", tz="UTC")
    complaints = history.complaints.set_index("complaint_id")
    assert sorted(complaints.index) == ["IM2", "IM4"]  # the two reopened
    assert complaints.loc["IM2", "resolved_at"] == pd.Timestamp("2026-03-05 11:00", tz="UTC")
    assert complaints.loc["IM4", "resolved_at"] == pd.Timestamp("2026-03-03 17:00", tz="UTC")
    # Two changes to WBS02 in the same second are two
    # events, not a duplicate.
    changes = history.events[history.events["event_type"] == "change"]
    assert changes["customer_id"].tolist() == ["WBS02", "WBS02", "WBS03"]
    assert (history.events["event_type"] == "incident").sum() == 5
    # Customers are the items seen (no customers table), from their first activity.
    assert sorted(history.customers["customer_id"]) == ["WBS01", "WBS02", "WBS03"]
    assert report.n_rejected == 0


def test_a_semicolon_file_read_as_commas_says_so(service_desk, tmp_path):
    folder, mapping = service_desk
    plain = tmp_path / "plain.yaml"
    plain.write_text(mapping.read_text().replace('    delimiter: ";"\n', ""))
    with pytest.raises(
        ContractError, match=r"looks semicolon-separated; give the table `delimiter: \";\"`"
    ):
        load_history(folder, limits=DataConfig(mapping=plain))


def test_a_latin1_file_read_as_utf8_names_the_encoding_setting(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "contacts.csv").write_bytes(
        "contact_id,customer_id,started_at,reason\nK1,A,2026-03-01T10:00:00Z,caffè\n".encode(
            "latin-1"
        )
    )
    (folder / "complaints.csv").write_text("complaint_id,customer_id,filed_at\n")
    with pytest.raises(ContractError, match=r"contacts.csv: not UTF-8 text.*encoding: latin-1"):
        load_history(folder)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables: {contacts: {encoding: latin-1}}")
    history, _ = load_history(folder, limits=DataConfig(mapping=mapping, min_rows={}))
    assert history.contacts["reason"].tolist() == ["caffè"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "SELECT 1 AS x; SELECT 2 AS y",
            r"must be one SELECT statement; it holds \['SELECT', 'SELECT'\]",
        ),
        ("COPY (SELECT 1) TO 'out.csv'", r"must be one SELECT statement; it holds \['COPY'\]"),
        ("SELECT * FROM read_csv('nowhere.csv')", "failed in DuckDB: IO Error: No files found"),
        ("SELEC oops", "failed in DuckDB: Parser Error"),
    ],
)
def test_a_query_that_cannot_run_is_one_error_naming_the_table_and_mapping(
    service_desk, tmp_path, query, message
):
    folder, _ = service_desk
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(yaml.safe_dump({"tables": {"contacts": {"query": query}}}))
    with pytest.raises(ContractError, match=rf"bad.yaml: tables.contacts.query {message}"):
        load_history(folder, limits=DataConfig(mapping=mapping))
    assert not (folder / "out.csv").exists()


def test_a_query_and_a_file_for_one_table_is_refused(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("tables: {complaints: {query: 'SELECT 1', file: x.csv, delimiter: ';'}}")
    with pytest.raises(
        ContractError, match=r"a query reads the files itself: drop \['file', 'delimiter'\]"
    ):
        load_mapping(path)


def test_rejected_rows_name_their_source_line_and_id(export, tmp_path):
    folder, mapping = export
    load_history(folder, tmp_path / "rejects", DataConfig(mapping=mapping, max_reject_fraction=0.5))
    rejected = pd.read_csv(tmp_path / "rejects" / "contacts_rejected.csv")
    assert rejected[["contact_id", "_line"]].to_dict("records") == [
        {"contact_id": "T4", "_line": 5}
    ]
