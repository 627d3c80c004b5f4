"""Wall time and peak memory of simulate / train / score as the world grows, beside a
feature-engine peer written as DuckDB SQL, in the same run.

For each ``--customers`` size: ``radar simulate --no-truth``, ``radar train`` and
``radar score``, each a separate process timed by ``/usr/bin/time -v`` (wall clock and
maximum resident set size), with the experiment file given by ``--config`` (the
training-set sampling lives there). Then ``benchmarks/feature_peer.py`` on the same world:
ten catalogue features written as DuckDB SQL over the same cutoffs (every customer at the
last 7 midnights) against ``build_features`` asked for the same ten, values checked equal
(and ``build_features`` for the whole catalogue, timed beside them).
``--peer-config`` trains a second time with another experiment file (e.g. the unsampled
defaults); ``--spark-sizes`` also runs ``train`` and ``score`` with ``--engine spark``
(local mode; the peak is the largest process, the JVM or a Python worker) for those sizes.

Usage:
    .venv/bin/python benchmarks/scale.py --customers 30000 100000 300000 1000000 \
        --days 120 --config experiments/scale.yaml [--spark-sizes 100000] [--append]

Worlds and workspaces go to ``--work`` (default: workspace/scale), replaced per size.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.feature_peer import TABLE_HEAD, table_row  # noqa: E402
from benchmarks.results import append_result  # noqa: E402

RADAR = [sys.executable, "-m", "radar.cli"]
PEER = [sys.executable, str(ROOT / "benchmarks" / "feature_peer.py")]


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
    if size in args.spark_sizes:
        day = json.loads((world / "manifest.json").read_text())["observed_until"][:10]
        spark = [*RADAR, "--config", str(args.config), "--workspace", str(work / "ws-spark")]
        result["train (spark)"] = timed(
            [*spark, "train", "--engine", "spark", "--data", str(world)], work / "spark-train.log"
        )
        result["score (spark)"] = timed(
            [*spark, "score", "--engine", "spark", "--date", day, "--data", str(world)],
            work / "spark-score.log",
        )
    peer = work / "feature_peer.json"
    subprocess.run(
        [*PEER, "--data", str(world), "--days", "7", "--json", str(peer)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    result["features"] = json.loads(peer.read_text())[0]
    return result


def table(results: dict[int, dict], args: argparse.Namespace) -> str:
    # Every stage any size ran (Spark runs only at --spark-sizes), in the order first seen.
    stages = list(dict.fromkeys(s for r in results.values() for s in r if s != "features"))
    lines = [
        "| customers | " + " | ".join(f"{s} s | {s} GB" for s in stages) + " |",
        "|---|" + "---|---|" * len(stages),
    ]
    for size, r in results.items():
        cells = " | ".join(
            f"{r[s]['seconds']:.0f} | {r[s]['rss_gb']:.2f}" if s in r else " | " for s in stages
        )
        lines.append(f"| {size:,} | {cells} |")
    lines += [
        "",
        "Feature engine vs DuckDB SQL on the same world, every customer at the last 7 midnights "
        "(loading not timed; values compared to 1e-9):",
        "",
        *TABLE_HEAD,
    ]
    lines += [table_row(r["features"]) for r in results.values()]
    sizes = list(results)
    if len(sizes) >= 2:
        lines.append("")
        for stage in stages:
            first, last = results[sizes[0]].get(stage), results[sizes[-1]].get(stage)
            if first and last:
                growth = sizes[-1] / sizes[0]
                lines.append(
                    f"{stage}: {sizes[0]:,} -> {sizes[-1]:,} customers ({growth:.0f}x): "
                    f"{last['seconds'] / first['seconds']:.1f}x time, "
                    f"{last['rss_gb'] / first['rss_gb']:.1f}x peak memory  "
                )
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
    parser.add_argument(
        "--customers", type=int, nargs="+", default=[30000, 100000, 300000, 1000000]
    )
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--spark-sizes", type=int, nargs="*", default=[])
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
