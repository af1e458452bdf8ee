"""Payload generators: real formats and the failure overrides of the broken scenario."""

from __future__ import annotations

import base64
import ipaddress
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from tests.fakecluster import payloads, scenarios
from tests.fakecluster.logs import component_log
from tests.fakecluster.scenario import DEFAULT_NOW, Drift, Role, Scenario, ZtunnelOverride

N1, N2, N3 = scenarios.NODES


@pytest.fixture(scope="module")
def bookinfo() -> Scenario:
    return scenarios.bookinfo()


@pytest.fixture(scope="module")
def broken() -> Scenario:
    return scenarios.broken()


def ref_of(scn: Scenario, app: str) -> str:
    return next(p.ref for p in scn.pods if p.labels.get("app") == app)


def uids(dump: dict) -> set[str]:  # type: ignore[type-arg]
    return {w["uid"] for w in dump["workloads"]}


def pem_cert(entry: dict[str, str]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(entry["pem"]))


def when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_config_dump_shape_matches_ztunnel(bookinfo: Scenario) -> None:
    dump = payloads.ztunnel_config_dump(bookinfo, N1)
    assert list(dump) == sorted(dump)  # serde_json::Value sorts keys
    assert dump["staticConfig"] == {"policies": [], "services": [], "workloads": []}
    assert [w["uid"] for w in dump["workloads"]] == sorted(uids(dump))
    pp = next(w for w in dump["workloads"] if w["name"].startswith("productpage"))
    assert pp["protocol"] == "HBONE" and pp["networkMode"] == "Standard" and pp["capacity"] == 1
    assert pp["uid"] == "Kubernetes//Pod/default/" + pp["name"] and "waypoint" not in pp
    assert pp["services"] == ["default/productpage.default.svc.cluster.local"]
    coredns = next(w for w in dump["workloads"] if w["name"].startswith("coredns"))
    assert coredns["protocol"] == "TCP"
    reviews = next(s for s in dump["services"] if s["name"] == "reviews")
    assert reviews["vips"][0].startswith("/10.96.") and reviews["ports"] == {"9080": 9080}
    assert len(reviews["endpoints"]) == 3
    assert all(e["status"] == "Healthy" for e in reviews["endpoints"].values())
    assert dump["policies"][0]["rules"][0][0][0]["principals"] == [
        {"Exact": "cluster.local/ns/default/sa/curl"}
    ]
    config = dump["config"]
    assert config["localNode"] == N1 and config["xdsOnDemand"] is False
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in config["xdsHeaders"])
    enrolled = [p for p in bookinfo.pods if p.node == N1 and bookinfo.is_enrolled(p)]
    assert set(dump["workloadState"]) == {p.uid for p in enrolled}
    assert {s["state"] for s in dump["workloadState"].values()} == {"Up"}


def test_certificates_are_real_x509(bookinfo: Scenario) -> None:
    certs = payloads.ztunnel_config_dump(bookinfo, N1)["certificates"]
    assert [c["identity"] for c in certs] == sorted(c["identity"] for c in certs)
    for entry in certs:
        assert entry["state"] == "Available"
        leaf, root = pem_cert(entry["certChain"][0]), pem_cert(entry["rootCerts"][0])
        assert str(leaf.serial_number) == entry["certChain"][0]["serialNumber"]
        assert leaf.not_valid_after_utc == when(entry["certChain"][0]["expirationTime"])
        leaf.verify_directly_issued_by(root)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [entry["identity"]]


def test_payloads_are_deterministic() -> None:
    a, b = scenarios.bookinfo(now=DEFAULT_NOW), scenarios.bookinfo(now=DEFAULT_NOW)
    assert payloads.ztunnel_config_dump_bytes(a, N2) == payloads.ztunnel_config_dump_bytes(b, N2)
    assert payloads.ambientz(a) == payloads.ambientz(b)


def test_old_versions_change_the_shape() -> None:
    old = scenarios.bookinfo(istio_version="1.23.4")
    dump = payloads.ztunnel_config_dump(old, N1)
    w = dump["workloads"][0]
    assert "capacity" not in w and "networkMode" not in w and "services" not in w
    assert "rootCerts" not in dump["certificates"][0] and len(dump["certificates"][0]["certChain"]) == 2
    map_shape = payloads.ztunnel_config_dump_122(old, N1)
    assert all(key.startswith("/") for key in map_shape["workloads"])
    assert all("/" in key for key in map_shape["policies"])
    assert isinstance(map_shape["services"], dict)


def test_istiod_per_proxy_dump_empty_from_125_but_wads_populated(bookinfo: Scenario) -> None:
    assert payloads.istiod_config_dump(bookinfo, N1, None) == {}
    wads = payloads.istiod_config_dump(bookinfo, N1, "WADS")["configs"]
    assert wads[0]["@type"] == payloads.AUTHZ_TYPE and wads[0]["scope"] == "WORKLOAD_SELECTOR"
    assert wads[0]["groups"][0]["rules"][0]["matches"][0]["principals"] == [
        {"exact": "cluster.local/ns/default/sa/curl"}
    ]
    assert "action" not in wads[0]  # ALLOW is the zero enum: omitted


def test_istiod_per_proxy_dump_before_125_is_proto_json() -> None:
    old = scenarios.bookinfo(istio_version="1.24.3")
    configs = payloads.istiod_config_dump(old, N1, None)["configs"]
    workloads = [c["workload"] for c in configs if "workload" in c]
    services = [c["service"] for c in configs if "service" in c]
    assert workloads and services and all(c["@type"] == payloads.ADDRESS_TYPE for c in configs)
    coredns = next(w for w in workloads if w["name"].startswith("coredns"))
    assert "tunnelProtocol" not in coredns and "status" not in coredns  # NONE / HEALTHY are zero values
    ip = ipaddress.ip_address(base64.b64decode(coredns["addresses"][0]))
    assert str(ip).startswith("10.244.")


def test_ambientz_uses_base64_of_ascii(bookinfo: Scenario) -> None:
    amb = payloads.ambientz(bookinfo)
    ips = {base64.b64decode(w["addresses"][0]).decode() for w in amb["workloads"]}
    assert {p.ip for p in bookinfo.pods if p.ip} == ips
    assert base64.b64decode(amb["services"][0]["addresses"][0]["address"]).decode().count(".") == 3


# --- the broken scenario ------------------------------------------------------------------------------


def test_broken_workload_drift_in_ztunnel(broken: Scenario) -> None:
    dump = payloads.ztunnel_config_dump(broken, N1)
    pp = ref_of(broken, "productpage")
    assert f"Kubernetes//Pod/{pp}" not in uids(dump)
    assert "Kubernetes//Pod/default/reviews-v1-7d9c8b5f4-gone1" in uids(dump)
    ratings = next(w for w in dump["workloads"] if w["name"].startswith("ratings-v1"))
    assert ratings["protocol"] == "TCP"
    pp_pod = broken.pod(*pp.split("/"))
    assert pp_pod is not None and dump["workloadState"][pp_pod.uid]["state"] == "Pending"
    assert "connections" not in dump["workloadState"][pp_pod.uid]


def test_broken_certificates(broken: Scenario) -> None:
    now = broken.now
    by_id = {
        c["identity"].rsplit("/", 1)[1]: c for c in payloads.ztunnel_config_dump(broken, N1)["certificates"]
    }
    assert by_id["bookinfo-productpage"]["state"].startswith("Unavailable: signing gRPC error")
    assert by_id["bookinfo-productpage"]["certChain"] == []
    assert when(by_id["bookinfo-reviews"]["certChain"][0]["expirationTime"]) < now  # expired
    by_id2 = {
        c["identity"].rsplit("/", 1)[1]: c for c in payloads.ztunnel_config_dump(broken, N2)["certificates"]
    }
    assert when(by_id2["bookinfo-details"]["certChain"][0]["validFrom"]) > now  # not yet valid
    assert now < when(by_id2["curl"]["certChain"][0]["expirationTime"]) < now + timedelta(hours=1)
    assert by_id2["bookinfo-reviews"]["state"] == "Initializing"
    root1 = payloads.ztunnel_config_dump(broken, N3)["certificates"][0]["rootCerts"][0]["pem"]
    # node 2 runs 1.25 (no rootCerts: the root ends certChain) and trusts a different root.
    assert "rootCerts" not in by_id2["curl"] and by_id2["curl"]["certChain"][-1]["pem"] != root1


def test_broken_istiod_side(broken: Scenario) -> None:
    istiods = broken.pods_by_role(Role.ISTIOD)
    syncs = [s for i in istiods for s in payloads.syncz(broken, i)]
    zt1, zt3 = broken.ztunnel_on(N1), broken.ztunnel_on(N3)
    assert zt1 and zt3
    nacked = next(s for s in syncs if s["proxy"].startswith(zt1.name))
    address = nacked["resources"][payloads.ADDRESS_TYPE]
    assert "legacy istio mtls" in address["lastError"] and address["sent"] != address["acked"]
    assert not any(s["proxy"].startswith(zt3.name) for s in syncs)  # absent from syncz
    clients = [c["connectionId"] for i in istiods for c in payloads.connections(broken, i)["clients"]]
    assert not any(c.startswith(zt3.name) for c in clients)
    assert payloads.istiod_config_dump(broken, N1, "WADS") == {}  # the policy is missing from istiod's view
    versions = {s["istio_version"] for s in syncs}
    assert versions == {"1.26.2", "1.25.1"}  # version skew


def test_broken_on_demand_and_missing_node_components(broken: Scenario) -> None:
    dump = payloads.ztunnel_config_dump(broken, N3)
    assert dump["config"]["xdsOnDemand"] is True
    assert {w.get("node") for w in dump["workloads"]} == {N3}
    assert broken.ztunnel_on("ambient-worker4") is None
    assert not [p for p in broken.pods_by_role(Role.CNI) if p.node == "ambient-worker4"]


def test_broken_logs_carry_the_failures(broken: Scenario) -> None:
    zt1 = broken.ztunnel_on(N1)
    assert zt1
    text = "\n".join(line for _, line in component_log(broken, zt1.namespace, zt1.name, False))
    assert "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008" in text
    assert "dns lookup failed" in text and "type=Nack" in text and "failed to start proxy" in text
    cni = next(p for p in broken.pods_by_role(Role.CNI) if p.node == N1)
    cni_text = "\n".join(line for _, line in component_log(broken, cni.namespace, cni.name, False))
    assert "failed to update POD inpod: default/" in cni_text


def test_json_log_format(bookinfo: Scenario) -> None:
    scn = bookinfo.with_overrides(ztunnels={N1: ZtunnelOverride(log_format="json")})
    zt = scn.ztunnel_on(N1)
    assert zt
    lines = [line for _, line in component_log(scn, zt.namespace, zt.name, False) if line.startswith("{")]
    access = [json.loads(line) for line in lines if '"scope":"access"' in line]
    assert access and {"level", "time", "scope", "message", "src.addr", "bytes_sent"} <= set(access[0])
    assert isinstance(access[0]["bytes_sent"], int)


def test_istiod_drift_overrides_are_independent(bookinfo: Scenario) -> None:
    details = ref_of(bookinfo, "details")
    old = replace(scenarios.bookinfo(istio_version="1.24.3"))
    scn = old.with_overrides(
        istiod={
            N1: replace(
                old.istiod_override(N1),
                drift=Drift(
                    missing_workloads=frozenset({details}), workload_protocol={ref_of(old, "ratings"): "TCP"}
                ),
            )
        }
    )
    names = {
        c["workload"]["name"].rsplit("-", 2)[0]
        for c in payloads.istiod_config_dump(scn, N1, None)["configs"]
        if "workload" in c
    }
    assert "details-v1" not in names and "ratings-v1" in names
    assert (
        payloads.ztunnel_config_dump(scn, N1)["workloads"]
        == payloads.ztunnel_config_dump(old, N1)["workloads"]
    )


def test_scenario_from_dict() -> None:
    scn = Scenario.from_dict(
        {
            "name": "mini",
            "nodes": ["n1", "n2"],
            "istio_version": "1.25.0",
            "namespaces": [{"name": "shop", "labels": {"istio.io/dataplane-mode": "ambient"}}],
            "pods": [{"namespace": "shop", "workload": "cart", "node": "n1"}],
            "services": [{"namespace": "shop", "name": "cart", "selector": {"app": "cart"}}],
            "ztunnels": {
                "n1": {"certificates": {"shop/shop-cart": {"state": "Initializing"}}, "restarts": 2}
            },
            "istiod": {"n2": {"connected": False}},
            "rbac": [{"verb": "list", "resource": "pods"}],
        }
    )
    dump = payloads.ztunnel_config_dump(scn, "n1")
    assert [c["state"] for c in dump["certificates"]] == ["Initializing"]
    assert any(w["name"].startswith("cart-") and w["protocol"] == "HBONE" for w in dump["workloads"])
    assert scn.rbac and scn.rbac[0].allows("list", "pods", "", "shop")
    with pytest.raises(ValueError, match="unknown keys"):
        Scenario.from_dict({"name": "x", "ztunnels": {"n1": {"nonsense": 1}}})


def test_synthetic_scales_and_shares_payloads() -> None:
    scn = scenarios.synthetic(nodes=20, pods_per_node=10)
    assert len(scn.pods_by_role(Role.ZTUNNEL)) == 20
    a, b = (json.loads(payloads.ztunnel_config_dump_bytes(scn, n.name)) for n in scn.nodes[:2])
    assert a["workloads"] == b["workloads"] and len(a["workloads"]) >= 200
    assert a["config"]["localNode"] != b["config"]["localNode"]


def test_without_component_and_waypoint(bookinfo: Scenario) -> None:
    scn = scenarios.without_component(scenarios.with_waypoint(bookinfo), Role.CNI, N2)
    assert scn.ztunnel_on(N2) and not [p for p in scn.pods_by_role(Role.CNI) if p.node == N2]
    dump = payloads.ztunnel_config_dump(scn, N1)
    waypoint_vip = next(s["vips"][0] for s in dump["services"] if s["name"] == "waypoint")
    reviews = next(s for s in dump["services"] if s["name"] == "reviews")
    assert reviews["waypoint"] == {"destination": waypoint_vip, "hboneMtlsPort": 15008}
    wp = next(w for w in dump["workloads"] if w["name"].startswith("waypoint-"))
    assert wp["nativeTunnel"] is True and wp["protocol"] == "HBONE"


# --- workloadState connections --------------------------------------------------------------------


def _states(scn: Scenario) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every ztunnel's workloadState entries, keyed by pod name."""
    out = {}
    for node in scn.nodes:
        if scn.ztunnel_on(node.name):
            for entry in payloads.ztunnel_config_dump(scn, node.name)["workloadState"].values():
                out[entry["info"]["name"]] = entry
    return out


def test_connections_follow_the_traffic_in_both_directions(bookinfo: Scenario) -> None:
    states = _states(bookinfo)
    ip_of = {p.ip: p for p in bookinfo.pods}
    outbound = [(name, c) for name, e in states.items() for c in e["connections"]["outbound"]]
    inbound = {c["src"]: (name, c) for name, e in states.items() for c in e["connections"]["inbound"]}
    # productpage→details, productpage→reviews, reviews×3→ratings, curl→productpage
    assert len(outbound) == 6 and len(inbound) == 6
    vips = {f"{s.cluster_ip}:{s.ports[0].port}": s for s in bookinfo.services}
    for name, conn in outbound:
        assert set(conn) == {"src", "originalDst", "actualDst", "protocol"} and conn["protocol"] == "HBONE"
        dst_ip, dst_port = conn["actualDst"].rsplit(":", 1)
        assert dst_port == "15008" and conn["originalDst"] in vips
        svc = vips[conn["originalDst"]]
        if ip_of[dst_ip].role is Role.WAYPOINT:  # the waypoint the service is bound to terminates HBONE
            waypoint = ip_of[dst_ip].labels.get("gateway.networking.k8s.io/gateway-name")
            assert svc.labels.get("istio.io/use-waypoint") == waypoint
            continue
        assert ip_of[dst_ip] in bookinfo.pods_of(svc)  # a backend of the service the client dialled
        peer_name, seen = inbound[conn["src"]]  # the same connection, seen by the destination's ztunnel
        assert peer_name == ip_of[dst_ip].name and seen["originalDst"] == svc.hostname
        assert seen["actualDst"] == f"{dst_ip}:{svc.ports[0].target_port}" and seen["protocol"] == "HBONE"
        assert ip_of[conn["src"].rsplit(":", 1)[0]].name == name
    ratings = next(e for n, e in states.items() if n.startswith("ratings-v1"))
    assert len(ratings["connections"]["inbound"]) == 3  # one from each reviews version


def test_connections_before_126_have_no_protocol_and_pending_has_none(broken: Scenario) -> None:
    states = _states(broken)
    n2_conns = [c for n, e in states.items() if n.startswith("details") for c in e["connections"]["inbound"]]
    assert n2_conns and all("protocol" not in c for c in n2_conns)  # node 2 runs ztunnel 1.25
    pp = next(e for n, e in states.items() if n.startswith("productpage"))
    assert pp["state"] == "Pending" and "connections" not in pp


def test_connections_go_through_the_namespace_waypoint(bookinfo: Scenario) -> None:
    scn = scenarios.with_waypoint(bookinfo)
    waypoint = scn.pods_by_role(Role.WAYPOINT)[0]
    states = _states(scn)
    out = [c for n, e in states.items() if n.startswith("productpage") for c in e["connections"]["outbound"]]
    assert out and {c["actualDst"] for c in out} == {f"{waypoint.ip}:15008"}
    inbound = [c for e in states.values() for c in e["connections"]["inbound"]]
    assert inbound and all(c["src"].startswith(f"{waypoint.ip}:") for c in inbound)


@pytest.mark.parametrize(("nodes", "per_node"), [(5, 10), (7, 4), (3, 20), (2, 5)])
def test_synthetic_pod_and_service_names_are_unique(nodes: int, per_node: int) -> None:
    # 5 × 10 once gave three duplicate pods (false ZT102): the replica suffix restarted per node.
    scn = scenarios.synthetic(nodes=nodes, pods_per_node=per_node)
    apps = [p for p in scn.pods if p.name.startswith("svc-")]
    assert len(apps) == nodes * per_node
    assert len({(p.namespace, p.name) for p in apps}) == len(apps)
    assert len({p.name for p in apps}) == len(apps)
    refs = [(s.namespace, s.name) for s in scn.services if s.name.startswith("svc-")]
    assert len(refs) == len(set(refs)) == -(-nodes * per_node // 3)
