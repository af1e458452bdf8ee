"""ZT2xx/ZT30x end to end: FakeCluster scenario → real `collect` → `analyze` → exactly the planted faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rules.cert_unavailable import classify
from tests.fakecluster import certs, scenarios
from ztbundle.cli import main
from ztbundle.exits import Exit

MINE = ("ZT2", "ZT30")


def _collect_and_analyze(tmp: Path, name: str) -> set[tuple[str, str]]:
    from tests.fakecluster.cluster import FakeCluster

    scn = getattr(scenarios, name)()
    bundle, report = tmp / f"{name}.tar.gz", tmp / f"{name}.json"
    with FakeCluster(scn) as fc:
        rc = main(fc.collect_argv(bundle))
    assert rc in (Exit.OK, Exit.INCOMPLETE)
    # certificates are generated on the scenario's clock; judge them there (what `--now` is for)
    now = str(certs.rfc3339(scn.now))
    main(["analyze", str(bundle), "-o", "json", "--out-file", str(report), "--now", now])
    doc = json.loads(report.read_text())
    return {
        (f["code"], f"{f['subject']['kind']} {f['subject']['name'].split('-')[0]}")
        for f in doc["findings"]
        if f["code"].startswith(MINE)
    }


def test_ZT2_ZT3_broken_scenario_finds_exactly_the_planted_faults(tmp_path: Path) -> None:
    got = _collect_and_analyze(tmp_path, "broken")
    assert got == {
        ("ZT202", "ServiceAccount bookinfo"),  # productpage: signing error (n1), reviews: Initializing (n2)
        ("ZT203", "ServiceAccount bookinfo"),  # reviews leaf issued 30 h ago for 24 h (n1)
        ("ZT204", "ServiceAccount bookinfo"),  # details leaf valid from +2 h (n2)
        ("ZT205", "ServiceAccount curl"),  # 10 minutes of a 24 h leaf left (n2)
        ("ZT206", "Ztunnel ztunnel"),  # n2 holds a rogue root
        ("ZT302", "Pod productpage"),  # workloadState Pending (n1)
        ("ZT302", "Pod reviews"),  # no workloadState entry (n2)
        ("ZT303", "Pod lonely"),  # pending on the node without ztunnel
        ("ZT304", "Node ambient"),  # istio-cni on node 1 retries productpage with no ztunnel connected
        ("ZT305", "Pod productpage"),  # istio-cni could not open its netns 40 s before capture (n1)
    }


def test_ZT2_ZT3_clean_scenario_is_quiet(tmp_path: Path) -> None:
    assert _collect_and_analyze(tmp_path, "bookinfo") == set()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("signing gRPC error (Unknown error): client error (Connect)", "CA unreachable (gRPC Unknown)"),
        ("signing gRPC error (The service is currently unavailable): x", "CA unreachable (gRPC Unavailable)"),
        ("signing gRPC error (Deadline expired before operation could complete): x", "CA unreachable"),
        ("signing gRPC error (Internal error): boom", "CA refused to sign (gRPC Internal)"),
        ("workload is unknown: spiffe://cluster.local/ns/a/sa/b", "workload unknown to the CA"),
        ("did not find expected SAN: spiffe://x", "SAN mismatch in the signed certificate"),
        ("failed to create CSR: bad key", "other"),
        (None, "other"),
    ],
)
def test_ZT202_classifies_error_text(error: str | None, expected: str) -> None:
    assert classify(error).startswith(expected)
