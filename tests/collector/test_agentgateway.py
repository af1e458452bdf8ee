"""1.31 waypoints served by agentgateway are discovered, collected and judged like Envoy waypoints."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster, scenarios
from tests.fakecluster.scenario import Role
from ztbundle import layout
from ztbundle.cli import main

# tests/conftest.py marks every test here slow: they start a FakeCluster.


def _agentgateway(ready: bool) -> Any:
    scn = scenarios.with_waypoint(scenarios.bookinfo(istio_version="1.31.0"), agentgateway=True)
    if ready:
        return scn
    pods = tuple(replace(p, ready=False) if p.role is Role.WAYPOINT else p for p in scn.pods)
    return replace(scn, pods=pods)


def _zt504(out: Path, tmp: Path) -> list[str]:
    report = tmp / "r.json"
    main(["analyze", str(out), "-o", "json", "--out-file", str(report)])
    return [f["message"] for f in json.loads(report.read_text())["findings"] if f["code"] == "ZT504"]


def test_agentgateway_waypoint_logs_are_collected_and_a_ready_one_is_quiet(
    fake_cluster: Any, tmp_path: Path
) -> None:
    cluster: FakeCluster = fake_cluster(_agentgateway(ready=True))
    # bookinfo has its own (Envoy) waypoint for reviews; the one with_waypoint added runs agentgateway
    (wp,) = [p for p in cluster.scenario.pods_by_role(Role.WAYPOINT) if "agentgateway" in p.containers]
    run = collect(cluster, tmp_path)
    log = layout.pod_log(layout.Component.WAYPOINT, wp.namespace, wp.name, "agentgateway", previous=False)
    assert run.artifact(log)["status"] == "ok" and run.members[log]
    assert _zt504(run.out, tmp_path) == []


def test_unready_agentgateway_waypoint_is_ZT504(fake_cluster: Any, tmp_path: Path) -> None:
    cluster: FakeCluster = fake_cluster(_agentgateway(ready=False))
    run = collect(cluster, tmp_path)
    (message,) = _zt504(run.out, tmp_path)
    assert message.startswith("waypoint default/waypoint used by Namespace default")
    assert " has 0 of " in message and "pod(s) Ready" in message
