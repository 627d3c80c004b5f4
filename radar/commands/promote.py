"""``radar promote``: make a registered version the champion by hand."""

from __future__ import annotations

import argparse

from radar.commands.common import config_of

NAME = "promote"
HELP = "make a registered version the champion"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", type=int, required=True)


def run(args: argparse.Namespace) -> int:
    from training import registry

    config = config_of(args)
    client = registry.connect(config)
    client.get_model_version(config.registry.model_name, str(args.version))
    registry.set_alias(client, config.registry.model_name, registry.CHAMPION, args.version)
    print(f"{config.registry.model_name} version {args.version} is now champion")
    return 0
