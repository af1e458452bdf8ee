"""Benchmark `ztbundle collect` against a synthetic FakeCluster with 50 ms latency on every request.

Prints requests made, wall time, the concurrency-bound ideal (requests × latency ÷ concurrency), their
ratio, and the collector's peak RSS (collect runs in a child process, measured with RUSAGE_CHILDREN).

    .venv/bin/python -m bench.collect --nodes 100        # or --nodes 500, or both: --nodes 100 500
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakecluster import FakeCluster, Fault, scenarios  # noqa: E402


def bench(nodes: int, latency_s: float, concurrency: int, pods_per_node: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return collect_into(Path(tmp) / "bundle.tar.gz", nodes, latency_s, concurrency, pods_per_node)


def collect_into(
    out: Path,
    nodes: int,
    latency_s: float,
    concurrency: int,
    pods_per_node: int,
    extra: tuple[str, ...] = (),
    cluster: FakeCluster | None = None,
) -> dict[str, float]:
    """Collect into `out` (kept) and measure; `extra` flags go to `ztbundle collect`.

    Peak RSS is the child's own (`os.wait4`), so several runs in one process do not blur together.
    Pass a running `cluster` to collect it again (e.g. with and without dedup) without rebuilding it.
    """
    from bench.analyze import run_child

    own = cluster is None
    if cluster is None:
        cluster = FakeCluster(scenarios.synthetic(nodes=nodes, pods_per_node=pods_per_node))
        cluster.start()
    cluster.faults[:] = [Fault.latency(latency_s)] if latency_s else []
    try:
        before = len(cluster.requests)
        cmd = [
            sys.executable,
            "-m",
            "ztbundle",
            "collect",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            cluster.context,
            "--out-file",
            str(out),
            "--force",  # a kept bench bundle is overwritten on purpose
            "--concurrency",
            str(concurrency),
            "--quiet",
            "--yes",
            *extra,
        ]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = run_child(cmd)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        requests = len(cluster.requests) - before
        floor = _floor(cluster, cluster.requests[before:], concurrency, out.with_suffix(".requests.json"))
    finally:
        if own:
            cluster.stop()
    if run.exit not in (0, 4):
        sys.exit(f"collect failed with exit {run.exit}: {run.stderr.strip()[-600:]}")
    ideal = requests * latency_s / concurrency
    return {
        "nodes": nodes,
        "exit": run.exit,
        "requests": requests,
        "wall_s": run.wall_s,
        "ideal_s": ideal,
        "ratio": run.wall_s / ideal if ideal else float("nan"),
        "peak_rss_mb": run.peak_rss_mib,
        "collector_cpu_s": (cpu_after.ru_utime + cpu_after.ru_stime)
        - (cpu_before.ru_utime + cpu_before.ru_stime),
        "bundle_mb": out.stat().st_size / 1e6 if out.exists() else 0.0,
        **floor,
    }


def _floor(cluster: FakeCluster, records: list[Any], concurrency: int, jobs: Path) -> dict[str, float]:
    """Replay the collect's requests with the thinnest client (`bench.floor`), in its own child."""
    from bench.analyze import run_child
    from bench.floor import requests_of

    jobs.write_text(json.dumps(requests_of(records)))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = run_child(
            [sys.executable, "-m", "bench.floor", str(cluster.kubeconfig), str(jobs), str(concurrency)]
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        jobs.unlink(missing_ok=True)
    if run.exit != 0:
        sys.exit(f"bench: transport floor failed: {run.stderr.strip()[-600:]}")
    wall, moved = run.stdout.split()
    return {
        "floor_s": float(wall),
        "floor_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "moved_mb": int(moved) / 1e6,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[100], help="cluster sizes to run (100, 500)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--pods-per-node", type=int, default=20)
    args = p.parse_args()
    cols = ("nodes", "exit", "requests", "wall s", "ideal s", "ratio", "RSS MB", "bundle MB", "CPU s")
    print(" ".join(f"{c:>{w}}" for c, w in zip(cols, (6, 4, 9, 8, 8, 6, 7, 9, 6), strict=True)))
    for n in args.nodes:
        r = bench(n, args.latency, args.concurrency, args.pods_per_node)
        print(
            f"{r['nodes']:>6} {r['exit']:>4} {r['requests']:>9} {r['wall_s']:>8.1f} {r['ideal_s']:>8.1f} "
            f"{r['ratio']:>6.2f} {r['peak_rss_mb']:>7.0f} {r['bundle_mb']:>9.1f} "
            f"{r['collector_cpu_s']:>6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
