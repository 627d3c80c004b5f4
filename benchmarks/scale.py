"""Wall time and peak memory of simulate / train / score as the world grows.

For each ``--customers`` size: ``radar simulate --no-truth``, ``radar train`` and
``radar score``, each a separate process timed by ``/usr/bin/time -v`` (wall clock and
maximum resident set size), with the experiment file given by ``--config`` (the
training-set sampling lives there). ``--peer-config`` trains a second time on the same
world with another experiment file in the same run, e.g. the unsampled defaults, so that
the ratio of the two is measured on the same machine at the same moment.

Usage:
    .venv/bin/python benchmarks/scale.py --customers 30000 100000 --days 150 \
        --config experiments/scale.yaml [--peer-config experiments/default.yaml] [--append]

Worlds and workspaces go to ``--work`` (default: workspace/scale), replaced per size.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402

RADAR = [sys.executable, "-m", "radar.cli"]


def timed(cmd: list[str], log: Path) -> dict[str, float]:
    """Run ``cmd`` under /usr/bin/time -v; return wall seconds and peak RSS in GB."""
    with log.open("w") as out:
        done = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=out, stderr=subprocess.STDOUT)
    text = log.read_text()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"seconds": seconds, "rss_gb": rss_kb / 1024**2}


def measure(size: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    work = args.work / f"c{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = work / "world"
    simulate = ["simulate", "--out", str(world), "--customers", str(size), "--days", str(args.days)]
    simulate += ["--seed", str(args.seed), "--no-truth"]
    result = {"simulate": timed([*RADAR, *simulate], work / "simulate.log")}
    configs = {
        "train": args.config,
        **({"train (peer)": args.peer_config} if args.peer_config else {}),
    }
    for stage, config in configs.items():
        ws = work / ("ws" if stage == "train" else "ws-peer")
        base = [*RADAR, "--config", str(config), "--workspace", str(ws)]
        result[stage] = timed([*base, "train", "--data", str(world)], work / f"{ws.name}-train.log")
    base = [*RADAR, "--config", str(args.config), "--workspace", str(work / "ws")]
    result["score"] = timed([*base, "score", "--data", str(world)], work / "score.log")
    return result


def table(results: dict[int, dict], args: argparse.Namespace) -> str:
    stages = list(next(iter(results.values())))
    lines = [
        "| customers | " + " | ".join(f"{s} s | {s} GB" for s in stages) + " |",
        "|---|" + "---|---|" * len(stages),
    ]
    for size, r in results.items():
        cells = " | ".join(f"{r[s]['seconds']:.0f} | {r[s]['rss_gb']:.2f}" for s in stages)
        lines.append(f"| {size:,} | {cells} |")
    if args.peer_config:
        lines.append("")
        for size, r in results.items():
            lines.append(
                f"{size:,} customers: train vs peer: {r['train']['seconds'] / r['train (peer)']['seconds']:.2f}x time, "
                f"{r['train']['rss_gb'] / r['train (peer)']['rss_gb']:.2f}x peak memory  "
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[30000, 100000, 300000])
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--config", type=Path, default=ROOT / "experiments" / "scale.yaml")
    parser.add_argument("--peer-config", type=Path)
    parser.add_argument("--work", type=Path, default=Path("workspace/scale"))
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    results = {}
    for size in args.customers:
        results[size] = measure(size, args)
        print(f"{size}: {results[size]}", flush=True)
    text = table(results, args)
    print(text)
    if args.append:
        append_result(
            f"Scale, {args.days}-day worlds", text, "each stage a process under /usr/bin/time -v"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
