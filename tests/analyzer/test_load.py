"""Loading a bundle into the model: availability and reasons, baselines, logs, guards on real shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rules
from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.errors import BundleError
from analyzer.load import load_bundle
from analyzer.model import BaselineKind, Component, Input, drift
from tests.analyzer.tarhelp import jbytes, write_bundle
from tests.fakecluster import certs, k8s, payloads, scenarios
from tests.fakecluster.scenario import Role
from ztbundle import layout


def at(scn: Any) -> str:
    """The scenario's own clock as the collection time, so certificates are judged as generated."""
    return str(certs.rfc3339(scn.now))


def _members(scn: Any, *, shape_122: bool = False) -> dict[str, bytes]:
    pods = {"kind": "PodList", "items": [k8s.pod_object(scn, p) for p in scn.pods]}
    namespaces = {
        "kind": "NamespaceList",
        "items": [
            k8s.namespace_object(scn, n.name, {"istio.io/dataplane-mode": "ambient"} if n.ambient else {})
            for n in scn.namespaces
        ],
    }
    nodes = {"kind": "NodeList", "items": [k8s.node_object(scn, n) for n in scn.nodes]}
    out = {layout.PODS: jbytes(pods), layout.NAMESPACES: jbytes(namespaces), layout.NODES: jbytes(nodes)}
    dump = payloads.ztunnel_config_dump_122 if shape_122 else payloads.ztunnel_config_dump
    for zt in scn.pods_by_role(Role.ZTUNNEL):
        out[layout.ztunnel_config_dump(zt.name)] = jbytes(dump(scn, zt.node))
    for istiod in scn.pods_by_role(Role.ISTIOD):
        out[layout.istiod_ambientz(istiod.name)] = jbytes(payloads.ambientz(scn))
        out[layout.istiod_syncz(istiod.name)] = jbytes(payloads.syncz(scn, istiod))
        out[layout.istiod_connections(istiod.name)] = jbytes(payloads.connections(scn, istiod))
        out[layout.istiod_version(istiod.name)] = payloads.istiod_version(scn)
        for zt in scn.pods_by_role(Role.ZTUNNEL):
            out[layout.istiod_proxy_config(istiod.name, zt.name)] = jbytes(
                payloads.istiod_config_dump(scn, zt.node, None)
            )
            out[layout.istiod_proxy_policies(istiod.name, zt.name)] = jbytes(
                payloads.istiod_config_dump(scn, zt.node, "WADS")
            )
    zt0 = scn.pods_by_role(Role.ZTUNNEL)[0]
    out[layout.pod_log(Component.ZTUNNEL, zt0.namespace, zt0.name, "istio-proxy", previous=False)] = (
        b"2024-01-01T00:00:00Z\tinfo\tztunnel\tstarting\t\n"
    )
    return out


@pytest.mark.parametrize("version", ["1.24.3", "1.26.2"])
def test_clean_bundle_loads_and_finds_nothing(tmp_path: Path, version: str) -> None:
    scn = scenarios.bookinfo(istio_version=version)
    files = open_bundle(write_bundle(tmp_path / "b.tar.gz", _members(scn), at=at(scn)))
    bundle = load_bundle(files)
    assert len(bundle.ztunnels) == len(scn.nodes) and all(z.available for z in bundle.ztunnels)
    assert all(z.xds.workloads for z in bundle.ztunnels)
    assert bundle.istiods[0].version == version
    assert bundle.logs and bundle.logs[0].events()[0].message == "starting"
    kind = BaselineKind.PROXY_CONFIG if version < "1.25" else BaselineKind.AMBIENTZ
    for z in bundle.ztunnels:
        base = bundle.baseline_for(z)
        assert base.kind is kind and base.xds is not None
        assert base.xds.workload_hashes == z.xds.workload_hashes  # in sync: equal hashes
    assert sum(1 for _ in bundle.ambient_pods()) > 0
    result = analyze_bundle(files, rules.all_rules())
    assert result.findings == ()  # no rule (anyone's) may fire on a healthy cluster
    assert all("not available (not collected" in s.reason for s in result.skipped)  # inputs this test omits


def test_122_map_shaped_dumps_load_too(tmp_path: Path) -> None:
    scn = scenarios.bookinfo(istio_version="1.22.5")
    members = _members(scn, shape_122=True)
    bundle = load_bundle(open_bundle(write_bundle(tmp_path / "b.tar.gz", members, at=at(scn))))
    for z in bundle.ztunnels:
        assert z.available and z.xds.workloads
        assert z.xds.absent_fields == {"network_mode", "capacity"}  # 1.22 dumps cannot carry them
        base = bundle.baseline_for(z).xds
        assert base is not None and set(base.workloads) == set(z.xds.workloads)
        for uid, w in z.xds.workloads.items():  # `services` rebuilt from endpoints; the rest equal
            assert drift.same(base.workloads[uid], w, ignore=z.xds.absent_fields), uid
            assert drift.diff(base.workloads[uid], w, ignore=z.xds.absent_fields) == []
        assert base.service_hashes == z.xds.service_hashes


def test_failed_member_is_unavailable_with_its_reason_not_fatal(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    members = _members(scn)
    zt = scn.pods_by_role(Role.ZTUNNEL)[0]
    path = layout.ztunnel_config_dump(zt.name)
    del members[path]
    files = open_bundle(
        write_bundle(
            tmp_path / "b.tar.gz",
            members,
            at=at(scn),
            failed={
                path: ("truncated", "body cut at 1048576 bytes"),
                layout.SERVICES: ("forbidden", "services is forbidden"),
            },
        )
    )
    bundle = load_bundle(files)
    broken = bundle.ztunnel_named(zt.name)
    assert broken is not None and not broken.available
    assert broken.unavailable_reason == "truncated: body cut at 1048576 bytes"
    ok = bundle.availability(Input.ZTUNNEL_CONFIG)
    assert ok.ok and ok.partial and "truncated" in (ok.reason or "")
    services = bundle.availability(Input.SERVICES)
    assert not services.ok and services.reason == "cluster/services.json: forbidden: services is forbidden"
    assert not bundle.availability(Input.ZTUNNEL_METRICS).ok  # never collected at all
    result = analyze_bundle(files, rules.all_rules())
    assert {e.path for e in result.collection_errors} == {path, layout.SERVICES}


def test_corrupt_ok_member_and_unsupported_dump_are_bundle_errors(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    members = _members(scn)
    zt = scn.pods_by_role(Role.ZTUNNEL)[0]
    members[layout.ztunnel_config_dump(zt.name)] = b'{"config": {}, "surprise": 1}'
    files = open_bundle(write_bundle(tmp_path / "b.tar.gz", members, at=at(scn)))
    with pytest.raises(BundleError, match=f"ztunnel/{zt.name}/config_dump.json: unsupported ztunnel dump"):
        load_bundle(files)
    members[layout.ztunnel_config_dump(zt.name)] = b'{"workloads": [tru'
    files = open_bundle(write_bundle(tmp_path / "c.tar.gz", members, at=at(scn)))
    with pytest.raises(BundleError, match=f"ztunnel/{zt.name}/config_dump.json: invalid JSON"):
        load_bundle(files)


def test_rollout_picks_the_non_terminating_newest_ztunnel(tmp_path: Path) -> None:
    from tests.builders import build_bundle

    bundle = build_bundle(
        {
            "ztunnels": [
                {"node": "n1", "name": "ztunnel-old", "deleting": True},
                {"node": "n1", "name": "ztunnel-mid", "age": 600},
                {"node": "n1", "name": "ztunnel-new", "age": 60},
            ]
        }
    )
    assert [z.name for z in bundle.ztunnels_on("n1")] == ["ztunnel-new", "ztunnel-mid", "ztunnel-old"]
    chosen = bundle.ztunnel_on("n1")
    assert chosen is not None and chosen.name == "ztunnel-new"
    assert bundle.inputs_read == set()  # choosing does not count as reading an input
    _ = chosen.workloads
    assert bundle.inputs_read == {Input.ZTUNNEL_CONFIG}


@pytest.mark.parametrize(
    ("member", "body", "fatal"),
    [
        (layout.PODS, b'{"items": [{"metadata": {"name": "a"}, "spec": "x", "status": {}}]}', True),
        # a mistyped ztunnel field is a format note on that ztunnel (tests/analyzer/test_parsers.py)
        ("ztunnel/{zt}/config_dump.json", b'{"workloads": [{"uid": "u", "capacity": "lots"}]}', False),
        (layout.NODES, b'{"items": [{"metadata": {}, "status": {"conditions": [1, 2]}}]}', False),
        (
            "istiod/{istiod}/syncz.json",
            b'[{"proxy": "p", "resources": {"t": 5}}, 7, {"resources": []}]',
            False,
        ),
    ],
)
def test_wrong_shaped_members_are_one_line_bundle_errors_or_tolerated(
    tmp_path: Path, member: str, body: bytes, fatal: bool
) -> None:
    scn = scenarios.bookinfo()
    members = _members(scn)
    path = member.format(
        zt=scn.pods_by_role(Role.ZTUNNEL)[0].name, istiod=scn.pods_by_role(Role.ISTIOD)[0].name
    )
    members[path] = body
    files = open_bundle(write_bundle(tmp_path / "b.tar.gz", members, at=at(scn)))
    if not fatal:
        load_bundle(files)  # junk entries are skipped, nothing escapes
        return
    with pytest.raises(BundleError) as caught:
        load_bundle(files)
    assert caught.value.member == path and "unexpected content" in caught.value.problem
    assert "\n" not in str(caught.value)
