"""The documents say what the code is: every file they name exists, every ``radar`` command
and option they show is one the command line takes, and every configuration key and
default they quote is the configuration's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from experiments.config import RadarConfig
from radar.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        ROOT / "data" / "README.md",
        *(ROOT / "benchmarks" / "real_data").glob("*/README.md"),
    ]
)
# Folders of the repository a named path may start with (workspace/ and the like are output).
TRACKED = ("experiments", "data", "features", "training", "serving", "radar", "benchmarks",
           "tests", "docs", ".ci")  # fmt: skip
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
COMMAND = re.compile(r"\bradar ([a-z][a-z-]+)((?: +(?:--?[a-z][a-z-]*|[^\s`|)]+))*)")
QUOTED_DEFAULT = re.compile(
    r"`([a-z_]+\.[a-z_]+)`\s+\((-?[\d,]*\.?\d+)(?: ?(%|MiB|s|hours|days|h))?\)"
)
UNITS = {"%": 0.01, "MiB": 2**20}
# Dotted names that are not configuration keys: parameters a training run logs to MLflow.
RUN_PARAMETERS = {"model.kind", "selection.chosen"}
FILE_SUFFIXES = {"py", "md", "yaml", "json", "html", "csv", "parquet", "db", "js", "toml", "log"}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _named_paths(path: Path) -> list[str]:
    """Repository paths a document names in code spans, relative to the repository."""
    named = []
    for span in CODE.findall(_text(path)):
        token = span.split()[0] if span.split() else ""
        if any(ch in token for ch in "<>*{}$:=") or token.split("/")[0] not in TRACKED:
            continue
        if "/" in token or token.endswith((".py", ".md", ".yaml")):
            named.append(token.rstrip(".,;"))
    return named


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(document):
    assert document.exists()
    missing = [p for p in _named_paths(document) if not (ROOT / p).exists()]
    links = [
        link
        for link in LINK.findall(_text(document))
        if not link.startswith(("http://", "https://")) and not (document.parent / link).exists()
    ]
    assert missing == [] and links == [], f"{document.name}: {missing + links}"


def _subcommands() -> dict[str, set[str]]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # the subparsers
    return {
        name: {o for a in sub._actions for o in a.option_strings}
        for name, sub in action.choices.items()
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_radar_command_and_option_shown_exists(document):
    commands = _subcommands()
    wrong = []
    for line in _text(document).splitlines():
        for name, rest in COMMAND.findall(line):
            if name not in commands:
                wrong.append(f"radar {name}")
                continue
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
                if option not in commands[name]:
                    wrong.append(f"radar {name} {option}")
    assert wrong == []


def _sections() -> dict[str, type[BaseModel]]:
    return {
        name: field.annotation
        for name, field in RadarConfig.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_configuration_keys_and_defaults_quoted_are_the_codes(document):
    sections, defaults = _sections(), RadarConfig()
    text = _text(document)
    unknown = [
        span
        for span in CODE.findall(text)
        if re.fullmatch(r"[a-z_]+\.[a-z_]+", span)
        and span.split(".")[1] not in FILE_SUFFIXES
        and span not in RUN_PARAMETERS
        and span.split(".")[0] in sections
        and span.split(".")[1] not in sections[span.split(".")[0]].model_fields
    ]
    wrong = []
    for key, number, unit in QUOTED_DEFAULT.findall(text):
        section, name = key.split(".")
        if section not in sections or name not in sections[section].model_fields:
            continue
        value = getattr(getattr(defaults, section), name)
        quoted = float(number.replace(",", "")) * UNITS.get(unit, 1)
        if value is None or abs(float(value) - quoted) > 1e-9 * max(1.0, abs(quoted)):
            wrong.append(f"{key}: quoted {number}{unit}, default {value}")
    assert unknown == [] and wrong == []


def test_the_documents_check_something():
    """The checks above find paths, commands and defaults to compare (they cannot pass
    by finding nothing)."""
    paths = sum(len(_named_paths(d)) for d in DOCUMENTS)
    commands = sum(len(COMMAND.findall(_text(d))) for d in DOCUMENTS)
    defaults = sum(len(QUOTED_DEFAULT.findall(_text(d))) for d in DOCUMENTS)
    assert paths > 40 and commands > 30 and defaults > 5
