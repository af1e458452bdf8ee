"""Benchmark `open_bundle` → `load_bundle` → rules on a synthetic cluster (not collected by pytest).

Builds the bundle straight from the fakecluster payload generators (no collector), then times each
phase in this process and prints peak RSS:

    .venv/bin/python -m tests.analyzer.bench_analyze --nodes 200 --pods-per-node 20
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.limits import DEFAULT
from analyzer.load import load_bundle
from tests.analyzer.tarhelp import jbytes, write_bundle
from tests.fakecluster import certs, k8s, payloads, scenarios
from tests.fakecluster.scenario import Role
from ztbundle import layout


def build(nodes: int, pods_per_node: int, out: Path) -> tuple[Path, int]:
    scn = scenarios.synthetic(nodes=nodes, pods_per_node=pods_per_node)
    members = {
        layout.PODS: jbytes({"items": [k8s.pod_object(scn, p) for p in scn.pods]}),
        layout.NODES: jbytes({"items": [k8s.node_object(scn, n) for n in scn.nodes]}),
        layout.NAMESPACES: jbytes(
            {
                "items": [
                    k8s.namespace_object(
                        scn, n.name, {"istio.io/dataplane-mode": "ambient"} if n.ambient else {}
                    )
                    for n in scn.namespaces
                ]
            }
        ),
    }
    for zt in scn.pods_by_role(Role.ZTUNNEL):
        members[layout.ztunnel_config_dump(zt.name)] = payloads.ztunnel_config_dump_bytes(scn, zt.node or "")
    istiod = scn.pods_by_role(Role.ISTIOD)[0]
    members[layout.istiod_ambientz(istiod.name)] = jbytes(payloads.ambientz(scn))
    return write_bundle(out, members, at=certs.rfc3339(scn.now)), len(scn.pods)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods-per-node", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, pods = build(args.nodes, args.pods_per_node, Path(tmp) / "bench.tar.gz")
        size = path.stat().st_size
        t0 = time.perf_counter()
        files = open_bundle(path, DEFAULT.scaled(8))
        t1 = time.perf_counter()
        bundle = load_bundle(files)
        t2 = time.perf_counter()
        result = analyze_bundle(bundle)
        t3 = time.perf_counter()
    entries = sum(len(z.xds.workloads) for z in bundle.ztunnels)
    unique = len({id(w) for z in bundle.ztunnels for w in z.xds.workloads.values()})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.nodes} ztunnels, {pods} pods, {entries} workload entries ({unique} unique objects), "
        f"bundle {size / 2**20:.1f} MiB"
    )
    print(
        f"read {t1 - t0:.2f}s  load {t2 - t1:.2f}s  rules {t3 - t2:.2f}s  total {t3 - t0:.2f}s  "
        f"peak RSS {rss:.0f} MiB  findings {len(result.findings)}"
    )


if __name__ == "__main__":
    main()
