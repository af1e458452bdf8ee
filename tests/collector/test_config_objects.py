"""Issue 12: Istio, Gateway API and NetworkPolicy objects are collected at the newest served version;
a kind whose CRD is not installed is recorded `not-installed` and leaves the bundle complete."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import rules
from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster, scenarios
from tests.fakecluster.scenario import Role
from ztbundle import layout
from ztbundle.exits import Exit
from ztbundle.layout import Input

GATEWAY_API = "gateway.networking.k8s.io"


def _path(inp: Input) -> str:
    return layout.CONFIG_PATHS[inp]


def test_bookinfo_config_is_collected_at_the_newest_served_versions(tmp_path: Path) -> None:
    with FakeCluster(scenarios.bookinfo()) as cluster:
        run = collect(cluster, tmp_path)
        paths = [r.path for r in cluster.requests]
    assert run.code == Exit.OK and run.manifest["complete"] is True
    gateways = json.loads(run.members[_path(Input.GATEWAYS)])
    assert [g["metadata"]["name"] for g in gateways["items"]] == ["waypoint"]
    assert gateways["apiVersion"] == f"{GATEWAY_API}/v1"
    policies = json.loads(run.members[_path(Input.NETWORK_POLICIES)])["items"]
    assert policies[0]["spec"]["ingress"][1]["ports"] == [{"protocol": "TCP", "port": 15008}]
    # newest served: v1 where served, else the older version that serves the kind
    assert f"/apis/{GATEWAY_API}/v1/httproutes" in paths
    assert f"/apis/{GATEWAY_API}/v1alpha2/tcproutes" in paths
    assert f"/apis/{GATEWAY_API}/v1beta1/referencegrants" in paths
    assert "/apis/security.istio.io/v1/authorizationpolicies" in paths
    assert "/apis/metrics.k8s.io/v1beta1/namespaces/istio-system/pods" in paths
    assert not any("/secrets" in p for p in paths)
    metrics = json.loads(run.members[_path(Input.POD_METRICS)])["items"]
    assert {m["metadata"]["name"].split("-")[0] for m in metrics} == {"istiod", "ztunnel", "istio"}
    cni = json.loads(run.members[layout.CNI_CONFIG])
    assert cni["data"]["AMBIENT_ENABLED"] == "true"


def _discovery_requests(paths: list[str]) -> list[str]:
    return [p for p in paths if p == "/apis" or (p.startswith("/apis/") and p.count("/") == 3)]


def test_one_aggregated_discovery_request_finds_what_the_legacy_chain_found(tmp_path: Path) -> None:
    """A 1.26+ server answers `/apis` with every group's versions and resources: one request instead of a
    chain of them, and the same lists at the same versions as from a server without it."""
    runs = {}
    for aggregated in (True, False):
        scn = scenarios.bookinfo().with_overrides(aggregated_discovery=aggregated)
        (out := tmp_path / ("aggregated" if aggregated else "legacy")).mkdir()
        with FakeCluster(scn) as cluster:
            run = collect(cluster, out)
            asked = [r.path for r in cluster.requests]
        assert run.code == Exit.OK
        lists = sorted(p for p in asked if p.startswith("/apis/") and p.count("/") > 3)
        runs[aggregated] = (_discovery_requests(asked), lists, run)
    (new, new_lists, new_run), (old, old_lists, old_run) = runs[True], runs[False]
    assert new == ["/apis"]
    assert old[0] == "/apis" and f"/apis/{GATEWAY_API}/v1alpha2" in old and len(old) > 5
    assert new_lists == old_lists and f"/apis/{GATEWAY_API}/v1alpha2/tcproutes" in new_lists
    for r in layout.CONFIG_RESOURCES:
        assert new_run.artifact(r.path)["status"] == old_run.artifact(r.path)["status"] == "ok"
        new_doc, old_doc = (json.loads(run.members[r.path]) for run in (new_run, old_run))
        assert new_doc["apiVersion"] == old_doc["apiVersion"]
        names = [
            [(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in d["items"]]
            for d in (new_doc, old_doc)
        ]
        assert names[0] == names[1]


def test_cluster_without_gateway_api_crds_yields_a_complete_bundle(tmp_path: Path) -> None:
    base = scenarios.bookinfo()
    # without the Gateway API there is no waypoint: no Gateway, pod or Service, and no label naming one
    scn = replace(
        base,
        uninstalled_groups=frozenset({GATEWAY_API, "metrics.k8s.io"}),
        config=tuple(o for o in base.config if not o["apiVersion"].startswith(GATEWAY_API)),
        pods=tuple(p for p in base.pods if p.role is not Role.WAYPOINT),
        services=tuple(
            replace(s, labels={k: v for k, v in s.labels.items() if k != "istio.io/use-waypoint"})
            for s in base.services
            if s.name != "waypoint"
        ),
    )
    with FakeCluster(scn) as cluster:
        run = collect(cluster, tmp_path)
        forbidden_or_missing = [r.path for r in cluster.requests if r.status >= 400]
    assert run.code == Exit.OK and run.manifest["complete"] is True
    not_installed = {p: a for p, a in run.not_ok().items()}
    gateway_kinds = {r.path for r in layout.CONFIG_RESOURCES if r.group in (GATEWAY_API, "metrics.k8s.io")}
    assert set(not_installed) == gateway_kinds
    for a in not_installed.values():
        assert a["status"] == "not-installed" and not a["stored"]
        assert "is not installed: the server serves" in a["error"]
    assert forbidden_or_missing == []  # nothing was even asked for
    # the analyzer treats "not installed" as collected and empty: no rule is skipped for it
    result = analyze_bundle(open_bundle(run.out), rules=rules.all_rules())
    assert result.skipped == ()
    assert [f for f in result.findings if f.severity in ("error", "warning")] == []


def test_unreadable_discovery_fails_every_config_list_but_nothing_else(tmp_path: Path) -> None:
    from tests.fakecluster import Fault

    with FakeCluster(scenarios.bookinfo()) as cluster:
        cluster.faults.append(Fault.http_500(resource="discovery"))
        run = collect(cluster, tmp_path)
    failed = run.not_ok()
    assert run.code == Exit.INCOMPLETE
    assert set(failed) == {r.path for r in layout.CONFIG_RESOURCES}
    assert all(a["status"] == "error" and "API discovery" in a["error"] for a in failed.values())


def test_a_kind_rbac_refuses_is_forbidden_up_front_and_its_rules_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    scn = scenarios.bookinfo()
    rbac = tuple(r for r in scenarios.least_privilege_rbac() if r.resource != "networkpolicies")
    with FakeCluster(scn.with_overrides(rbac=rbac)) as cluster:
        run = collect(cluster, tmp_path)
    path = _path(Input.NETWORK_POLICIES)
    assert run.code == Exit.INCOMPLETE and set(run.not_ok()) == {path}
    assert run.artifact(path)["status"] == "forbidden"
    assert any("list networkpolicies.networking.k8s.io" in e for e in run.manifest["errors"])  # preflight
    result = analyze_bundle(open_bundle(run.out), rules=rules.all_rules())
    skipped = {s.code: s for s in result.skipped}
    assert set(skipped) == {"ZT704", "ZT705"}
    assert all("networkpolicies.json" in str(s) for s in skipped.values())
