"""Issue 6 part 5: the shipped RBAC is exactly enough, and collect says up front what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.collector.bundle_io import Run, collect, read_bundle
from tests.fakecluster import FakeCluster, scenarios
from tests.fakecluster.scenario import RbacRule, Scenario
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}


def rules_of(path: Path) -> tuple[RbacRule, ...]:
    """Turn a shipped RBAC file into the fake cluster's rules: what a real apiserver would grant."""
    out: list[RbacRule] = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc["kind"] not in ("ClusterRole", "Role"):
            continue
        namespace = doc["metadata"].get("namespace", "*") if doc["kind"] == "Role" else "*"
        for rule in doc["rules"]:
            for group in rule["apiGroups"]:
                for res in rule["resources"]:
                    resource, _, sub = res.partition("/")
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or ["*"]:
                            out.append(RbacRule(verb, resource, sub, namespace, group=group, name=name))
    return tuple(out)


def _key(r: RbacRule) -> tuple[str, ...]:
    return (r.verb, r.group, r.resource, r.subresource, r.namespace, r.name)


def test_rbac_yaml_is_exactly_the_least_privilege_the_collector_needs() -> None:
    shipped = rules_of(DEPLOY / "rbac.yaml")
    assert sorted(map(_key, shipped)) == sorted(map(_key, scenarios.least_privilege_rbac()))
    for rule in shipped:
        assert rule.resource not in ("secrets", "*") and rule.verb not in ("watch", "*")
        assert rule.verb not in WRITE_VERBS or (rule.resource, rule.subresource) in (
            ("pods", "portforward"),
            ("selfsubjectaccessreviews", ""),
        )
        if rule.resource == "configmaps":
            assert rule.name in ("istio", "istio-cni-config") and rule.namespace == "istio-system"


def _run(scn: Scenario, tmp: Path, *extra: str, loud: bool = False) -> tuple[Run, list[str]]:
    with FakeCluster(scn) as cluster:
        if loud:  # bundle_io.collect passes --quiet, which also silences the preflight
            out = tmp / "bundle.tar.gz"
            code = main(
                ["collect", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
                + ["--out-file", str(out), "--timeout", "2", *extra]
            )
            run = Run(code, out, *read_bundle(out))
        else:
            run = collect(cluster, tmp, *extra)
        forbidden = [str(r) for r in cluster.requests if r.status == 403]
    return run, forbidden


def test_collect_with_only_the_shipped_rbac_gets_a_complete_bundle(tmp_path: Path) -> None:
    scn = scenarios.hostile().with_overrides(rbac=rules_of(DEPLOY / "rbac.yaml"))
    run, forbidden = _run(scn, tmp_path)
    assert run.code == Exit.OK and run.manifest["complete"] is True
    assert forbidden == [] and run.not_ok() == {}
    assert not [e for e in run.manifest["errors"] if e.startswith("preflight")]


def test_denied_pod_logs_are_announced_up_front_and_recorded_forbidden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stricter = tuple(r for r in scenarios.least_privilege_rbac() if r.subresource != "log")
    run, _ = _run(scenarios.bookinfo().with_overrides(rbac=stricter), tmp_path, loud=True)
    err = capsys.readouterr().err
    assert "will not be able to read" in err
    assert err.index("will not be able to read") < err.index("403 Forbidden")  # before the run starts
    assert "get pods/log in namespace istio-system (RBAC) → no container logs" in err
    assert "portforward" not in err and "list nodes" not in err  # only what is really denied
    assert run.code == Exit.INCOMPLETE and run.manifest["complete"] is False
    logs = {p: a for p, a in run.not_ok().items() if "/logs/" in p}
    assert logs and all(a["status"] == "forbidden" for a in logs.values())
    assert set(run.not_ok()) == set(logs)  # nothing else was lost
    assert any("pods/log" in e for e in run.manifest["errors"] if e.startswith("preflight"))


def test_quiet_keeps_the_preflight_in_the_manifest_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stricter = tuple(r for r in scenarios.least_privilege_rbac() if r.subresource != "portforward")
    run, _ = _run(scenarios.bookinfo().with_overrides(rbac=stricter), tmp_path)
    assert "will not be able to read" not in capsys.readouterr().err  # --quiet
    assert any("pods/portforward" in e for e in run.manifest["errors"])
    assert run.code == Exit.INCOMPLETE
    assert run.artifact(layout.ztunnel_config_dump(_any_ztunnel(run)))["status"] == "forbidden"


def _any_ztunnel(run: Run) -> str:
    return next(n for p in run.manifest["artifacts"] if (n := layout.parse_ztunnel_config_dump(p["path"])))


def test_namespaced_variant_alone_stops_at_discovery_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Known limit: discovery lists ztunnel pods cluster-wide, so Roles alone cannot start a run.

    The variant is for clusters where a namespaced grant is all one gets; the failure must then be a
    single line naming the permission (not a traceback), as the file's header comment says.
    """
    scn = scenarios.bookinfo().with_overrides(rbac=rules_of(DEPLOY / "rbac-namespaced.yaml"))
    run, _ = _run(scn, tmp_path, "--istio-namespace", "istio-system")
    err = capsys.readouterr().err
    assert run.code == Exit.NOTHING_COLLECTED and not run.out.exists()
    assert err.count("\n") == 1 and "cannot list pods in all namespaces" in err
    shipped = {_key(r) for r in rules_of(DEPLOY / "rbac-namespaced.yaml")}
    assert all(k[4] == "istio-system" for k in shipped)  # nothing cluster-wide
    least = {(k[0], k[1], k[2], k[3], k[5]) for k in map(_key, scenarios.least_privilege_rbac())}
    assert {(k[0], k[1], k[2], k[3], k[5]) for k in shipped} <= least  # and nothing beyond it
