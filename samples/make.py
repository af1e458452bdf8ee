"""Regenerate the committed sample bundles by running the real `ztbundle collect` against FakeCluster.

    .venv/bin/python samples/make.py              # writes bookinfo, broken and istioctl-bug-report .tar.gz
    .venv/bin/python samples/make.py --out /tmp   # somewhere else (the e2e tests do this)

Samples are never hand-written: each one is what the collector wrote while talking, over sockets, to a
simulated cluster. `bookinfo` is the healthy scenario; `broken` is the fakecluster's `broken()` scenario
plus the few faults it lacks (see `broken_sample`), so that every rule of the analyzer fires at least once.
`istioctl-bug-report` is the same broken cluster as `istioctl bug-report` would have archived it,
written by tests/bugreport/make_archive.py (which follows istioctl's code; no collector involved).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the fakecluster lives in the tests package
    sys.path.insert(0, str(ROOT))

from tests.fakecluster import FakeCluster, Scenario, scenarios  # noqa: E402
from tests.fakecluster.scenario import Drift, Pod, app_pod  # noqa: E402
from tests.fakecluster.scenarios import NODES, hbone_timeout  # noqa: E402

HERE = Path(__file__).resolve().parent

UNCAPTURED = "notify-v1"  # workload of the pod istio-cni never captured (ZT301, ZT201)
MISSING_WAYPOINT = "reviews-waypoint"  # a waypoint the reviews Service points at but nobody deployed
DROPPED_SERVICE = "default/ratings"  # the service node 2's ztunnel never received (ZT402)

REQUIRED = frozenset(
    {
        *(f"ZT10{i}" for i in range(1, 4)),
        *(f"ZT20{i}" for i in range(1, 7)),
        *(f"ZT30{i}" for i in range(1, 4)),
        *(f"ZT40{i}" for i in range(1, 6)),
        *(f"ZT50{i}" for i in range(1, 5)),
    }
)
"""Codes the broken sample must show; it also shows every ZT6xx (log rules) the scenario supports."""


def _app(scn: Scenario, app: str) -> Pod:
    return next(p for p in scn.pods if p.labels.get("app") == app and p.deleted is None)


def broken_sample() -> Scenario:
    """`scenarios.broken()` plus the faults it has no override for, each on top of its own node.

    - ZT301/ZT201: a Running pod in the ambient `default` namespace on node 1 that istio-cni never
      annotated; node 1's ztunnel nonetheless lists it as HBONE without a certificate for it.
    - ZT402: node 2's ztunnel lacks the `ratings` service istiod sends everyone.
    - ZT502: node 3's ztunnel is Running but not Ready (no restarts, so not ZT501's crash loop); it is
      also the one istiod lost (ZT405), which is what keeps a real ztunnel unready.
    - ZT504: the `reviews` Service is labelled to use a waypoint that was never deployed.
    - ZT601: node 1's ztunnel logged a second HBONE timeout to details (broken() logs only one).
    """
    base = scenarios.broken()
    n1, n2, n3 = NODES
    pp, details = _app(base, "productpage"), _app(base, "details")
    uncaptured = app_pod(
        "default",
        UNCAPTURED,
        app="notify",
        node=n1,
        ip="10.244.0.50",
        service_account="bookinfo-notify",
        created=base.now - timedelta(hours=2),
    )
    zt1 = base.ztunnel_override(n1)
    second_timeout = replace(hbone_timeout(pp.ip or "", details.ip or ""), ago=timedelta(minutes=4))
    ztunnels = {
        n1: replace(
            zt1,
            drift=replace(
                zt1.drift, workload_protocol={**zt1.drift.workload_protocol, uncaptured.ref: "HBONE"}
            ),
            logs=(*zt1.logs, second_timeout),
        ),
        n2: replace(base.ztunnel_override(n2), drift=Drift(missing_services=frozenset({DROPPED_SERVICE}))),
        n3: replace(base.ztunnel_override(n3), ready=False),
    }
    services = tuple(
        replace(s, labels={**s.labels, "istio.io/use-waypoint": MISSING_WAYPOINT})
        if s.ref == "default/reviews"
        else s
        for s in base.services
    )
    scn = base.with_overrides(ztunnels=ztunnels, services=services)
    return replace(scn, pods=(*scn.pods, uncaptured))


SAMPLES: dict[str, Callable[[], Scenario]] = {"bookinfo": scenarios.bookinfo, "broken": broken_sample}
BUG_REPORTS: dict[str, Callable[[], Scenario]] = {"istioctl-bug-report": broken_sample}
"""Samples written as `istioctl bug-report` archives (tests/bugreport/make_archive.py), not collected."""
ALL = (*SAMPLES, *BUG_REPORTS)
NOT_IN_BUG_REPORTS = frozenset({"ZT401", "ZT402", "ZT403"})
"""The drift rules need istiod's per-proxy views, which istioctl bug-report never fetches."""


@dataclass(frozen=True, slots=True)
class Made:
    name: str
    path: Path
    collect_exit: int


def _shown(path: Path) -> str:
    """A path relative to the working directory when inside it: it is recorded in the manifest."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def make(name: str, out_dir: Path) -> Made:
    """Serve the named sample scenario and run the real `ztbundle collect` against it (or write the
    bug-report sample's archive)."""
    from ztbundle.cli import main

    out = out_dir / f"{name}.tar.gz"
    out.unlink(missing_ok=True)
    if name in BUG_REPORTS:
        from tests.bugreport import make_archive

        make_archive.write(out, BUG_REPORTS[name]())
        out.chmod(0o644)
        return Made(name, out, 0)
    with FakeCluster(SAMPLES[name]()) as cluster:
        code = main(
            ["collect", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
            # format 1: every member whole, so the hostile-content tests can edit a sample's members
            + ["--out-file", _shown(out), "--quiet", "--no-dedup"]
        )
    if not out.exists():
        raise SystemExit(f"samples/make.py: collect wrote no {out} (exit {code})")
    out.chmod(0o644)  # the collector writes 0600; samples are public
    return Made(name, out, code)


def findings(bundle: Path) -> Iterator[tuple[str, str, str]]:
    """(code, severity, subject) of every finding `ztbundle analyze` reports for a bundle."""
    from ztbundle.cli import main

    report = bundle.with_name(bundle.name + ".check.json")
    try:
        main(["analyze", str(bundle), "-o", "json", "--out-file", str(report)])
        doc = json.loads(report.read_text(encoding="utf-8"))
    finally:
        report.unlink(missing_ok=True)
    for f in doc["findings"]:
        yield f["code"], f["severity"], subject_text(f["subject"])


def subject_text(subject: dict[str, str]) -> str:
    """`Kind namespace/name` (cluster-scoped: `Kind name`), as the report prints subjects."""
    ns = subject.get("namespace") or ""
    return f"{subject['kind']} {ns}/{subject['name']}" if ns else f"{subject['kind']} {subject['name']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="samples/make.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into (default: samples/)")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"samples to make: {', '.join(ALL)} (default: all)"
    )
    args = parser.parse_args(argv)
    if unknown := [n for n in args.names if n not in ALL]:
        parser.error(f"no such sample: {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(ALL):
        made = make(name, args.out)
        found = list(findings(made.path))
        codes = {code for code, _, _ in found}
        how = "istioctl bug-report shape" if name in BUG_REPORTS else f"collect exit {made.collect_exit}"
        print(
            f"{made.path}: {made.path.stat().st_size / 1024:.1f} KiB, {how}, "
            f"{len(found)} finding(s): {' '.join(sorted(codes)) or 'none'}"
        )
        required = REQUIRED - NOT_IN_BUG_REPORTS if name in BUG_REPORTS else REQUIRED
        if name in ("broken", *BUG_REPORTS) and (missing := required - codes):
            print(f"samples/make.py: {name} sample lacks {' '.join(sorted(missing))}", file=sys.stderr)
            return 1
        if name == "bookinfo" and any(sev in ("error", "warning") for _, sev, _ in found):
            print("samples/make.py: the healthy sample has errors or warnings", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
