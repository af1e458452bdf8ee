"""Benchmark `ztbundle collect` against a synthetic FakeCluster with 50 ms latency on every request.

Prints requests made, wall time, the concurrency-bound ideal (requests × latency ÷ concurrency), their
ratio, the collector's peak RSS and CPU (collect runs in a child process), the transport floor
(`bench.floor`: the same requests by the thinnest client) and both clients' CPU per MB moved, and the
simulated server's CPU (this process) during the collect and during the floor. Before the collect the
fake's render caches are warmed in-process (`bench.warm`), so collect and floor meet the same warm
server (the floor replays after the collect) and neither pays the fake's renders. `--timeline` reads the
bundle's manifest (every artifact's start and finish, in ms) and says how many requests were in flight
over the run, where the collector idled below its concurrency, and how long the end (logs, manifest,
leak scan) took after the last artifact landed.

    .venv/bin/python -m bench.collect --nodes 100        # or --nodes 500, or both: --nodes 100 500
    .venv/bin/python -m bench.collect --nodes 50 --timeline --profile /tmp/collect.txt   # py-spy, raw stacks
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakecluster import FakeCluster, Fault, scenarios  # noqa: E402


def bench(
    nodes: int,
    latency_s: float,
    concurrency: int,
    pods_per_node: int,
    profile: Path | None = None,
    istio: str = "1.24.2",
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle.tar.gz"
        r = collect_into(out, nodes, latency_s, concurrency, pods_per_node, profile=profile, istio=istio)
        if out.exists():
            r.update(timeline(out, r["launched_at"], concurrency))
        return r


def collect_into(
    out: Path,
    nodes: int,
    latency_s: float,
    concurrency: int,
    pods_per_node: int,
    extra: tuple[str, ...] = (),
    cluster: FakeCluster | None = None,
    profile: Path | None = None,
    istio: str = "1.24.2",
) -> dict[str, float]:
    """Collect into `out` (kept) and measure; `extra` flags go to `ztbundle collect`.

    Peak RSS is the child's own (`os.wait4`), so several runs in one process do not blur together.
    Pass a running `cluster` to collect it again (e.g. with and without dedup) without rebuilding it.
    `profile`: run the collector under `py-spy record --gil` (raw stacks to that file): samples of the
    thread holding the GIL, i.e. where the collector's Python runs (TLS, hashing and zlib outside the
    GIL do not show); its CPU and RSS then include py-spy's.
    """
    from bench.analyze import run_child
    from bench.warm import warm

    own = cluster is None
    if cluster is None:
        # Istio 1.24 as in bench.run: istiod's per-proxy WDS views carry the whole mesh (1.25+ answer `{}`).
        scn = scenarios.synthetic(nodes=nodes, pods_per_node=pods_per_node)
        scn = scn.with_overrides(istio_version=istio)
        cluster = FakeCluster(scn)
        cluster.start()
    cluster.faults[:] = [Fault.latency(latency_s)] if latency_s else []
    warm_s = warm(cluster.scenario)  # so the collect meets the warm server its floor will meet
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
        if profile is not None:
            spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            cmd = [spy, "record", "--gil", "--format", "raw", "--rate", "50", "-o", str(profile), "--", *cmd]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = resource.getrusage(resource.RUSAGE_SELF)
        launched_at = time.time()
        run = run_child(cmd)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_after = resource.getrusage(resource.RUSAGE_SELF)
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
        "server_cpu_s": _cpu(server_after) - _cpu(server_before),
        "launched_at": launched_at,
        "warm_s": warm_s,
        **floor,
    }


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def timeline(bundle: Path, launched_at: float, concurrency: int) -> dict[str, float]:
    """Requests in flight over the run, from the manifest's per-artifact start and finish (ms).

    `first_s`: from launching the child to the first request (interpreter start, kubeconfig,
    discovery); `mean_in_flight` over the fetch span; `below_s`: time in that span with fewer than
    `concurrency` artifacts in flight; `tail_s`: from the last artifact's finish to the manifest's
    finish (deferred logs, tool log, manifest render) — the leak scan and rename come after it.
    """
    with tarfile.open(bundle, "r:gz") as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        doc = json.load(member)
    spans = sorted(
        (_when(a["started_at"]), _when(a["finished_at"]))
        for a in doc["artifacts"]
        if a.get("started_at") and a.get("finished_at") and a["path"] != "ztbundle.log"
    )
    if not spans:
        return {}
    events = sorted([(s, 1) for s, _ in spans] + [(f, -1) for _, f in spans])
    level, last, area, below = 0, events[0][0], 0.0, 0.0
    for at, step in events:
        area += level * (at - last)
        below += (at - last) if level < concurrency else 0.0
        level, last = level + step, at
    start, end = spans[0][0], max(f for _, f in spans)
    return {
        "first_s": start - launched_at,
        "fetch_s": end - start,
        "mean_in_flight": area / (end - start) if end > start else 0.0,
        "below_s": below,
        "tail_s": _when(doc["finished_at"]) - end,
    }


def _floor(cluster: FakeCluster, records: list[Any], concurrency: int, jobs: Path) -> dict[str, float]:
    """Replay the collect's requests with the thinnest client (`bench.floor`), in its own child."""
    from bench.analyze import run_child
    from bench.floor import requests_of

    jobs.write_text(json.dumps(requests_of(records)))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = resource.getrusage(resource.RUSAGE_SELF)
        run = run_child(
            [sys.executable, "-m", "bench.floor", str(cluster.kubeconfig), str(jobs), str(concurrency)]
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        jobs.unlink(missing_ok=True)
    if run.exit != 0:
        sys.exit(f"bench: transport floor failed: {run.stderr.strip()[-600:]}")
    wall, moved = run.stdout.split()
    return {
        "floor_s": float(wall),
        "floor_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "floor_server_cpu_s": _cpu(server_after) - _cpu(server_before),
        "moved_mb": int(moved) / 1e6,
    }


def stages(nodes: int, pods_per_node: int, istio: str) -> None:
    """Collector CPU per MB of each stage a body goes through, in this process, in steady state.

    Eight ztunnels' config_dumps and their istiod per-proxy views, as the simulated cluster serves
    them, each pushed three times through what a worker and the writer do (Body from 256 KiB chunks,
    judge, redact, `BundleWriter.put`) with one RunCache; the first round warms the run's memos and
    is not counted. `time.process_time`, so no server or neighbour is in the figure.
    """
    from collector import judge, members, redact
    from collector.archive import BundleWriter
    from collector.body import Body
    from collector.runcache import RunCache
    from collector.steps import ztunnel_config_dump
    from tests.fakecluster.admin import Pieces, admin_response
    from tests.fakecluster.scenario import Role
    from ztbundle.layout import Input

    scn = scenarios.synthetic(nodes=nodes, pods_per_node=pods_per_node).with_overrides(istio_version=istio)
    ztunnels, istiods = scn.pods_by_role(Role.ZTUNNEL)[:8], scn.pods_by_role(Role.ISTIOD)

    def served(pod: Any, port: int, path: str) -> bytes | None:
        resp = admin_response(scn, pod, port, path)
        if resp is None or resp.status != 200:
            return None
        body = resp.body
        return (
            body.joined() if isinstance(body, Pieces) else body if isinstance(body, bytes) else b"".join(body)
        )

    dumps = [served(z, 15000, "/config_dump") or b"" for z in ztunnels]
    views = [
        next(
            v for i in istiods if (v := served(i, 15014, f"/debug/config_dump?proxyID={z.name}.istio-system"))
        )
        for z in ztunnels
    ]

    def run(label: str, bodies: list[bytes], input_: Input, version_of: Any) -> None:
        cache, took, mb = RunCache(), dict.fromkeys(("body", "judge", "redact", "write"), 0.0), 0.0
        with tempfile.TemporaryDirectory() as tmp:
            writer = BundleWriter(Path(tmp) / "b.tar.gz")
            for rnd in range(3):
                for k, data in enumerate(bodies):
                    t0 = time.process_time()
                    body = Body()
                    for at in range(0, len(data), 256 << 10):
                        body.write(data[at : at + (256 << 10)])
                    t1 = time.process_time()
                    read = members.Read(body.read_bytes(), cache.known)
                    judge.judge_read(read, body, version_of, input_, cache)
                    t2 = time.process_time()
                    out, _, _ = redact.apply(f"s/{rnd}/{k}", body, None, is_json=True, cache=cache, read=read)
                    assert out is not None
                    _ = out.sha256_from(read.data) if out is body else out.sha256
                    if out is body and read.split is not None:  # as the runner does
                        out.layout = read.layout()
                    del read
                    t3 = time.process_time()
                    writer.put(f"s/{rnd}/{k}.json", out, input_)
                    out.close()
                    if rnd:
                        mb += len(data) / 1e6
                        for key, dt in zip(
                            took, (t1 - t0, t2 - t1, t3 - t2, time.process_time() - t3), strict=True
                        ):
                            took[key] += dt
            writer.abort()
        size = len(bodies[0]) / 1e6
        parts = " ".join(f"{k} {1000 * v / mb:.2f}" for k, v in took.items())
        print(
            f"{label} ({size:.2f} MB): {parts}; total {1000 * sum(took.values()) / mb:.2f} ms/MB", flush=True
        )

    run("ztunnel config_dump", dumps, Input.ZTUNNEL_CONFIG, lambda d: ztunnel_config_dump.version_of(None, d))  # type: ignore[arg-type]
    run("istiod per-proxy view", views, Input.ISTIOD_PROXY_CONFIG, None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[100], help="cluster sizes to run (100, 500)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--pods-per-node", type=int, default=20)
    p.add_argument("--istio", default="1.24.2", help="Istio version the simulated cluster runs")
    p.add_argument("--timeline", action="store_true", help="requests in flight over the run (manifest)")
    p.add_argument("--profile", type=Path, help="run the collector under py-spy; raw stacks to this file")
    p.add_argument("--stages", action="store_true", help="CPU per MB of each stage a body goes through")
    args = p.parse_args()
    if args.stages:
        for n in args.nodes:
            stages(n, args.pods_per_node, args.istio)
        return
    cols = ["nodes", "exit", "requests", "wall s", "ideal s", "ratio", "floor s", "/floor", "RSS MB"]
    cols += ["bundle MB", "CPU s", "MB moved", "CPU ms/MB", "floor ms/MB", "server s", "floor srv"]
    print(" ".join(f"{c:>9}" for c in cols))
    for n in args.nodes:
        r = bench(n, args.latency, args.concurrency, args.pods_per_node, args.profile, args.istio)
        print(
            f"{r['nodes']:>9} {r['exit']:>9} {r['requests']:>9} {r['wall_s']:>9.1f} {r['ideal_s']:>9.1f} "
            f"{r['ratio']:>9.2f} {r['floor_s']:>9.1f} {r['wall_s'] / r['floor_s']:>9.2f} "
            f"{r['peak_rss_mb']:>9.0f} {r['bundle_mb']:>9.1f} {r['collector_cpu_s']:>9.1f} "
            f"{r['moved_mb']:>9.1f} {1000 * r['collector_cpu_s'] / r['moved_mb']:>9.1f} "
            f"{1000 * r['floor_cpu_s'] / r['moved_mb']:>9.1f} {r['server_cpu_s']:>9.1f} "
            f"{r['floor_server_cpu_s']:>9.1f}",
            flush=True,
        )
        if args.timeline and "fetch_s" in r:
            print(
                f"  timeline: first request {r['first_s']:.1f} s after launch; fetching {r['fetch_s']:.1f} s "
                f"with {r['mean_in_flight']:.1f} in flight on average, {r['below_s']:.1f} s below "
                f"{args.concurrency}; {r['tail_s']:.1f} s from the last artifact to the manifest",
                flush=True,
            )


if __name__ == "__main__":
    main()
