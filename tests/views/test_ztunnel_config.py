"""`ztbundle ztunnel-config`: istioctl's tables byte for byte, ztunnel choice, raw JSON, one-line errors."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _pytest.capture import CaptureFixture

from analyzer.bundle import open_bundle
from analyzer.views import ztunnel_config as zconfig
from analyzer.views.table import Table, tabwrite
from tests.views.conftest import NOW_ARG
from ztbundle.cli import main
from ztbundle.exits import Exit

SAMPLES = Path("/work/shared/reference/samples")


def test_tabwrite_pads_all_but_the_last_cell_like_go() -> None:
    text = tabwrite([("A", "BB", "C"), ("aaaa", "", "last cell is never padded")], padding=1)
    assert text == "A    BB C\naaaa    last cell is never padded\n"
    assert Table(("X", "Y"), (("1", "2"),), padding=5).render() == "X     Y\n1     2\n"


def test_hex_serial_matches_go_big_int_formatting() -> None:
    assert zconfig.hex_serial("255") == "ff"
    assert zconfig.hex_serial("-255") == "-ff"
    assert zconfig.hex_serial("not-a-number") == "<nil>"
    assert zconfig.hex_serial(None) == "<nil>"


def test_cert_validity_is_judged_at_the_given_time() -> None:
    cert = {"validFrom": "2025-06-01T11:00:00Z", "expirationTime": "2025-06-02T11:00:00Z"}
    assert zconfig.valid_at(cert, datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert not zconfig.valid_at(cert, datetime(2025, 6, 3, tzinfo=UTC))
    assert not zconfig.valid_at({}, datetime(2025, 6, 1, 12, tzinfo=UTC))


def test_legacy_chain_marks_last_element_root_and_empty_chain_is_na() -> None:
    at = datetime(2025, 6, 1, 12, tzinfo=UTC)
    leaf = {
        "serialNumber": "16",
        "validFrom": "2025-06-01T11:00:00Z",
        "expirationTime": "2025-06-02T11:00:00Z",
    }
    dump = zconfig.raw_dump(
        {
            "workloads": [],
            "certificates": [
                {"identity": "spiffe://a", "state": "Available", "certChain": [leaf, leaf, leaf]},
                {"identity": "spiffe://b", "state": "Unavailable: signing gRPC error", "certChain": []},
            ],
        }
    )
    rows = zconfig.certificates(dump, at).rows
    assert [r[1] for r in rows] == ["Leaf", "Intermediate", "Root", "NA"]
    assert rows[0][3:5] == ("true", "10") and rows[3][2:] == ("Unavailable", "false", "NA", "NA", "NA")


def test_waypoint_column_names_the_waypoint_service_or_none() -> None:
    dump = zconfig.raw_dump(
        {
            "workloads": {
                "/10.0.0.1": {
                    "name": "a",
                    "namespace": "ns",
                    "workloadIps": ["10.0.0.1"],
                    "protocol": "HBONE",
                    "waypoint": {"destination": "/10.96.0.9"},
                },
                "/10.0.0.2": {"name": "b", "namespace": "ns", "hostname": "b.example", "protocol": "TCP"},
            },
            "services": {
                "ns/wp": {"name": "wp", "namespace": "ns", "hostname": "wp.ns", "vips": ["/10.96.0.9"]}
            },
        }
    )
    rows = zconfig.workloads(dump).rows
    assert rows == (("ns", "a", "10.0.0.1", "", "wp", "HBONE"), ("ns", "b", "b.example", "", "None", "TCP"))


@pytest.mark.skipif(not SAMPLES.exists(), reason="istioctl's reference tables are not on this machine")
@pytest.mark.parametrize(
    "name", ["workloadsummary", "workloadsummary_default", "secretsummary", "policies", "allsummary"]
)
def test_parity_with_istioctl_reference_tables(name: str) -> None:
    """Our renderer on istioctl's own test dump prints istioctl's expected output exactly (read in place)."""
    dump = zconfig.raw_dump(json.loads((SAMPLES / "istioctl-testdata-ztunnel-dump.json").read_text()))
    # istioctl judges validity at its test's run time: the samples' commit (86c9f01) date is one it passed at
    at = datetime(2026, 8, 22, 20, 0, 18, tzinfo=UTC)
    ns = "default" if name.endswith("_default") else None
    section = {
        "workloadsummary": "workloads",
        "workloadsummary_default": "workloads",
        "secretsummary": "certificates",
        "policies": "policies",
        "allsummary": "all",
    }[name]
    text = zconfig.render(zconfig.Section(section), dump, at, zconfig.Filter(namespace=ns))
    assert text == (SAMPLES / f"istioctl-testdata-{name}.txt").read_text()


@pytest.mark.parametrize(
    "section", ["workloads", "services", "policies", "certificates", "connections", "all"]
)
def test_golden_tables_from_collected_bundle(
    bookinfo_bundle: Path, section: str, golden: Callable[[str, str], None], capsys: CaptureFixture[str]
) -> None:
    args = ["ztunnel-config", str(bookinfo_bundle), section, "--node", "ambient-worker", "--now", NOW_ARG]
    assert main(args) == Exit.OK
    out = capsys.readouterr()
    golden(f"ztunnel-config-{section}.txt", out.out)
    assert out.err.startswith("ztbundle: showing ztunnel ztunnel-") and "on node ambient-worker" in out.err


def test_default_choice_is_first_ready_ztunnel_by_name(
    bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert main(["ztunnel-config", str(bookinfo_bundle), "workloads"]) == Exit.OK
    err = capsys.readouterr().err
    names = open_bundle(bookinfo_bundle).names()  # logical paths: format-2 dumps are recipes, not members
    first = sorted(n.split("/")[1] for n in names if n.endswith("/config_dump.json"))[0]
    assert err.startswith(f"ztbundle: showing ztunnel {first} on node ")
    assert err.endswith(" (first ready of 3 by name)\n")


def test_all_json_is_the_raw_dump_byte_for_byte(
    bookinfo_bundle: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert (
        main(["ztunnel-config", str(bookinfo_bundle), "all", "--node", "ambient-worker2", "-o", "json"])
        == Exit.OK
    )
    out = capsysbinary.readouterr().out
    files = open_bundle(bookinfo_bundle)
    dumps = {n: files.read(n) for n in files.names() if n.endswith("config_dump.json")}
    assert out in dumps.values() and json.loads(out)["workloads"]


def test_workloads_json_is_filtered_by_namespace(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert (
        main(
            ["ztunnel-config", str(bookinfo_bundle), "workload", "--namespace", "istio-system", "-o", "json"]
        )
        == 0
    )
    entries = json.loads(capsys.readouterr().out)
    assert entries and {e["namespace"] for e in entries} == {"istio-system"}


def test_unknown_ztunnel_is_a_one_line_usage_error(
    bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    assert (
        main(["ztunnel-config", str(bookinfo_bundle), "workloads", "--ztunnel", "ztunnel-nope"]) == Exit.USAGE
    )
    err = capsys.readouterr().err
    assert (
        err.startswith(f"ztbundle: error: {bookinfo_bundle}: --ztunnel ztunnel-nope: no such ztunnel pod")
        and err.count("\n") == 1
    )


# --- istioctl's expected output for each release's test dump (read from a local cache, never committed) --

ISTIO_CASES = {  # expected file → (section, namespace filter, workload filter)
    "secretsummary.txt": ("certificates", None, None),
    "workloadsummary.txt": ("workloads", None, None),
    "workloadsummary_default.txt": ("workloads", "default", None),
    "workloadsummary_workload.txt": ("workloads", "bookinfo", "productpage-v1-675fc69cf-jscn2"),
    "policies.txt": ("policies", None, None),
    "allsummary.txt": ("all", None, None),
    "connectionsummary.txt": ("connections", None, None),
    "connectionsummary_workload.txt": ("connections", None, "productpage-v1-796f87b58-97bjk.bookinfo"),
}


def _istio_cases() -> list[Any]:
    """Every (release, expected file) in the cache; one skipped case when there is no cache."""
    from tests.views.istio_testdata import RELEASES, cache_dir

    names = [*ISTIO_CASES, "allsummary_withheaders.txt"]
    found = [(r, n) for r in RELEASES for n in names if (cache_dir() / r / n).exists()]
    if not found:
        reason = f"{cache_dir()} is empty (python -m tests.views.istio_testdata <istio clone>)"
        return [pytest.param("", "", marks=pytest.mark.skip(reason=reason), id="no-istio-testdata")]
    return [pytest.param(r, n, id=f"{r}-{n.removesuffix('.txt')}") for r, n in found]


@pytest.mark.parametrize(("release", "name"), _istio_cases())
def test_tables_match_istioctl_of_the_dumps_release(release: str, name: str) -> None:
    """Each release's istioctl test dump renders exactly as that release's istioctl expects."""
    from tests.views.istio_testdata import cache_dir

    folder = cache_dir() / release
    dump = zconfig.raw_dump(json.loads((folder / "dump.json").read_text()))
    if dump.release is None and release[0].isdigit():  # istioctl's hand-made dumps carry no version
        dump = dataclasses.replace(dump, release=tuple(map(int, release.split(".")[:2])))  # type: ignore[arg-type]
    # istioctl judges validity at its test's run time: the commit's date is a time its test passed at.
    at = datetime.fromisoformat((folder / "COMMIT_DATE").read_text().strip())
    if name == "allsummary_withheaders.txt":
        text = zconfig.render(zconfig.Section.ALL, dump, at, headers=True)
    else:
        section, ns, workload = ISTIO_CASES[name]
        f = zconfig.Filter(namespace=ns, workload=workload)
        text = zconfig.render(zconfig.Section(section), dump, at, f)
    assert text == (folder / name).read_text()


def test_cidr_vips_print_as_istioctl_prints_them() -> None:
    """istio/istio configdump_test.go (1.30) expects `/240.240.0.0/16` and `network1/2001:db8::/64`."""
    svc = {"name": "svc", "namespace": "ns", "hostname": "svc.ns.svc.cluster.local", "vips": ["/10.0.0.1"]}
    cidrs = [{"cidr": "240.240.0.0/16"}, {"cidr": "2001:db8::/64", "network": "network1"}]
    dump = zconfig.raw_dump({"services": [{**svc, "cidrVips": cidrs}], "workloads": []})
    (entry,) = zconfig.entries(zconfig.Section.SERVICES, dump)
    assert entry["cidrVips"] == ["/240.240.0.0/16", "network1/2001:db8::/64"] and entry["vips"] == [
        "/10.0.0.1"
    ]


def test_118_and_121_dumps_print_their_release_tables() -> None:
    at = datetime(2023, 6, 1, tzinfo=UTC)
    leaf = {
        "serial_number": "255",
        "valid_from": "2023-05-01T00:00:00Z",
        "expiration_time": "2023-07-01T00:00:00Z",
    }
    doc = {
        "workloads": {
            "10.0.0.7": {"workloadIp": "10.0.0.7", "name": "a-0", "namespace": "ns", "protocol": "TCP"}
        },
        "vips": {"10.96.0.9:80": [["10.0.0.7", 8080]]},
        "certificates": [
            {"identity": "spiffe://x", "state": "Available", "ca_cert": [leaf], "cert_chain": [leaf]}
        ],
    }
    dump = zconfig.raw_dump(doc)
    assert dump.release == (1, 21)
    assert zconfig.workloads(dump).rows == (("ns", "a-0", "", "10.0.0.7", "", "None", "TCP"),)
    rows = zconfig.certificates(dump, at).rows
    assert [r[1] for r in rows] == ["CA", "Cert Chain"]
    assert rows[0][3:] == ("true", "ff", "2023-07-01T00:00:00Z", "2023-05-01T00:00:00Z")


def test_workload_filter_by_pod_dot_namespace_uses_that_pods_ztunnel(
    bookinfo_bundle: Path, capsys: CaptureFixture[str]
) -> None:
    files = open_bundle(bookinfo_bundle)
    pods = json.loads(files.read("cluster/pods.json"))["items"]
    pod = next(p for p in pods if p["metadata"]["name"].startswith("ratings-"))
    name, ns, node = pod["metadata"]["name"], pod["metadata"]["namespace"], pod["spec"]["nodeName"]
    assert (
        main(["ztunnel-config", str(bookinfo_bundle), "workloads", "--workload", f"{name}.{ns}"]) == Exit.OK
    )
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("NAMESPACE") and len(lines) == 2 and lines[1].split()[:2] == [ns, name]
    assert f"on node {node}" in out.err


def test_all_with_headers_names_each_table(bookinfo_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert (
        main(["ztunnel-config", str(bookinfo_bundle), "all", "--with-headers", "--now", NOW_ARG]) == Exit.OK
    )
    text = capsys.readouterr().out
    heads = [line for line in text.splitlines() if line.startswith("------ ")]
    assert heads == [
        f"------ {h} INFO ------" for h in ("WORKLOAD", "SERVICE", "POLICY", "SECRET", "CONNECTIONS")
    ]
    assert text.startswith("\n------ WORKLOAD INFO ------\n\nNAMESPACE")
