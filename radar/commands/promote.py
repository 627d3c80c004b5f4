"""``radar promote``: make a registered version the champion by hand."""

from __future__ import annotations

import argparse

from radar.commands.common import config_of

NAME = "promote"
HELP = "make a registered version the champion"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", type=int, required=True)
    p.add_argument(
        "--uplift",
        action="store_true",
        help="promote a version of the uplift model (whom a call helps), past radar uplift's gate",
    )


def run(args: argparse.Namespace) -> int:
    from training import registry

    config = config_of(args)
    name = config.registry.uplift_model_name if args.uplift else config.registry.model_name
    client = registry.connect(config)
    client.get_model_version(name, str(args.version))
    registry.set_alias(client, name, registry.CHAMPION, args.version)
    print(f"{name} version {args.version} is now champion")
    return 0
