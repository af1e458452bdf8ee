"""`python -m tests.fakecluster serve ...`: run a simulated cluster for humans and benchmarks."""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
from datetime import datetime
from pathlib import Path

from tests.fakecluster import FakeCluster, Fault, scenarios


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add Z)")
    return when


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakecluster")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a scenario until interrupted")
    serve.add_argument("--scenario", choices=sorted(scenarios.SCENARIOS), default="bookinfo")
    serve.add_argument("--nodes", type=int, default=10, help="synthetic: number of nodes")
    serve.add_argument("--pods-per-node", type=int, default=20, help="synthetic: app pods per node")
    serve.add_argument("--seed", type=int, default=0, help="synthetic: namespace spread seed")
    serve.add_argument("--latency-ms", type=float, default=0, help="added to every request")
    serve.add_argument("--kubeconfig", type=Path, help="also copy the kubeconfig here")
    serve.add_argument(
        "--refuse-websocket",
        action="store_true",
        help="refuse the WebSocket port-forward upgrade, as some API proxies do (kubectl's SPDY still works)",
    )
    serve.add_argument(
        "--now",
        type=_utc,
        help="pin the scenario clock (ISO 8601, e.g. 2025-06-01T12:00:00Z; default: wall clock at start)",
    )
    args = parser.parse_args(argv)
    if args.scenario == "synthetic":
        scn = scenarios.synthetic(args.nodes, args.pods_per_node, args.seed)
    else:
        scn = scenarios.SCENARIOS[args.scenario]()
    faults = [Fault.websocket_refused()] if args.refuse_websocket else []
    with FakeCluster(scn, faults, latency_ms=args.latency_ms, now=args.now) as cluster:
        path = cluster.kubeconfig
        if args.kubeconfig:
            shutil.copyfile(cluster.kubeconfig, args.kubeconfig)
            path = args.kubeconfig
        print(path, flush=True)
        print(
            f"context {cluster.context} ({len(scn.pods)} pods on {len(scn.nodes)} nodes) at {cluster.url}, "
            f"clock {cluster.scenario.now:%Y-%m-%dT%H:%M:%SZ}; "
            "Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print(f"served {len(cluster.requests)} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
