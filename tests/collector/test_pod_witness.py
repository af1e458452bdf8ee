"""The pod list taken after the dumps: ZT102 proves "pod gone" however slow the dumps, and no sooner."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.mesh import StaleWorkload
from tests.fakecluster.scenario import Drift, Scenario, ZtunnelOverride
from tests.fakecluster.scenarios import NODES
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

pytestmark = pytest.mark.slow

GHOST = "reviews-v1-7d9c8b5f4-gone1"


def _with_ghost() -> Scenario:
    """Bookinfo whose node-1 ztunnel still holds a pod that no longer exists."""
    ghost = StaleWorkload("default", GHOST, "10.244.0.99", NODES[0], "bookinfo-reviews")
    return scenarios.bookinfo().with_overrides(
        ztunnels={NODES[0]: ZtunnelOverride(drift=Drift(extra_workloads=(ghost,)))}
    )


def _zt102(run: Run, tmp: Path) -> set[str]:
    out = tmp / "r.json"
    main(["analyze", str(run.out), "--format", "json", "-o", str(out)])
    doc: dict[str, Any] = json.loads(out.read_text())
    return {f["subject"]["name"] for f in doc["findings"] if f["code"] == "ZT102"}


def _at(artifact: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(artifact[key].replace("Z", "+00:00"))


def test_ZT102_stale_workload_found_with_2s_between_pod_list_and_dumps(
    fake_cluster: Any, tmp_path: Path
) -> None:
    cluster: FakeCluster = fake_cluster(_with_ghost(), [Fault.latency(2.0, path="/config_dump")])
    run = collect(cluster, tmp_path, "--timeout", "10")
    assert run.code == Exit.OK, run.not_ok()
    relist = run.artifact(layout.PODS_AFTER_DUMPS)
    assert relist["input"] == "pods-after-dumps" and relist["status"] == "ok"
    second = json.loads(run.members[layout.PODS_AFTER_DUMPS])  # names and uids only: metadata
    assert second["kind"] == "PartialObjectMetadataList" and "spec" not in second["items"][0]
    first = json.loads(run.members[layout.PODS])
    assert [i["metadata"]["uid"] for i in second["items"]] == [i["metadata"]["uid"] for i in first["items"]]
    assert relist["bytes"] * 3 < run.artifact(layout.PODS)["bytes"]
    dumps = [a for a in run.manifest["artifacts"] if a["input"] == "ztunnel-config"]
    first_list = run.artifact(layout.PODS)
    assert dumps and all(_at(a, "finished_at") <= _at(relist, "started_at") for a in dumps)
    assert all(
        (_at(a, "finished_at") - _at(first_list, "started_at")).total_seconds() >= 2 for a in dumps
    )  # the delay the old 1 s window could not survive
    assert _zt102(run, tmp_path) == {GHOST}


def test_ZT102_pod_created_between_the_two_lists_is_not_stale(fake_cluster: Any, tmp_path: Path) -> None:
    """A pod that appears after the first pod list is in every dump and the second list: quiet."""
    cluster: FakeCluster = fake_cluster(scenarios.bookinfo(), [Fault.latency(2.0, path="/config_dump")])
    model = next(p for p in cluster.scenario.pods if p.labels.get("app") == "ratings")
    newcomer = replace(
        model, name="ratings-v1-7d9c8b5f4-late1", ip="10.244.0.97", created=cluster.scenario.now
    )
    listed = threading.Event()

    def first_list_served() -> bool:  # discovery's labelled pod lists come earlier
        return any(
            r.path == "/api/v1/pods" and "labelSelector" not in r.query and r.status  # answered
            for r in list(cluster.requests)
        )

    def add_pod_after_first_list() -> None:
        while not first_list_served():
            if listed.wait(0.01):
                return
        cluster.scenario = replace(cluster.scenario, pods=(*cluster.scenario.pods, newcomer))

    adder = threading.Thread(target=add_pod_after_first_list, daemon=True)
    adder.start()
    try:
        run = collect(cluster, tmp_path, "--timeout", "10")
    finally:
        listed.set()
        adder.join()
    first = {i["metadata"]["name"] for i in json.loads(run.members[layout.PODS])["items"]}
    second = {i["metadata"]["name"] for i in json.loads(run.members[layout.PODS_AFTER_DUMPS])["items"]}
    assert newcomer.name not in first and newcomer.name in second
    dump = run.members[layout.ztunnel_config_dump(cluster.scenario.ztunnel_on(model.node or "").name)]  # type: ignore[union-attr]
    assert newcomer.name.encode() in dump
    assert _zt102(run, tmp_path) == set()
