"""A YAML mapping reads an export in its own file names, column names, values and time
formats; whatever it does not fix is still reported row by row."""

from __future__ import annotations

import json

import pandas as pd
import pytest

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
    assert (issue.column, issue.count, issue.examples) == ("started_at", 1, ["31/02/2026 09:00"])
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
