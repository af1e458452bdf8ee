"""The large-cluster guard: before a big unfiltered run, say what is about to happen.

Like cilium sysdump (`LargeSysdumpThreshold` 20 nodes, 5 s abort window): above `NODE_THRESHOLD`
nodes without `--node` or `--since`, the CLI prints this estimate, and pauses so the user can
Ctrl-C only when the estimate is long (`LONG_RUN_S`); `--yes` skips the pause. This module only
computes; the CLI prints and waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.discovery import Plan

NODE_THRESHOLD = 20
PAUSE_S = 5.0
LONG_RUN_S = 30.0  # a pause is worth it only when the run itself takes much longer than the pause
ASSUMED_RTT_S = 0.05  # a typical API-server/port-forward round trip; only used for the estimate
# Compressed bytes each ztunnel adds to a format-2 bundle beyond the shared mesh: its own
# certificates, config and workloadState pieces, metrics and manifest entries (measured on the
# synthetic cluster, see bench/README.md); logs are excluded because --max-size bounds them.
PER_ZTUNNEL_BYTES = 24 << 10


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a run will cost, as far as discovery can tell."""

    nodes: int
    requests: int
    seconds: float
    dump_bytes: int
    max_size: int

    def lines(self) -> list[str]:
        return [
            f"large cluster: {self.nodes} nodes with ztunnel and no --node or --since given",
            f"about to make ~{self.requests} requests (~{self.seconds:.1f} s at "
            f"{ASSUMED_RTT_S * 1000:.0f} ms each with this --concurrency)",
            f"dumps ~{self.dump_bytes / 1e6:.1f} MB compressed (always kept); logs trimmed to keep the "
            f"bundle under --max-size {self.max_size / 1e6:.0f} MB",
        ]


def nodes_of(plan: Plan) -> int:
    """Nodes running a selected ztunnel (the DaemonSet covers every node that matters here)."""
    return len({p.node or p.name for p in plan.ztunnels})


def applies(plan: Plan) -> bool:
    """True when the run is large and unfiltered."""
    o = plan.options
    return nodes_of(plan) > NODE_THRESHOLD and not o.nodes and not o.since_s


def estimate(plan: Plan, planned: int, concurrency: int, max_size: int) -> Estimate:
    """Requests = planned items (+ the discovery already done); time bound by concurrency."""
    requests = planned + 4
    return Estimate(
        nodes=nodes_of(plan),
        requests=requests,
        seconds=requests * ASSUMED_RTT_S / max(1, concurrency),
        dump_bytes=len(plan.ztunnels) * PER_ZTUNNEL_BYTES,
        max_size=max_size,
    )


def worth_pausing(est: Estimate) -> bool:
    """True when the estimated run is long enough that a pause to reconsider costs little."""
    return est.seconds >= LONG_RUN_S
