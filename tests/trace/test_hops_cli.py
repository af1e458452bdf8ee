"""Each hop says unknown when its input was not collected; the CLI's errors, JSON schema and help."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from _pytest.capture import CaptureFixture

from analyzer.trace import HopKey, Verdict
from analyzer.trace.render import to_json
from tests.analyzer.tarhelp import write_bundle
from tests.analyzer.test_load import at
from tests.fakecluster import scenarios
from tests.fakecluster.scenario import Namespace, Policy, ZtunnelOverride
from tests.trace.bundles import members, traced
from ztbundle.cli import main
from ztbundle.exits import Exit

SCHEMA = json.loads(resources.files("analyzer").joinpath("schemas/trace.schema.json").read_text("utf-8"))


def _sub(tmp: Path, name: str) -> Path:
    """A fresh directory per bundle: a loaded bundle may still read its file."""
    (tmp / name).mkdir()
    return tmp / name


def _verdicts(t: object, source: str, target: str) -> dict[HopKey, Verdict]:
    got = t.trace(t.pod(source), target)  # type: ignore[attr-defined]
    return {h.key: h.verdict for h in got.hops}


def test_source_ztunnel_dump_not_collected_makes_its_hops_unknown(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    t = traced(scn, tmp_path)
    zt = t.model.ztunnel_on(next(p for p in scn.pods if p.labels.get("app") == "productpage").node)
    assert zt is not None
    t = traced(scn, _sub(tmp_path, "no-dump"), without=(zt.config_dump_path,))
    got = _verdicts(t, "productpage", "default/details")
    unknown = (HopKey.SOURCE_ENROLLED, HopKey.SOURCE_IDENTITY, HopKey.DESTINATION_RESOLVED, HopKey.POLICY)
    assert {k: got[k] for k in unknown} == dict.fromkeys(unknown, Verdict.UNKNOWN)
    assert got[HopKey.DESTINATION_SIDE] is Verdict.OK  # details' own ztunnel was collected


def test_logs_not_collected_make_observed_traffic_unknown(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path, without=("ztunnel/ztunnel-",))
    got = _verdicts(t, "productpage", "default/details")
    assert got[HopKey.OBSERVED_TRAFFIC] is Verdict.UNKNOWN
    assert got[HopKey.SOURCE_ENROLLED] is Verdict.UNKNOWN  # no dumps either: no false ok


def test_namespace_without_ambient_label_breaks_hop_1(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    scn = replace(
        scn, namespaces=tuple(Namespace(n.name) if n.name == "default" else n for n in scn.namespaces)
    )
    got = _verdicts(traced(scn, tmp_path), "productpage", "default/details")
    assert got[HopKey.SOURCE_ENROLLED] is Verdict.BROKEN


def test_waypoint_hop_ok_when_ready_and_broken_without_pods(tmp_path: Path) -> None:
    scn = scenarios.with_waypoint(scenarios.bookinfo())
    t = traced(scn, tmp_path)
    got = t.trace(t.pod("productpage"), "default/details")
    hop = got.hops[HopKey.WAYPOINT - 1]
    assert any("waypoint default/waypoint" in c.text and c.verdict is Verdict.OK for c in hop.checks), hop
    gone = replace(scn, pods=tuple(p for p in scn.pods if "waypoint" not in p.name))
    t2 = traced(gone, _sub(tmp_path, "gone"))
    hop2 = t2.trace(t2.pod("productpage"), "default/details").hops[HopKey.WAYPOINT - 1]
    assert hop2.verdict is Verdict.BROKEN and any("no pods" in c.text for c in hop2.checks)


CURL = "cluster.local/ns/default/sa/curl"


@pytest.mark.parametrize(
    ("policy", "denied", "allowed"),
    [
        (Policy("default", "curl-only", scope="Namespace", principals=(CURL,)), "productpage", "curl"),
        (
            Policy("default", "no-curl", action="Deny", scope="Namespace", principals=(CURL,)),
            "curl",
            "productpage",
        ),
    ],
    ids=["allow-list-without-the-source", "deny-naming-the-source"],
)
def test_policy_hop_breaks_when_a_policy_denies_the_source(
    tmp_path: Path, policy: Policy, denied: str, allowed: str
) -> None:
    scn = scenarios.bookinfo()
    t = traced(replace(scn, policies=(*scn.policies, policy)), tmp_path)
    no = t.trace(t.pod(denied), "default/details:9080").hops[HopKey.POLICY - 1]
    yes = t.trace(t.pod(allowed), "default/details:9080").hops[HopKey.POLICY - 1]
    assert no.verdict is Verdict.BROKEN and any(policy.ref in c.text for c in no.checks), no.checks
    assert yes.verdict is Verdict.OK, yes.checks


def test_workload_selector_policy_no_workload_links_is_shown_not_guessed(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    hop = t.trace(t.pod("reviews", version="v1"), "default/productpage:9080").hops[HopKey.POLICY - 1]
    assert hop.verdict is Verdict.OK
    assert any(
        c.verdict is Verdict.UNKNOWN and c.supplementary and "productpage-viewer" in c.text
        for c in hop.checks
    )


def test_destination_not_in_source_service_table_breaks_hop_3(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    got = t.trace(t.pod("productpage"), "default/details:8080").hops[HopKey.DESTINATION_RESOLVED - 1]
    assert got.verdict is Verdict.BROKEN and any("port 8080 is not a port" in c.text for c in got.checks)
    ok = t.trace(t.pod("productpage"), "default/details:9080").hops[HopKey.DESTINATION_RESOLVED - 1]
    assert ok.verdict is Verdict.OK and any("healthy endpoint" in c.text for c in ok.checks)


def test_observed_traffic_reads_both_logs_and_the_pair_counters(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    hop = t.trace(t.pod("productpage"), "default/details").hops[HopKey.OBSERVED_TRAFFIC - 1]
    assert any("record(s) without error" in c.text and c.evidence[0].line for c in hop.checks)
    counters = next(c for c in hop.checks if "istio_tcp_" in c.text)
    assert "connections_opened_total=" in counters.text, counters.text
    bare = traced(scenarios.bookinfo(), _sub(tmp_path, "bare"), without=("ztunnel/ztunnel-",))
    assert any(
        "not collected" in c.text
        for c in bare.trace(bare.pod("productpage"), "default/details").hops[6].checks
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scn = scenarios.broken()
    return write_bundle(tmp_path_factory.mktemp("cli") / "broken.tar.gz", members(scn), at=at(scn))


def test_json_output_validates_and_matches_the_text(bundle: Path, capsys: CaptureFixture[str]) -> None:
    argv = ["trace", str(bundle), "--from", "curl-rrdpgfqvqk-qc9zw", "--to", "default/productpage:9080"]
    assert main([*argv, "-o", "json"]) == Exit.OK
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    assert [h["number"] for h in doc["hops"]] == list(range(1, 8))
    assert main(argv) == Exit.OK
    text = capsys.readouterr().out
    assert text.rstrip().splitlines()[-1] == f"verdict: {doc['verdict']['text']}"
    assert doc["verdict"]["hop"] == 2 and doc["verdict"]["finding"]["code"] == "ZT206"


@pytest.mark.parametrize(
    ("source", "target", "closest"),
    [
        ("productpage", "default/details", "default/productpage-v1-"),
        ("default/curl-rrdpgfqvqk-qc9zw", "default/detials", "default/details"),
    ],
)
def test_unknown_pod_or_target_is_one_line_exit_2_with_closest_names(
    bundle: Path, capsys: CaptureFixture[str], source: str, target: str, closest: str
) -> None:
    assert main(["trace", str(bundle), "--from", source, "--to", target]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.startswith("ztbundle: error: ") and err.count("\n") == 1 and closest in err


def test_targets_by_ip_and_pod_resolve(bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "trace",
                str(bundle),
                "--from",
                "curl-rrdpgfqvqk-qc9zw",
                "--to",
                "10.244.0.12:9080",
                "-o",
                "json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["target_kind"] == "pod" and "productpage" in doc["target"]


def test_help_has_examples(capsys: CaptureFixture[str]) -> None:
    assert main(["trace", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--from" in out and "ztbundle trace bundle.tar.gz" in out


def test_every_verdict_is_in_the_schema() -> None:
    assert set(SCHEMA["$defs"]["verdict"]["enum"]) == {v.value for v in Verdict}
    names = SCHEMA["properties"]["hops"]["items"]["properties"]["name"]["enum"]
    assert names == [k.slug for k in HopKey]


def test_to_json_of_a_healthy_trace_validates(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    jsonschema.validate(to_json(t.trace(t.pod("productpage"), "default/reviews")), SCHEMA)


def test_destination_hop_shows_the_l4_spread_over_endpoints(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    hop = t.trace(t.pod("productpage"), "default/reviews").hops[HopKey.DESTINATION_RESOLVED - 1]
    spread = next(c for c in hop.checks if c.text.startswith("L4 spread over endpoints"))
    counts = [int(part.rsplit(" ", 1)[1]) for part in spread.text.split(": ", 1)[1].split(", ")]
    assert len(counts) == 3 and all(n > 0 for n in counts) and spread.evidence[0].line


@pytest.mark.parametrize(
    ("target", "says"),
    [("kube-system/kube-dns:53", "is not in ambient"), ("default/kubernetes:443", "outside the mesh")],
    ids=["destination-not-in-ambient", "service-without-selector"],
)
def test_destinations_outside_ambient_have_no_destination_ztunnel_to_blame(
    tmp_path: Path, target: str, says: str
) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    got = t.trace(t.pod("curl"), target)
    assert [h.verdict for h in got.hops] == [Verdict.OK] * 7, got.conclusion.text
    assert any(says in c.text for c in got.hops[HopKey.DESTINATION_SIDE - 1].checks)


def test_bare_ip_target_leaves_waypoint_and_destination_unknown(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    got = {h.key: h.verdict for h in t.trace(t.pod("curl"), "10.1.2.3:80").hops}
    assert got[HopKey.DESTINATION_RESOLVED] is Verdict.BROKEN
    assert got[HopKey.WAYPOINT] is Verdict.UNKNOWN and got[HopKey.DESTINATION_SIDE] is Verdict.UNKNOWN


def test_destination_ztunnel_dump_not_collected_makes_hop_6_unknown(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    details = next(p for p in scn.pods if p.labels.get("app") == "details")
    zt = next(p for p in scn.pods if p.name.startswith("ztunnel-") and p.node == details.node)
    t = traced(scn, tmp_path, without=(f"ztunnel/{zt.name}/config_dump.json",))
    got = {h.key: h.verdict for h in t.trace(t.pod("productpage"), "default/details").hops}
    assert got[HopKey.DESTINATION_SIDE] is Verdict.UNKNOWN and got[HopKey.POLICY] is Verdict.UNKNOWN
    assert got[HopKey.SOURCE_ENROLLED] is Verdict.OK


def test_observed_traffic_puts_errors_first_with_their_line(tmp_path: Path) -> None:
    scn = scenarios.bookinfo()
    pp = next(p for p in scn.pods if p.labels.get("app") == "productpage")
    details = next(p for p in scn.pods if p.labels.get("app") == "details")
    scn = scn.with_overrides(
        ztunnels={
            pp.node or "": ZtunnelOverride(logs=(scenarios.hbone_timeout(pp.ip or "", details.ip or ""),))
        }
    )
    t = traced(scn, tmp_path)
    hop = t.trace(t.pod("productpage"), "default/details").hops[HopKey.OBSERVED_TRAFFIC - 1]
    assert hop.verdict is Verdict.DEGRADED  # one failure among many good connections
    first = hop.checks[0]
    assert first.verdict is Verdict.DEGRADED and "timed out" in first.text and first.evidence[0].line


def test_now_moves_the_analysis_time_for_certificate_validity(
    bundle: Path, capsys: CaptureFixture[str]
) -> None:
    argv = [
        "trace",
        str(bundle),
        "--from",
        "ratings-v1-55nl9wr89b-5whht",
        "--to",
        "default/reviews",
        "-o",
        "json",
    ]
    assert main([*argv, "--now", "2030-01-01T00:00:00Z"]) == Exit.OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["now"] == "2030-01-01T00:00:00Z"
    identity = doc["hops"][HopKey.SOURCE_IDENTITY - 1]
    assert identity["verdict"] == "broken" and "ZT203" in [f["code"] for f in identity["findings"]]


def test_objects_adapter_reads_typed_accessors_once_a_bundle_has_them(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from analyzer.model import Availability, Input
    from analyzer.trace.objects import collected_objects

    t = traced(scenarios.bookinfo(), tmp_path)
    collected = t.model.availability(Input.AUTHORIZATION_POLICIES).ok
    assert (collected_objects(t.model, "authorization_policies") is None) is not collected
    ok = SimpleNamespace(availability=lambda i: Availability(i, True), gateways=lambda: ["gw"])
    assert collected_objects(ok, "gateways") == ("gw",)  # type: ignore[arg-type]
    refused = SimpleNamespace(availability=lambda i: Availability(i, False, "forbidden"), gateways=("gw",))
    assert collected_objects(refused, "gateways") is None  # type: ignore[arg-type]  # unknown, not empty
