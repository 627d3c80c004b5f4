"""Every user error is one line naming what is wrong (a traceback only with -v); the serve
command refuses an exposed, unauthenticated or busy start; the CSV list is spreadsheet-safe."""

from __future__ import annotations

import json
import logging
import socket

import pandas as pd
import pytest
import yaml

from data.fileio import spreadsheet_safe
from radar.cli import main
from tests.data.test_load_faults import export


def one_error_line(caplog) -> str:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "Traceback" not in caplog.text, caplog.text
    return errors[0].getMessage()


def test_a_naive_manifest_time_is_one_line(tmp_path, caplog):
    export(tmp_path / "d")
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({"observed_until": "2026-05-01"}))
    code = main(["--workspace", str(tmp_path / "ws"), "score", "--data", str(tmp_path / "d")])
    assert code == 2
    assert "manifest.json" in one_error_line(caplog)


def test_an_empty_table_is_one_line_naming_the_file(tmp_path, caplog):
    export(tmp_path / "d")
    (tmp_path / "d" / "contacts.csv").write_text("")
    code = main(["--workspace", str(tmp_path / "ws"), "train", "--data", str(tmp_path / "d")])
    assert code == 2
    assert "contacts.csv" in one_error_line(caplog)


def test_unexpected_errors_are_one_line_and_verbose_shows_the_trace(tmp_path, caplog, monkeypatch):
    import training.train

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(training.train, "train", broken)
    args = ["--workspace", str(tmp_path), "train", "--data", str(tmp_path)]
    assert main(args) == 2
    assert one_error_line(caplog).startswith("TypeError: unsupported operand")
    caplog.clear()
    assert main(["-v", *args]) == 2
    assert "Traceback" in caplog.text


def test_serving_beyond_loopback_needs_a_token(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("RADAR_API_TOKEN", raising=False)
    assert main(["--workspace", str(tmp_path), "serve", "--host", "0.0.0.0"]) == 2
    assert "refusing to serve on 0.0.0.0 without a token" in one_error_line(caplog)


def test_a_blank_token_refuses_to_serve(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("RADAR_API_TOKEN", " ")
    assert main(["--workspace", str(tmp_path), "serve"]) == 2
    assert "RADAR_API_TOKEN is set but blank" in one_error_line(caplog)


def test_a_busy_port_is_one_line(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("RADAR_API_TOKEN", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--workspace", str(tmp_path), "serve", "--port", str(port)]) == 2
    assert f"port {port}" in one_error_line(caplog)


def test_csv_cells_never_start_a_formula():
    frame = pd.DataFrame(
        {"customer_id": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "C1"], "p": [0.1] * 5}
    )
    safe = spreadsheet_safe(frame)
    assert safe["customer_id"].tolist() == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "C1"]
    assert safe["p"].tolist() == [0.1] * 5


def test_the_demo_sends_the_token(monkeypatch):
    from radar import demo

    sent = {}

    def post(url, json, headers, timeout):
        sent.update(headers)
        raise RuntimeError("stop here")

    monkeypatch.setattr(demo.httpx, "post", post)
    with pytest.raises(RuntimeError):
        demo._check_service("http://x", pd.DataFrame({"customer_id": ["C1"]}), {}, "t", b"tok")
    assert sent == {"Authorization": "Bearer tok"}


@pytest.mark.parametrize(
    "order",
    [
        ["--workspace", "{ws}", "--config", "{config}", "config"],
        ["config", "--workspace", "{ws}", "--config", "{config}"],
        ["--config", "{config}", "config", "--workspace", "{ws}", "-v"],
    ],
    ids=["before", "after", "mixed"],
)
def test_common_options_go_anywhere_on_the_command_line(tmp_path, order, capsys):
    config = tmp_path / "mine.yaml"
    config.write_text("evaluation: {min_positives: 7}\n")
    words = [w.format(ws=tmp_path / "ws", config=config) for w in order]
    assert main(words) == 0
    effective = yaml.safe_load(capsys.readouterr().out)
    assert effective["evaluation"]["min_positives"] == 7
    assert effective["workspace"]["root"] == str(tmp_path / "ws")
