"""Per-proxy views are asked of the istiod replica each ztunnel is connected to, read from syncz first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import Role
from ztbundle.exits import Exit

Start = Callable[..., FakeCluster]


def test_syncz_and_connections_are_fetched_before_any_per_proxy_view(
    fake_cluster: Start, tmp_path: Path
) -> None:
    cluster = fake_cluster(scenarios.bookinfo(istiod_replicas=2))
    collect(cluster, tmp_path, "--concurrency", "4")
    first_view = min(r.time for r in cluster.requested("/debug/config_dump?proxyID="))
    routing = cluster.requested("/debug/syncz") + cluster.requested("/debug/connections")
    assert len(routing) == 4
    assert max(r.time for r in routing) <= first_view


def test_replica_whose_syncz_and_connections_fail_makes_its_ztunnels_asked_everywhere(
    fake_cluster: Start, tmp_path: Path
) -> None:
    scn = scenarios.bookinfo(istiod_replicas=2)
    lost = sorted(p.name for p in scn.pods_by_role(Role.ISTIOD))[0]
    faults = [Fault.http_500(pod=lost, path=p) for p in ("/debug/syncz", "/debug/connections")]
    cluster = fake_cluster(scn, faults)
    run = collect(cluster, tmp_path)
    routing = run.manifest["routing"]
    attached = {
        zt.name
        for zt in cluster.scenario.pods_by_role(Role.ZTUNNEL)
        if (owner := cluster.scenario.istiod_for(zt.node or "")) is not None and owner.name == lost
    }
    assert attached, "the scenario spreads ztunnels over both replicas"
    replicas = sorted(p.name for p in scn.pods_by_role(Role.ISTIOD))
    assert routing["replicas_read"] == [r for r in replicas if r != lost]
    assert set(routing["ztunnels_asked_everywhere"]) == attached
    assert routing["path"] == ("all-replicas" if routing["ztunnels_routed"] == 0 else "mixed")
    # Every ztunnel's view still arrives; the 404s of the fallback are expected, not gaps.
    views = [a for a in run.manifest["artifacts"] if a["input"] == "istiod-proxy-config"]
    assert {a["path"].split("/")[-1] for a in views if a["status"] == "ok"} == {
        f"{z.name}.json" for z in cluster.scenario.pods_by_role(Role.ZTUNNEL)
    }
    not_found = [r for r in cluster.requested("/debug/config_dump?proxyID=") if r.admin_status == 404]
    assert len(not_found) == 2 * len(attached)  # asked of the healthy replica too (WDS and WADS)
    assert run.code == Exit.INCOMPLETE  # syncz and connections of one replica failed: that is a gap


def test_single_replica_routes_every_ztunnel(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(scenarios.bookinfo())
    run = collect(cluster, tmp_path)
    assert run.manifest["routing"]["path"] == "connected-replica"
    assert run.manifest["routing"]["ztunnels_asked_everywhere"] == []
