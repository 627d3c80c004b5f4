"""The ``radar`` command: the roof of the project, imported by nothing. Each command is a
module of :mod:`radar.commands`; every error is one line (``-v`` adds the traceback)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from experiments.config import ConfigError
from radar.commands import COMMANDS
from radar.commands.common import COMMON_DEFAULTS, common_options

log = logging.getLogger("radar")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("mlflow", "alembic", "urllib3", "git", "bentoml", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="radar", description="Predict customer complaints 48 hours ahead.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        p = sub.add_parser(
            command.NAME, parents=[common], help=command.HELP, description=command.HELP
        )
        command.arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name, default in COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # every failure is one line; -v shows where it came from
        if args.verbose:
            log.exception("%s failed", args.command)
        else:
            log.error("%s (run with -v for the traceback)", _one_line(exc))
        return 2


def _one_line(exc: BaseException) -> str:
    """The error for a terminal: its message, with the kind for anything but our own checks."""
    ours = (ConfigError, FileNotFoundError, LookupError, ValueError, OSError)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ours) else f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
