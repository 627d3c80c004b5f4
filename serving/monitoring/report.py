"""The monitoring report: plots over the listed days and an HTML page, logged to MLflow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import mlflow

from data.fileio import write_text
from data.templates import inline_png, render
from experiments.config import RadarConfig
from training import registry
from training.plots import save_figure

REPORT_FILE = "monitoring.html"
MONITORING_EXPERIMENT_SUFFIX = "-monitoring"
TOP_PSI = 20


def write_plots(report: dict, out: Path) -> list[Path]:
    """Precision at capacity over days (realized vs expected), calibration, PSI per feature."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    days = [d for d in report["matured_days"] if d["selected"]]
    if days:
        fig, ax = plt.subplots(figsize=(7, 4))
        dates = [d["date"] for d in days]
        ax.plot(dates, [d["realized_precision_at_capacity"] for d in days], "o-", label="realized")
        ax.plot(dates, [d["expected_precision_at_capacity"] for d in days], "s--", label="expected")
        ax.set(
            title="Precision at capacity per listed day",
            xlabel="list date",
            ylabel="share of selected customers who complained",
        )
        ax.tick_params(axis="x", rotation=45)
        ax.legend()
        paths.append(save_figure(fig, out / "precision_over_time.png"))
    if report["calibration"]:
        fig, ax = plt.subplots(figsize=(5, 5))
        cal = report["calibration"]
        predicted, observed = [c["predicted"] for c in cal], [c["observed"] for c in cal]
        top = max(max(predicted), max(observed), 1e-3)
        ax.plot([0, top], [0, top], ":", color="grey", label="perfect")
        ax.plot(predicted, observed, "o-", label="deciles")
        ax.set(
            title="Calibration on matured days",
            xlabel="mean predicted probability",
            ylabel="observed complaint rate",
        )
        ax.legend()
        paths.append(save_figure(fig, out / "calibration.png"))
    if report["feature_psi"]:
        worst = sorted(report["feature_psi"].items(), key=lambda kv: -kv[1])[:TOP_PSI]
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(worst) + 1.5))
        ax.barh([n for n, _ in worst][::-1], [v for _, v in worst][::-1])
        ax.axvline(report["thresholds"]["feature_psi_alert"], color="red", ls="--", label="alert")
        ax.set(title=f"Feature drift (top {len(worst)})", xlabel="PSI against training")
        ax.legend()
        paths.append(save_figure(fig, out / "feature_psi.png"))
    return paths


def write_html(report: dict, plots: list[Path], path: Path) -> Path:
    """A self-contained page (plots inline) for the outreach lead and the data scientist."""
    page = render(
        __file__,
        "monitoring.html",
        report=report,
        effect=report["outreach_effect"],
        plots=[(p.stem, inline_png(p)) for p in plots],
        pct=_pct,
    )
    write_text(path, page)
    return path


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def log_report(report: dict, config: RadarConfig) -> Path:
    """Write plots and the HTML page to the workspace and log them, with the JSON, to an
    MLflow run of the monitoring experiment; returns the page."""
    out = config.workspace.monitoring_dir
    with tempfile.TemporaryDirectory() as tmp:
        plots = write_plots(report, Path(tmp))
        page = write_html(report, plots, out / REPORT_FILE)
        client = registry.connect(config)
        name = config.registry.experiment + MONITORING_EXPERIMENT_SUFFIX
        registry.ensure_experiment(client, name, config)
        registry.fail_dead_runs(client, name)  # a killed monitor's run is not left RUNNING
        mlflow.set_experiment(name)
        run_name = f"monitor {report['data_observed_until'][:10]}"
        with mlflow.start_run(run_name=run_name, tags=registry.owner_tags()):
            mlflow.log_dict(report, "monitoring.json")
            mlflow.log_artifact(str(page))
            if plots:
                mlflow.log_artifacts(tmp, artifact_path="plots")
            if report["score_psi"] is not None:
                mlflow.log_metric("score_psi", report["score_psi"])
            mlflow.log_metric("alerts", len(report["alerts"]))
    return page
