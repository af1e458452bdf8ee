"""Parsers on realistic shapes: generated dumps (current list + 1.22 map), istiod proto JSON, logs."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from analyzer import xds as normalize
from analyzer.model import CertState, Workload, drift
from analyzer.parse import parse_time
from analyzer.parse.certs import certificate, pem_text
from analyzer.parse.config_dump import UnsupportedDump, parse_config_dump
from analyzer.parse.connections import parse_connections
from analyzer.parse.istiod import parse_ambientz, parse_proxy_config
from analyzer.parse.logs import access_records, parse_log
from analyzer.parse.metrics import parse_metrics
from analyzer.parse.syncz import parse_syncz
from tests.fakecluster import payloads, scenarios

NODE = scenarios.NODES[0]


@pytest.fixture(scope="module")
def scn() -> Any:
    return scenarios.bookinfo(istio_version="1.24.3")


def test_current_and_122_map_shapes_normalize_to_the_same_workloads(scn: Any) -> None:
    intern = normalize.Interner()
    current = parse_config_dump(payloads.ztunnel_config_dump(scn, NODE), intern)
    old = parse_config_dump(payloads.ztunnel_config_dump_122(scn, NODE), intern)
    assert (current.shape, old.shape) == ("list", "map")
    assert current.xds.workloads and set(current.xds.workloads) == set(old.xds.workloads)
    for uid, w in current.xds.workloads.items():
        assert w.ips == old.xds.workloads[uid].ips and w.protocol == old.xds.workloads[uid].protocol
    assert set(current.xds.services) == set(old.xds.services)
    for key, svc in current.xds.services.items():  # ≤1.23 endpoint keys `uid:net/ip` map to the same uids
        assert [u for u, _ in svc.endpoints] == [u for u, _ in old.xds.services[key].endpoints]
    assert set(current.xds.policies) == set(old.xds.policies)
    assert current.config.local_node == NODE and current.version == "1.24.3"


def test_identical_entries_are_interned_across_ztunnels(scn: Any) -> None:
    intern = normalize.Interner()
    a = parse_config_dump(payloads.ztunnel_config_dump(scn, scenarios.NODES[0]), intern)
    b = parse_config_dump(payloads.ztunnel_config_dump(scn, scenarios.NODES[1]), intern)
    uid = next(iter(a.xds.workloads))
    assert a.xds.workloads[uid] is b.xds.workloads[uid]
    assert a.xds.workload_hashes == b.xds.workload_hashes
    assert len(intern) < len(a.xds.workloads) + len(b.xds.workloads)


def test_istiod_per_proxy_dump_and_ambientz_match_an_in_sync_ztunnel(scn: Any) -> None:
    intern = normalize.Interner()
    zt = parse_config_dump(payloads.ztunnel_config_dump(scn, NODE), intern)
    proxy, addresses, authz = parse_proxy_config(payloads.istiod_config_dump(scn, NODE, "WDS,WADS"), intern)
    amb = parse_ambientz(payloads.ambientz(scn), intern)
    assert addresses > 0 and authz == len(zt.xds.policies)
    for side in (proxy, amb):
        assert side.workload_hashes == zt.xds.workload_hashes
        assert side.service_hashes == zt.xds.service_hashes
        assert side.policy_hashes == zt.xds.policy_hashes


def test_istiod_entries_equal_the_ztunnels_and_repeated_views_stop_building(
    scn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    intern = normalize.Interner()
    zt = parse_config_dump(payloads.ztunnel_config_dump(scn, NODE), intern)
    built: list[Any] = []
    real = normalize.workload_from_proto
    monkeypatch.setattr(normalize, "workload_from_proto", lambda raw: built.append(raw) or real(raw))
    doc = payloads.istiod_config_dump(scn, NODE, "WDS,WADS")
    counts, views = [], []
    for _ in range(3):  # three istiod replicas sending equal (not byte-identical) views
        before = len(built)
        views.append(parse_proxy_config(copy.deepcopy(doc), intern)[0])
        counts.append(len(built) - before)
    amb = parse_ambientz(payloads.ambientz(scn), intern)
    assert zt.xds.workloads and counts[0] > 0 and counts[2] == 0  # the third view: every entry seen
    for state in (*views, amb):  # one object per entry on istiod's side, equal to the ztunnel's
        for uid, w in zt.xds.workloads.items():
            assert state.workloads[uid] is views[0].workloads[uid] and state.workloads[uid] == w
            assert state.workload_hashes[uid] == zt.xds.workload_hashes[uid]


def test_a_node_of_another_json_type_keeps_its_own_hash() -> None:
    """istiod's proto `node` is kept as JSON gave it; `1 == True` must not make the hashes equal."""
    intern = normalize.Interner()
    one, true = (Workload(uid="u", name="n", namespace="ns", node=v) for v in (1, True))  # type: ignore[arg-type]
    assert one == true and intern.hash_of(one) != intern.hash_of(true)
    assert intern.hash_of(true) == normalize.content_hash(true)


def test_per_proxy_dump_is_empty_on_125_plus() -> None:
    scn = scenarios.bookinfo(istio_version="1.26.2")
    state, addresses, _ = parse_proxy_config(
        payloads.istiod_config_dump(scn, NODE, None), normalize.Interner()
    )
    assert addresses == 0 and not state.workloads


def test_drift_shows_as_a_hash_difference_with_a_field_diff(scn: Any) -> None:
    intern = normalize.Interner()
    zt_doc = payloads.ztunnel_config_dump(scn, NODE)
    changed = copy.deepcopy(zt_doc)
    changed["workloads"][0]["protocol"] = "TCP" if changed["workloads"][0]["protocol"] == "HBONE" else "HBONE"
    a, b = parse_config_dump(zt_doc, intern), parse_config_dump(changed, intern)
    uid = zt_doc["workloads"][0]["uid"]
    assert a.xds.workload_hashes[uid] != b.xds.workload_hashes[uid]
    lines = drift.diff(a.xds.workloads[uid], b.xds.workloads[uid])
    assert len(lines) == 1 and "protocol" in lines[0]
    assert not drift.same(a.xds.workloads[uid], b.xds.workloads[uid], ignore={"network_mode"})
    assert drift.same(a.xds.workloads[uid], b.xds.workloads[uid], ignore={"protocol"})
    assert drift.diff(a.xds.workloads[uid], b.xds.workloads[uid], ignore={"protocol"}) == []


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_ip_bytes_std_and_urlsafe_base64(encode: Any) -> None:
    packed = bytes([10, 251, 255, 254])  # 0xfb/0xff force '+/' vs '-_' alphabets
    assert normalize.decode_ip(encode(packed).decode()) == "10.251.255.254"
    v6 = bytes.fromhex("fd00" + "00" * 13 + "ff")
    assert normalize.decode_ip(encode(v6).decode()) == "fd00::ff"
    assert normalize.decode_ip(encode(b"10.244.1.5").decode().rstrip("=")) == "10.244.1.5"  # ambientz


def test_gateway_and_netaddr_ambiguity() -> None:
    w = normalize.workload_from_ztunnel(
        {
            "uid": "u",
            "name": "n",
            "namespace": "ns",
            "waypoint": {"destination": "/10.96.0.1", "hboneMtlsPort": 15008},
            "networkGateway": {"destination": "ns/gw.ns.svc.cluster.local"},
        }
    )
    assert w.waypoint == "/10.96.0.1" and w.network_gateway == "ns/gw.ns.svc.cluster.local"
    p = normalize.workload_from_proto(
        {
            "uid": "u",
            "name": "n",
            "namespace": "ns",
            "waypoint": {"hostname": {"namespace": "ns", "hostname": "wp"}},
        }
    )
    assert p.waypoint == "ns/wp" and p.protocol == "TCP" and p.workload_type == "deployment"


def test_legacy_snake_case_dump_is_mapped_and_unknown_shapes_refused() -> None:
    legacy = {
        "by_addr": {
            "/10.0.0.1": {
                "uid": "K//Pod/a/b",
                "name": "b",
                "namespace": "a",
                "workloadIps": ["10.0.0.1"],
                "protocol": "HBONE",
            }
        },
        "by_host": {
            "a/s": [
                {
                    "name": "s",
                    "namespace": "a",
                    "hostname": "s.a",
                    "vips": ["/10.96.0.9"],
                    "ports": {"80": 8080},
                    "endpoints": {},
                }
            ]
        },
        "by_key": {
            "a/p": {"name": "p", "namespace": "a", "scope": "Namespace", "action": "Deny", "rules": []}
        },
        "config": {"local_node": "n9", "xds_on_demand": True},
        "certificates": [
            {
                "identity": "spiffe://td/ns/a/sa/b",
                "state": "Available",
                "cert_chain": [
                    {
                        "pem": "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----",
                        "serial_number": "12",
                        "valid_from": "2024-01-01T00:00:00Z",
                        "expiration_time": "2024-01-02T00:00:00Z",
                    }
                ],
            }
        ],
    }
    dump = parse_config_dump(legacy, normalize.Interner())
    assert dump.shape == "legacy" and list(dump.xds.workloads) == ["K//Pod/a/b"]
    assert list(dump.xds.services) == ["a/s.a"] and dump.xds.policies["a/p"].action == "Deny"
    assert dump.config.local_node == "n9" and dump.config.xds_on_demand
    assert dump.certificates[0].leaf is not None and dump.certificates[0].leaf.serial == 12
    with pytest.raises(UnsupportedDump, match="unsupported ztunnel dump version"):
        parse_config_dump({"config": {}, "something": []}, normalize.Interner())
    with pytest.raises(UnsupportedDump):
        parse_config_dump([], normalize.Interner())


def test_certificate_states_pem_forms_and_root_inference() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    b64 = base64.b64encode(pem.encode()).decode()
    assert pem_text(b64) == pem and pem_text(pem) == pem

    def dump(p: str, serial: str) -> dict[str, str]:
        return {
            "pem": p,
            "serialNumber": serial,
            "validFrom": "2024-01-01T00:00:00Z",
            "expirationTime": "2024-01-02T00:00:00Z",
        }

    legacy = certificate(
        {"identity": "i", "state": "Available", "certChain": [dump(b64, "1"), dump(pem, "2")]}
    )
    assert legacy.roots_inferred and [c.serial for c in legacy.chain] == [1] and legacy.roots[0].serial == 2
    modern = certificate(
        {
            "identity": "i",
            "state": "Available",
            "certChain": [dump(b64, "1")],
            "rootCerts": [dump(pem, "340282366920938463463374607431768211455")],
        }
    )
    assert not modern.roots_inferred and modern.roots[0].serial == 2**128 - 1
    assert legacy.roots[0].fingerprint == modern.roots[0].fingerprint  # raw vs base64 PEM: same cert
    bad = certificate({"identity": "i", "state": "Unavailable: signing gRPC error (Unavailable): x"})
    assert bad.state is CertState.UNAVAILABLE and bad.state_error == "signing gRPC error (Unavailable): x"
    assert certificate({"identity": "i", "state": "Initializing"}).state is CertState.INITIALIZING
    assert certificate({"identity": "i", "state": "Weird"}).state is CertState.UNKNOWN
    assert modern.leaf and modern.leaf.expires == datetime(2024, 1, 2, tzinfo=UTC)


def test_workload_state_tolerates_missing_parts(scn: Any) -> None:
    doc = payloads.ztunnel_config_dump(scn, NODE)
    doc["workloadState"]["extra-uid"] = {"state": "Pending"}
    dump = parse_config_dump(doc, normalize.Interner())
    assert dump.workload_state is not None and dump.workload_state["extra-uid"].state == "Pending"
    del doc["workloadState"]
    assert parse_config_dump(doc, normalize.Interner()).workload_state is None


def test_syncz_and_connections(scn: Any) -> None:
    from tests.fakecluster.scenario import Role

    istiod = scn.pods_by_role(Role.ISTIOD)[0]
    entries = parse_syncz(payloads.syncz(scn, istiod))
    assert entries and entries[0].proxy_type == "ztunnel" and len(entries[0].resources) == 2
    assert all(r.sent == r.acked and r.last_error is None for r in entries[0].resources)
    conns = parse_connections(payloads.connections(scn, istiod))
    assert conns and {c.proxy for c in conns} == {e.proxy for e in entries}
    assert all(c.connected_at is not None for c in conns)


def test_time_parsing_tolerates_nanoseconds_and_offsets() -> None:
    assert parse_time("2024-05-01T12:00:00.123456789Z") == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert parse_time("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_time("0001-01-01T00:00:00Z") is not None
    assert parse_time("garbage") is None and parse_time(None) is None


LOG = (
    "2024-04-11T15:38:40.000001Z\tinfo\tztunnel\trunning with config: \nproxy: true\ndnsProxy: false\n"
    "2024-04-11T15:38:42.182974Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.0.24:46238 "
    'src.workload="shell-6d8b" src.namespace="default" '
    'src.identity="spiffe://cluster.local/ns/default/sa/default" '
    "dst.addr=10.244.0.42:15008 dst.hbone_addr=10.96.108.116:80 "
    'dst.service="echo.default.svc.cluster.local" direction="outbound" bytes_sent=67 bytes_recv=490 '
    'duration="13ms"\n'
    '{"level":"error","time":"2024-04-11T15:38:43Z","scope":"access","message":"connection complete",'
    '"src.addr":"10.0.0.1:1","dst.addr":"10.0.0.2:15008","direction":"inbound","bytes_sent":0,"bytes_recv":0,'
    '"duration":"3ms",'
    '"error":"connection closed due to policy rejection: allow policies exist, but none allowed"}\n'
    "2023-11-01T12:34:56.789012Z  WARN xds{id=1}: ztunnel::xds::client: XDS client connection error retry=3\n"
    "2024-04-11T15:38:44Z\terror\txds::client:xds{id=1}\tsending response\t"
    'type_url="type.googleapis.com/istio.workload.Address" type=Nack error="a: unknown enum"\n'
    "2024-04-11T15:38:45.5Z 2024-04-11T15:38:45.4Z\twarn\tcni-agent\tno ztunnel connection\t\n"
    "========= Previous log =========\n"
    "2024-04-11T15:38:46Z\tbroken\n"
)


def test_log_layouts_multiline_and_malformed_lines() -> None:
    parsed = parse_log(LOG)
    assert parsed.malformed == 1 and parsed.layout == "mixed"
    first = parsed.events[0]
    assert first.message.endswith("proxy: true\ndnsProxy: false")  # continuation lines folded in
    legacy = next(e for e in parsed.events if e.level == "warn" and e.target == "xds::client")
    assert legacy.spans == "xds{id=1}" and legacy.fields == {"retry": "3"}
    nack = next(e for e in parsed.events if e.fields.get("type") == "Nack")
    assert (nack.target, nack.spans, nack.fields["error"]) == ("xds::client", "xds{id=1}", "a: unknown enum")
    kubectl = next(e for e in parsed.events if e.target == "cni-agent")
    assert kubectl.message == "no ztunnel connection"  # `--timestamps` prefix removed


def test_access_records() -> None:
    records = access_records(parse_log(LOG).events)
    assert len(records) == 2
    ok, denied = records
    assert (ok.src_workload, ok.dst_hbone_addr, ok.duration_ms, ok.bytes_recv) == (
        "shell-6d8b",
        "10.96.108.116:80",
        13,
        490,
    )
    assert ok.src_identity == "spiffe://cluster.local/ns/default/sa/default" and ok.error is None
    assert (
        denied.level == "error"
        and denied.direction == "inbound"
        and "policy rejection" in (denied.error or "")
    )


def test_generated_ztunnel_logs_parse_without_malformed_lines(scn: Any) -> None:
    from tests.fakecluster import logs as fake_logs

    zt = scn.ztunnel_on(NODE)
    text = "\n".join(line for _, line in fake_logs.component_log(scn, zt.namespace, zt.name, False))
    parsed = parse_log(text)
    assert len(parsed.events) > 10 and parsed.malformed == 0
    assert access_records(parsed.events), "generated traffic produces access-log records"


def test_metrics() -> None:
    text = (
        "# HELP istio_tcp_connections_opened_total x\n# TYPE istio_tcp_connections_opened_total counter\n"
        'istio_tcp_connections_opened_total{reporter="source",dst="a\\"b"} 3\n'
        "istio_build 1 1712345678\nbad line here\n"
    )
    m = parse_metrics(text)
    assert m.malformed == 1 and m.total("istio_tcp_connections_opened_total") == 3
    assert m.named("istio_tcp_connections_opened_total")[0].label("dst") == 'a"b'


@pytest.mark.parametrize("shape", ["current", "1.22"])
@pytest.mark.parametrize("node", scenarios.NODES)
def test_text_fast_path_equals_full_parse(node: str, shape: str) -> None:
    import json

    from analyzer.parse.config_dump_text import parse_config_dump_text

    scn = scenarios.broken()
    gen = payloads.ztunnel_config_dump if shape == "current" else payloads.ztunnel_config_dump_122
    doc = gen(scn, node)
    expected = parse_config_dump(doc, normalize.Interner())
    parsed: list[str] = []

    def parse(text: str) -> Any:
        parsed.append(text)
        return json.loads(text)

    def entries(texts: list[str]) -> list[str]:
        # Workload, service and policy entries carry these keys; node-local sections do not.
        return [t for t in texts if any(k in t for k in ('"workloadIps"', '"subjectAltNames"', '"action"'))]

    pretty = json.dumps(doc, indent=2)
    intern = normalize.Interner()
    assert parse_config_dump_text(pretty, intern, parse) == expected
    assert len(parsed) > 1 and max(map(len, parsed)) < len(pretty)  # split, not one parse
    assert entries(parsed)
    parsed.clear()
    assert parse_config_dump_text(pretty, intern, parse) == expected
    assert entries(parsed) == []  # a repeated dump re-parses none of its entries
    parsed.clear()
    assert parse_config_dump_text(json.dumps(doc), normalize.Interner(), parse) == expected
    assert len(parsed) == 1  # compact JSON: whole-document fallback


# --- format notes: a field of an unexpected type or an unknown field never fails the load ------------


def _drifted(scn: Any) -> dict[str, Any]:
    """A current dump as a later ztunnel might write it: one field changed type, new fields added."""
    doc = copy.deepcopy(payloads.ztunnel_config_dump(scn, NODE))
    doc["workloads"][0]["capacity"] = "lots"  # an integer until now
    for i, workload in enumerate(doc["workloads"]):  # one note for the field, not one per workload
        workload["futureField"] = {"a": 1} if i == 0 else {"a": i}
    doc["config"]["dnsProxy"] = "true"  # the kind of bool → string change kiali #8381 met
    doc["certificates"][0]["futureCert"] = 1
    doc["newSection"] = []
    return doc


EXPECTED_NOTES = {
    ("workloads.capacity", "integer", 'string "lots"'),
    ("workloads.futureField", "no such field", 'object {"a":1}'),
    ("config.dnsProxy", "boolean", 'string "true"'),
    ("certificates.futureCert", "no such field", "integer 1"),
    ("newSection", "no such field", "list []"),
}


def test_dumps_of_every_known_shape_have_no_format_notes(scn: Any) -> None:
    intern = normalize.Interner()
    for dump in (payloads.ztunnel_config_dump(scn, NODE), payloads.ztunnel_config_dump_122(scn, NODE)):
        assert parse_config_dump(dump, intern).notes == ()


@pytest.mark.parametrize("path", ["whole", "pretty-text"])
def test_mistyped_and_unknown_fields_load_as_format_notes(scn: Any, path: str) -> None:
    import json

    from analyzer.parse.config_dump_text import parse_config_dump_text

    doc, intern = _drifted(scn), normalize.Interner()
    text = json.dumps(doc, indent=2)
    for _ in range(2):  # a second ztunnel with the same entries gets the same notes
        got = (
            parse_config_dump(doc, intern)
            if path == "whole"
            else parse_config_dump_text(text, intern, json.loads)
        )
        assert {(n.field, n.expected, n.seen) for n in got.notes} == EXPECTED_NOTES
        assert {n.version for n in got.notes} == {"1.24.3"}
        first = got.xds.workloads[doc["workloads"][0]["uid"]]
        assert first.capacity == 1  # the mistyped value is left out: its default applies
        assert got.config.dns_proxy is None and len(got.xds.workloads) == len(doc["workloads"])


def test_an_entry_no_release_could_write_is_left_out_and_noted(scn: Any) -> None:
    doc = copy.deepcopy(payloads.ztunnel_config_dump(scn, NODE))
    doc["workloads"].append("not an object")
    doc["services"][0]["ports"] = {"80": {"deep": "object"}}  # right type outside, nonsense inside
    got = parse_config_dump(doc, normalize.Interner())
    assert ("workloads", "object", "string") in {(n.field, n.expected, n.seen) for n in got.notes}
    assert any(n.field == "services" and n.expected == "a readable services entry" for n in got.notes)
    assert len(got.xds.workloads) == len(doc["workloads"]) - 1


def test_bundle_with_a_drifted_dump_loads_analyzes_and_carries_the_notes(scn: Any, tmp_path: Any) -> None:
    import json

    import jsonschema

    import rules
    from analyzer import analyze_bundle
    from analyzer.bundle import open_bundle
    from analyzer.load import load_bundle
    from analyzer.report import json as report_json
    from analyzer.report import text as report_text
    from tests.analyzer.tarhelp import write_bundle
    from tests.analyzer.test_load import _members, at
    from tests.fakecluster.scenario import Role
    from ztbundle import layout

    members = _members(scn)
    name = next(z.name for z in scn.pods_by_role(Role.ZTUNNEL) if z.node == NODE)
    members[layout.ztunnel_config_dump(name)] = json.dumps(_drifted(scn), indent=2).encode()
    bundle = load_bundle(open_bundle(write_bundle(tmp_path / "b.tar.gz", members, at=at(scn))))
    ztunnel = bundle.ztunnel_named(name)
    assert ztunnel is not None and ztunnel.available
    assert {(n.field, n.expected, n.seen) for n in ztunnel.format_notes} == EXPECTED_NOTES
    assert all(not z.format_notes for z in bundle.ztunnels if z.name != name)
    result = analyze_bundle(bundle, rules.all_rules())  # rules run over the tolerated model
    doc = json.loads(report_json.render(result))
    jsonschema.validate(doc, report_json.schema())
    assert {(n["ztunnel"], n["field"], n["version"]) for n in doc["format_notes"]} == {
        (name, field, "1.24.3") for field, _, _ in EXPECTED_NOTES
    }
    text = report_text.render(result)
    assert f'  {name}: workloads.capacity: expected integer, seen string "lots" (ztunnel 1.24.3)' in text
    from analyzer.report import html as report_html

    page = report_html.render(result)
    section = page[page.index(f'id="ztunnel-{name}"') :]
    assert "Format notes" in section and "workloads.capacity" in section.split("</details>")[0]


def test_118_dump_parses_to_workloads_with_uids_and_addresses_and_services_per_vip() -> None:
    """1.18 (ztunnel src/workload.rs at 1.18.0): workloads keyed by bare IP, `vips` "vip:port" → targets."""
    doc = {
        "workloads": {
            "10.244.2.3": {"workloadIp": "10.244.2.3", "name": "gw-0", "namespace": "istio-system"},
            "10.244.2.4": {
                "workloadIp": "10.244.2.4",
                "name": "web-0",
                "namespace": "shop",
                "protocol": "HBONE",
            },
        },
        "vips": {"10.96.73.38:80": [["10.244.2.3", 8080]], "10.96.73.38:443": [["10.244.2.3", 8443]]},
        "workload_to_vip": {},
        "policies": {},
        "version": {"version": "dc75c58", "istio_version": "unknown"},
        "certificates": [],
    }
    got = parse_config_dump(doc, normalize.Interner())
    assert got.notes == ()
    assert {uid: w.ips for uid, w in got.xds.workloads.items()} == {
        "Kubernetes//Pod/istio-system/gw-0": ("10.244.2.3",),
        "Kubernetes//Pod/shop/web-0": ("10.244.2.4",),
    }
    (svc,) = got.xds.services.values()
    assert svc.vips == ("/10.96.73.38",) and svc.ports == ((80, 8080), (443, 8443))
    assert svc.endpoints == (("Kubernetes//Pod/istio-system/gw-0", ((80, 8080), (443, 8443))),)
