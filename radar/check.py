"""``radar check``: what a folder of data holds, before anything is trained on it.

Four questions a data scientist asks of a new export, answered in one report:
1. the tables: which were found, rows, the date range, missing and unexpected columns,
   the data's own vocabularies (distinct values, the most frequent);
2. the feature families: which will carry information and which cannot (a column or
   table absent, or present but never filled);
3. validation: how many rows the contract keeps and sets aside, and why;
4. the periods of the configured split: eligible customer-days and positives (complaints
   within the horizon) in each, and whether that is enough to train and to judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import SCHEMAS, SOURCE_ROWS, ContractError
from data.history import TIME_COLUMNS, History
from data.load import absent_inputs, load_history, read_table
from data.mapping import Mapping, load_mapping
from experiments.config import RadarConfig, with_section
from features.catalogue import FAMILIES, FEATURES_BY_NAME, unavailable_families
from features.labels import LabelEngine, LabelRules
from features.parameters import open_complaint_days
from training.dataset import (
    SPLITS,
    NotEnoughData,
    observed_from_the_start,
    sample_grid,
    split_periods,
)

EXAMPLES = 3
VOCABULARY_SHOWN = 5


@dataclass
class TableCheck:
    """One table as found on disk, before validation."""

    name: str
    file: str | None
    required: bool
    rows: int = 0
    first: str | None = None  # earliest and latest time of the table's main time column
    last: str | None = None
    missing_columns: list[str] = field(default_factory=list)
    unexpected_columns: list[str] = field(default_factory=list)
    empty_columns: list[str] = field(default_factory=list)  # present, never filled
    # category column -> distinct values and the most frequent (value, rows), as written
    vocabularies: dict[str, dict[str, object]] = field(default_factory=dict)


def check_tables(directory: Path, mapping: Mapping | None = None) -> dict[str, TableCheck]:
    """Each contract table of ``directory`` as the mapping reads it (its file, or its query),
    renamed to the contract (nothing validated yet)."""
    checks = {}
    for name, schema in SCHEMAS.items():
        found = read_table(directory, name, mapping)
        check = TableCheck(name, found[1] if found else None, not schema.optional)
        checks[name] = check
        if found is None:
            continue
        raw = found[0]
        columns = [c for c in raw.columns if c not in SOURCE_ROWS]
        check.rows = len(raw)
        check.missing_columns = [c for c in schema.column_names if c not in columns]
        check.unexpected_columns = [c for c in columns if c not in schema.column_names]
        check.empty_columns = [
            c for c in schema.column_names if c in columns and raw[c].isna().all() and len(raw)
        ]
        main_time = TIME_COLUMNS[name][0]
        if main_time in raw.columns and len(raw):
            times = pd.to_datetime(raw[main_time], utc=True, errors="coerce", format="mixed")
            if times.notna().any():
                check.first, check.last = str(times.min()), str(times.max())
        for column in schema.columns:
            if column.kind == "category" and column.name in raw.columns:
                values = raw[column.name].dropna().astype(str).str.strip().str.lower()
                counts = values[values != ""].value_counts()
                check.vocabularies[column.name] = {
                    "values": len(counts),
                    "most_frequent": [
                        [v, int(n)] for v, n in counts.head(VOCABULARY_SHOWN).items()
                    ],
                }
    return checks


def check_families(tables: dict[str, TableCheck], history: History | None) -> dict[str, str]:
    """Per feature family: "ok" (naming the features' own inputs it lacks), or why it cannot
    carry information (an input absent, as training will find it; a column present but
    never filled; no events of its types)."""
    found = {name: t.missing_columns for name, t in tables.items() if t.file is not None}
    absent = absent_inputs(found)
    status = unavailable_families(absent)
    for family in FAMILIES:
        if family.name in status:
            continue
        own = [n for name in family.features for n in FEATURES_BY_NAME[name].needs]
        problems = [
            f"{need} is never filled"
            for need in (*family.needs, *own)
            if need.split(".")[1] in tables[need.split(".")[0]].empty_columns
        ]
        seen = set() if history is None else set(history.events["event_type"].unique())
        if family.event_types and history is not None and not seen & set(family.event_types):
            problems.append(f"no events of type {', '.join(family.event_types)}")
        lacking = [need for need in own if need in absent]
        status[family.name] = "; ".join(problems) or (
            f"ok (without {', '.join(lacking)})" if lacking else "ok"
        )
    return {family.name: status[family.name] for family in FAMILIES}


def check_periods(config: RadarConfig, history: History) -> dict[str, object]:
    """Eligible customer-days and positives per period of the configured split, and what the
    open-complaint rule removes from each (customer-days and positives)."""
    try:
        periods = split_periods(history, config.labels, config.split)
    except NotEnoughData as exc:
        return {"error": str(exc)}
    train_end = periods.train[1] + pd.Timedelta(days=1)
    labels = config.labels
    rules = LabelRules(
        labels.horizon_hours,
        labels.exclude_open_complaints,
        open_complaint_days(history.complaints, labels.open_complaint_days, before=train_end),
    )
    everyone = with_section(
        config, "sampling", train_negative_rate=1.0, validation_negative_rate=1.0
    )
    _, counts = sample_grid(LabelEngine(history, rules), periods, everyone.sampling)
    minimum = config.evaluation.min_positives
    out: dict[str, object] = {}
    for name in SPLITS:
        c = counts[name]
        eligible, positives = c["eligible_customer_days"], c["positives"]
        out[name] = {
            "from": str(getattr(periods, name)[0].date()),
            "to": str(getattr(periods, name)[1].date()),
            **c,
            "positive_rate": positives / eligible if eligible else math.nan,
            "enough": positives >= minimum,
        }
    out["min_positives"] = minimum
    out["open_complaint_days"] = rules.open_complaint_days
    out["exclude_open_complaints"] = rules.exclude_open_complaints
    out["warmup_from"] = str(
        (periods.train[0] - pd.Timedelta(days=config.split.warmup_days)).date()
    )
    out["lookback_days"] = config.split.warmup_days
    out["observed_from"] = str(observed_from_the_start(history, config.split).observed_from)
    return out


def check_activity(history: History) -> dict[str, object]:
    """How active customers are: contacts and complaints per customer."""
    customers = len(history.customers)
    per_customer = history.contacts.groupby("customer_id").size()
    complained = history.complaints["customer_id"].nunique()
    counts = per_customer.reindex(history.customers["customer_id"], fill_value=0).to_numpy()
    return {
        "customers": customers,
        "with_a_contact": float((counts > 0).mean()) if customers else 0.0,
        "contacts_per_customer": {
            "median": float(np.median(counts)) if customers else 0.0,
            "p90": float(np.quantile(counts, 0.9)) if customers else 0.0,
            "max": int(counts.max(initial=0)),
        },
        "with_a_complaint": complained / customers if customers else 0.0,
    }


def check_data(config: RadarConfig, directory: Path | str) -> dict[str, object]:
    """The whole report of :mod:`radar.check` as plain data (JSON-ready); ``ready`` says
    whether ``radar train`` can run on it and judge the result."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ContractError(f"data folder {directory} does not exist")
    mapping = load_mapping(config.data.mapping) if config.data.mapping is not None else None
    tables = check_tables(directory, mapping)
    report: dict[str, object] = {"data": str(directory), "tables": {}}
    if config.data.mapping is not None:
        report["mapping"] = str(config.data.mapping)
    history = None
    try:
        history, load = load_history(directory, limits=config.data)
        report["validation"] = load.summary()
    except ContractError as exc:
        report["validation"] = {"error": str(exc)}
    report["tables"] = {name: vars(t) for name, t in tables.items()}
    report["families"] = check_families(tables, history)
    if history is not None:
        report["activity"] = check_activity(history)
        report["periods"] = check_periods(config, history)
    periods = report.get("periods", {})
    report["ready"] = (
        history is not None
        and "error" not in periods
        and all(periods[name]["enough"] for name in SPLITS)
    )
    return report


def render(report: dict[str, object]) -> str:
    """The report as text for a terminal."""
    lines = [f"data: {report['data']}"]
    if "mapping" in report:
        lines.append(f"mapping: {report['mapping']}")
    lines += ["", "tables:"]
    for name, t in report["tables"].items():
        if t["file"] is None:
            lines.append(f"  {name:<11} not found ({'required' if t['required'] else 'optional'})")
            continue
        span = f", {t['first'][:10]} .. {t['last'][:10]}" if t["first"] else ""
        lines.append(f"  {name:<11} {t['rows']:,} rows{span}  ({t['file']})")
        if t["missing_columns"]:
            lines.append(f"              missing columns: {', '.join(t['missing_columns'])}")
        if t["empty_columns"]:
            lines.append(f"              never filled: {', '.join(t['empty_columns'])}")
        if t["unexpected_columns"]:
            lines.append(f"              not in the contract: {', '.join(t['unexpected_columns'])}")
        for column, v in t["vocabularies"].items():
            shown = ", ".join(f"{value} ({n:,})" for value, n in v["most_frequent"])
            lines.append(
                f"              {column}: {v['values']:,} value(s); most frequent: {shown}"
            )
    validation = report["validation"]
    lines += ["", "validation:"]
    if "error" in validation:
        lines.append(f"  cannot load: {validation['error']}")
    else:
        for name, t in validation["tables"].items():
            kept, rejected = t["rows_valid"], t["rows_rejected"]
            lines.append(f"  {name:<11} {kept:,} rows kept, {rejected:,} set aside")
            for i in t["issues"][:EXAMPLES]:
                lines.append(
                    f"              {name}.{i['column']}: {i['problem']} ({i['count']:,} rows, "
                    f"e.g. {i['examples']})"
                )
    lines += ["", "feature families:"]
    for name, status in report["families"].items():
        lines.append(f"  {name:<18} {status}")
    if "activity" in report:
        a = report["activity"]
        c = a["contacts_per_customer"]
        lines += [
            "",
            f"activity: {a['customers']:,} customers, {a['with_a_contact']:.0%} with a contact "
            f"(median {c['median']:.0f}, p90 {c['p90']:.0f}, max {c['max']} contacts), "
            f"{a['with_a_complaint']:.1%} with a complaint",
        ]
    if "periods" in report:
        lines += ["", *_period_lines(report["periods"])]
    lines += ["", "ready to train and judge: " + ("yes" if report["ready"] else "no")]
    return "\n".join(lines)


def _period_lines(p: dict) -> list[str]:
    """The periods of the split: positives, what the open-complaint rule removes, and the
    features the look-back leaves out."""
    lines = ["periods:"]
    if "error" in p:
        return [*lines, f"  {p['error']}"]
    for name in SPLITS:
        s = p[name]
        verdict = "enough" if s["enough"] else f"TOO FEW (under {p['min_positives']})"
        lines.append(
            f"  {name:<10} {s['from']} .. {s['to']}: {s['eligible_customer_days']:,} "
            f"eligible customer-days, {s['positives']:,} positives "
            f"({s['positive_rate']:.2%}): {verdict}"
        )
        if p["exclude_open_complaints"]:
            lines.append(
                f"             an open complaint removed {s['removed_open_complaint_customer_days']:,} "
                f"customer-days and {s['removed_open_complaint_positives']:,} positives"
            )
    lines.append(
        f"  a complaint without a resolution time counts as open for "
        f"{p['open_complaint_days']:.1f} days (labels.open_complaint_days)"
    )
    lines.append(
        f"  warm-up from {p['warmup_from']}: the look-back of the latest contact, event or "
        f"complaint ({p['lookback_days']} days, split.warmup_days); counts over longer windows "
        f"are scaled to the part observed (from {p['observed_from'][:10]})"
    )
    return lines
