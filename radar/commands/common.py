"""What the commands share: the configuration of a command line, and the data arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.config import CONFIG_ENV, DEFAULT_CONFIG, RadarConfig, load_config, with_section

# The options every command takes, before or after the command's name, and their defaults.
COMMON_DEFAULTS = {"config": None, "workspace": None, "verbose": False}


def common_options() -> argparse.ArgumentParser:
    """The options every command takes (a parent parser); given nowhere, COMMON_DEFAULTS."""
    common = argparse.ArgumentParser(add_help=False)
    unset = argparse.SUPPRESS  # so that the same option after the command does not undo it
    common.add_argument(
        "--config",
        type=Path,
        default=unset,
        help=f"experiment YAML (default: ${CONFIG_ENV} or {DEFAULT_CONFIG.name})",
    )
    common.add_argument(
        "--workspace", type=Path, default=unset, help="output folder (default: workspace/)"
    )
    common.add_argument("-v", "--verbose", action="store_true", default=unset, help="tracebacks")
    return common


def config_of(args: argparse.Namespace) -> RadarConfig:
    """The configuration the command line names (--config, --workspace, --mapping)."""
    overrides = {"workspace": {"root": args.workspace}} if args.workspace else {}
    config = load_config(args.config, **overrides)
    if getattr(args, "mapping", None) is not None:
        config = with_section(config, "data", mapping=args.mapping)
    return config


def mapping_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mapping",
        type=Path,
        help="YAML mapping of the export's files, columns, values and time formats to the "
        "contract (default: data.mapping of the config)",
    )


def data_source(value: str) -> Path | str:
    """A local folder, or (for the Spark engine) a URI kept as written: Path would fold its //."""
    return value if "://" in value else Path(value)


def engine_argument(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--engine", choices=("embedded", "spark"), default="embedded", help=help)


def load_export(config: RadarConfig, data: Path):
    """The export at ``data`` through the contract (and the configured mapping); rows set
    aside go to the workspace's rejects."""
    from data.load import load_history

    history, _ = load_history(data, config.workspace.data_rejects_dir, config.data)
    return history
