"""istiod's per-proxy views are fetched once per replica and push state where they cannot differ.

Read of istiod's source (docs/istiod-views.md): on 1.24-1.26 a ztunnel's debug view is the replica's
whole ambient index, whatever the proxy, as long as it watches the type. The collector asks one
member of each (replica, cluster, push versions) group and stores that answer under every member's
path; a ztunnel whose syncz differs (older push, NACK), or a release without that proof, keeps its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from collector.discovery import Options, Plan
from collector.steps import istiod_proxy
from collector.targets import PodRef
from tests.collector.bundle_io import Run, assert_members_match_manifest, collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import Drift, IstiodOverride, Role, Scenario, ZtunnelOverride
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit
from ztbundle.layout import Component, Input

Start = Callable[..., FakeCluster]
VIEWS = "/debug/config_dump?proxyID="


def _asked(cluster: FakeCluster) -> Counter[str]:
    """How often istiod was asked about each ztunnel (WDS and WADS both count), server-side."""
    out: Counter[str] = Counter()
    for r in cluster.requested(VIEWS):
        target = unquote(r.http_path or "")
        out[target.split("proxyID=", 1)[1].split("&")[0].split(".")[0]] += 1
    return out


def _alone(run: Run) -> dict[str, str]:
    return {e["ztunnel"]: e["reason"] for e in run.manifest["routing"]["ztunnels_fetched_alone"]}


def _views(run: Run) -> dict[str, dict[str, Any]]:
    return {a["path"]: a for a in run.manifest["artifacts"] if layout.parse_istiod_proxy(a["path"])}


def _owner(cluster: FakeCluster, ztunnel: str) -> str:
    zt = cluster.scenario.pod("istio-system", ztunnel)
    owner = cluster.scenario.istiod_for(zt.node or "") if zt else None
    assert owner is not None
    return owner.name


def _synthetic(version: str = "1.24.3") -> Scenario:
    return scenarios.synthetic(6, 3).with_overrides(istio_version=version)


def test_healthy_124_cluster_asks_one_ztunnel_per_replica(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(_synthetic())
    run = collect(cluster, tmp_path)
    assert run.code == Exit.OK and run.manifest["complete"] is True
    ztunnels = sorted(p.name for p in cluster.scenario.pods_by_role(Role.ZTUNNEL))
    replicas = {p.name for p in cluster.scenario.pods_by_role(Role.ISTIOD)}
    asked = _asked(cluster)
    assert sum(asked.values()) == 2 * len(replicas)  # one WDS + WADS pair per replica, not per ztunnel
    assert {_owner(cluster, z) for z in asked} == replicas and set(asked.values()) == {2}
    # Every ztunnel still has both views, under its own replica, with its fetched member's bytes.
    views = _views(run)
    assert {(layout.parse_istiod_proxy(p) or ("", "", False))[1:] for p in views} == {
        (z, wads) for z in ztunnels for wads in (False, True)
    }
    assert all(a["status"] == "ok" for a in views.values())
    for path, a in views.items():
        source = a.get("shared_from")
        if source is None:
            assert layout.parse_istiod_proxy(path)[1] in asked  # type: ignore[index]
            continue
        assert source in views and "shared_from" not in views[source]
        assert run.members[path] == run.members[source] and a["pieces"] == views[source]["pieces"]
        assert a["source"] == views[source]["source"]  # names the request that was really made
        assert layout.parse_istiod_proxy(source)[:1] == layout.parse_istiod_proxy(path)[:1]  # type: ignore[index]
    assert_members_match_manifest(run)
    shared = run.manifest["routing"]["shared_views"]
    assert sorted(g["fetched_for"] for g in shared) == sorted(asked)
    covered = [g["fetched_for"] for g in shared] + [z for g in shared for z in g["shared_with"]]
    assert sorted(covered) == ztunnels
    assert run.manifest["routing"]["ztunnels_fetched_alone"] == []


def test_ztunnel_with_other_push_state_keeps_its_own_request(fake_cluster: Start, tmp_path: Path) -> None:
    scn = _synthetic()
    nodes = sorted({p.node or "" for p in scn.pods_by_role(Role.ZTUNNEL)})
    app = next(p for p in scn.pods if p.role is Role.APP and p.node == nodes[0])
    # node 1: istiod's view of it lacks a pod (so it was pushed an older version); node 2: NACK.
    missing = Drift(missing_workloads=frozenset({f"{app.namespace}/{app.name}"}))
    scn = scn.with_overrides(
        istiod={
            nodes[0]: IstiodOverride(drift=missing),
            nodes[1]: IstiodOverride(nack="rejected: bad workload"),
        }
    )
    cluster = fake_cluster(scn)
    run = collect(cluster, tmp_path)
    drifted, nacking = (scn.ztunnel_on(n).name for n in nodes[:2])  # type: ignore[union-attr]
    asked = _asked(cluster)
    assert asked[drifted] == 2 and asked[nacking] == 2
    alone = _alone(run)
    assert set(alone) == {drifted, nacking}
    assert "lastError" in alone[nacking]
    views = _views(run)
    for z in (drifted, nacking):
        owner = _owner(cluster, z)
        for path in (layout.istiod_proxy_config(owner, z), layout.istiod_proxy_policies(owner, z)):
            assert "shared_from" not in views[path]
    # Its own view is the drifted one: the missing pod is absent there and present in the group's.
    own = run.members[layout.istiod_proxy_config(_owner(cluster, drifted), drifted)]
    uid = f"//Pod/{app.namespace}/{app.name}".encode()
    assert uid not in own
    peers = [p for p, a in views.items() if a.get("shared_from") and _owner(cluster, drifted) in p]
    assert peers and all(uid in run.members[p] for p in peers if not p.endswith(".wads.json"))
    # The healthy rest still share: fewer requests than two per ztunnel.
    assert sum(asked.values()) < 2 * len(scn.pods_by_role(Role.ZTUNNEL))


def test_release_without_a_proof_asks_every_ztunnel(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(_synthetic("1.23.4"))
    run = collect(cluster, tmp_path)
    ztunnels = {p.name for p in cluster.scenario.pods_by_role(Role.ZTUNNEL)}
    assert _asked(cluster) == Counter({z: 2 for z in ztunnels})
    assert run.manifest["routing"]["shared_views"] == []
    alone = _alone(run)
    assert set(alone) == ztunnels and all("1.23: no proof" in why for why in alone.values())
    assert not any("shared_from" in a for a in run.manifest["artifacts"])


def test_version_and_syncz_arrive_before_any_view(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(_synthetic())
    collect(cluster, tmp_path, "--concurrency", "4")
    first_view = min(r.time for r in cluster.requested(VIEWS))
    before = cluster.requested("/version") + cluster.requested("/debug/syncz")
    assert before and max(r.time for r in before) <= first_view


def test_failed_shared_fetch_makes_every_member_ask_itself(fake_cluster: Start, tmp_path: Path) -> None:
    scn = _synthetic()
    lost = sorted(p.name for p in scn.pods_by_role(Role.ISTIOD))[0]
    cluster = fake_cluster(scn, [Fault.http_500(pod=lost, path="/debug/config_dump")])
    run = collect(cluster, tmp_path)
    group = next(g for g in run.manifest["routing"]["shared_views"] if g["istiod"] == lost)
    members = group["asked_alone_after_failure"]
    assert members and group["shared_with"] == []
    asked = _asked(cluster)
    assert all(asked[z] == 2 for z in [group["fetched_for"], *members])
    # Each member path has exactly one artifact: its own failed request, not a copy of another's.
    paths = Counter(a["path"] for a in run.manifest["artifacts"])
    for z in members:
        for path in (layout.istiod_proxy_config(lost, z), layout.istiod_proxy_policies(lost, z)):
            assert paths[path] == 1
            a = run.artifact(path)
            assert a["status"] != "ok" and "shared_from" not in a and z in a["source"]["request"]
    assert run.code == Exit.INCOMPLETE


@pytest.mark.parametrize("extra", [(), ("--no-dedup",)], ids=["recipes", "raw"])
def test_shared_views_are_stored_under_every_path(
    fake_cluster: Start, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    cluster = fake_cluster(_synthetic())
    run = collect(cluster, tmp_path, *extra)
    shared = {p: a for p, a in _views(run).items() if a.get("shared_from")}
    assert shared
    for path, a in shared.items():
        assert run.members[path] == run.members[a["shared_from"]] and a["stored"] is True
    if extra:  # format 1: every shared path is a raw member of its own
        assert set(shared) <= set(run.names)
    assert_members_match_manifest(run)


# --- what syncz must show for a ztunnel to share (no cluster needed) --------------------------------

_PUSH = "2026-12-02T10:00:00Z/17"
_UUID = "0f6a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


def _plan(ztunnels: int) -> Plan:
    istiod = PodRef(Component.ISTIOD, "istio-system", "istiod-a", "n0")
    zts = tuple(PodRef(Component.ZTUNNEL, "istio-system", f"ztunnel-{i}", f"n{i}") for i in range(ztunnels))
    return Plan(Options(), None, "istio-system", (istiod,), zts, (), ())


def _line(name: str, **types: dict[str, str]) -> dict[str, Any]:
    healthy = {"sent": _PUSH + _UUID, "acked": _PUSH + _UUID}
    resources = {t: types.get(short, healthy) for short, t in (("address", ADDR), ("authz", AUTHZ))}
    return {"proxy": f"{name}.istio-system", "cluster_id": "Kubernetes", "resources": resources}


ADDR = "type.googleapis.com/istio.workload.Address"
AUTHZ = "type.googleapis.com/istio.security.Authorization"


@pytest.mark.parametrize(
    ("state", "why"),
    [
        ({"address": {"sent": _PUSH + _UUID, "acked": "2026-12-02T09:00:00Z/3" + _UUID}}, "not acked"),
        ({"authz": {"sent": _PUSH + _UUID, "acked": _PUSH + _UUID, "lastError": "nope"}}, "lastError"),
        ({"address": {"sent": "17", "acked": "17"}}, "push version unreadable"),
        ({"authz": None}, "not watched"),
    ],
    ids=["pending-push", "error", "unknown-nonce", "unwatched"],
)
def test_syncz_state_that_keeps_a_ztunnel_alone(state: dict[str, Any], why: str) -> None:
    plan = _plan(3)
    line = _line("ztunnel-1", **{k: v for k, v in state.items() if v is not None})
    if state.get("authz", 0) is None:
        del line["resources"][AUTHZ]
    routes = istiod_proxy.Routes()
    routes.learn("istiod-a", Input.ISTIOD_VERSION, b"1.24.3-4f7e3c2a-Clean")
    syncz = [_line("ztunnel-0"), line, _line("ztunnel-2")]
    routes.learn("istiod-a", Input.ISTIOD_SYNCZ, json.dumps(syncz).encode())
    items = list(istiod_proxy.routed_items(plan, routes))
    assert why in routes.alone["ztunnel-1"] and set(routes.alone) == {"ztunnel-1"}
    assert [i.peer.name for i in items if i.peer] == ["ztunnel-0", "ztunnel-0", "ztunnel-1", "ztunnel-1"]
    assert [[s.path for s in i.shared_with] for i in items][:2] == [
        [layout.istiod_proxy_config("istiod-a", "ztunnel-2")],
        [layout.istiod_proxy_policies("istiod-a", "ztunnel-2")],
    ]


def test_unknown_istiod_release_shares_nothing() -> None:
    plan = _plan(2)
    routes = istiod_proxy.Routes()
    syncz = json.dumps([_line("ztunnel-0"), _line("ztunnel-1")]).encode()
    routes.learn("istiod-a", Input.ISTIOD_SYNCZ, syncz)
    items = list(istiod_proxy.routed_items(plan, routes))
    assert len(items) == 4 and not any(i.shared_with for i in items)
    assert routes.alone == {f"ztunnel-{i}": "istiod-a /version unknown" for i in range(2)}


def test_pseudonymized_bundle_maps_shared_paths_and_names(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(_synthetic())
    run = collect(cluster, tmp_path, "--pseudonymize")
    paths = {a["path"] for a in run.manifest["artifacts"]}
    shared = [a for a in run.manifest["artifacts"] if "shared_from" in a]
    assert shared and all(a["shared_from"] in paths for a in shared)
    routing = json.dumps(run.manifest["routing"])
    assert not [p.name for p in cluster.scenario.pods_by_role(Role.ZTUNNEL) if p.name in routing]


def test_drift_against_a_shared_view_says_whose_view_it_was(fake_cluster: Start, tmp_path: Path) -> None:
    """Every ztunnel misses the same pod, so each differs from istiod's view: the finding names the
    ztunnel whose `proxyID` was asked when the view is that ztunnel's replica's shared answer."""
    scn = _synthetic()
    app = next(p for p in scn.pods if p.role is Role.APP)
    missing = Drift(missing_workloads=frozenset({f"{app.namespace}/{app.name}"}))
    scn = scn.with_overrides(ztunnels={n.name: ZtunnelOverride(drift=missing) for n in scn.nodes})
    cluster = fake_cluster(scn)
    run = collect(cluster, tmp_path)
    assert run.code == Exit.OK
    out = tmp_path / "r.json"
    assert main(["analyze", str(run.out), "-o", "json", "--out-file", str(out)]) in (0, 1)
    findings = json.loads(out.read_text())["findings"]
    drift = {f["subject"]["name"]: f["message"] for f in findings if f["code"] == "ZT401"}
    views = _views(run)
    assert set(drift) == {p.name for p in scn.pods_by_role(Role.ZTUNNEL)}
    shared = 0
    for z, message in drift.items():
        source = views[layout.istiod_proxy_config(_owner(cluster, z), z)].get("shared_from")
        if source is None:
            assert "asked as" not in message, message
        else:
            asked = (layout.parse_istiod_proxy(source) or ("", "", False))[1]
            assert f"asked as {asked}'s, the same push state" in message, message
            shared += 1
    assert 0 < shared < len(drift)  # one ztunnel per replica was asked itself
