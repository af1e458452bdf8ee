"""Port-forward through the real `kubectl` binary when the WebSocket upgrade is refused.

The simulated cluster speaks kubectl's SPDY/3.1 port-forward (tests/fakecluster/spdy.py); the
`websocket_refused` fault makes it answer the client's v4 WebSocket upgrade the way a proxy that does
not pass WebSockets does. These tests run the kubectl found on PATH and are skipped without one.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import Role
from tests.fakecluster.spdy import DICTIONARY
from ztbundle.exits import Exit

Start = Callable[..., FakeCluster]
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


def test_spdy_dictionary_is_the_spdy3_one() -> None:
    # Size and adler32 of the dictionary in SPDY draft 3 (a client's zlib checks the adler32).
    assert len(DICTIONARY) == 1423 and zlib.adler32(DICTIONARY) == 0xE3C6A7C2


@needs_kubectl
def test_real_kubectl_port_forward_reaches_the_simulated_pod(fake_cluster: Start) -> None:
    cluster = fake_cluster()
    zt = cluster.scenario.pods_by_role(Role.ZTUNNEL)[0]
    argv = [str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
    proc = subprocess.Popen(
        [*argv, "port-forward", "-n", zt.namespace, f"pod/{zt.name}", ":15000", "--address", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Forwarding from 127.0.0.1:"), line
        local = int(line.split(":")[1].split()[0])
        for _ in range(2):  # two connections over one SPDY session
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/config_dump", timeout=10) as resp:
                assert resp.status == 200 and b'"workloads"' in resp.read()
    finally:
        proc.terminate()
        proc.wait(5)
    spdy = [r for r in cluster.requests if r.method == "POST" and r.path.endswith("/portforward")]
    assert [r.http_path for r in spdy if r.http_path] == ["/config_dump", "/config_dump"]


@needs_kubectl
def test_collect_completes_through_kubectl_when_the_websocket_upgrade_is_refused(
    fake_cluster: Start, tmp_path: Path
) -> None:
    cluster = fake_cluster(scenarios.bookinfo(istiod_replicas=2), [Fault.websocket_refused()])
    run = collect(cluster, tmp_path)
    assert run.code == Exit.OK and run.manifest["complete"] is True, run.not_ok()
    forwarded = [a for a in run.manifest["artifacts"] if a["source"]["kind"] == "port-forward"]
    assert forwarded and {a["transport"] for a in forwarded} == {"kubectl"}
    assert all(
        "transport" not in a for a in run.manifest["artifacts"] if a["source"]["kind"] != "port-forward"
    )
    # The v4 upgrade was tried once, then kubectl (which itself falls back to SPDY) carried the rest.
    refused = [r for r in cluster.requests if r.method == "GET" and r.path.endswith("/portforward")]
    assert refused and all(r.status != 101 for r in refused)


@needs_kubectl
def test_kubectl_transport_keeps_the_kubelet_error_for_a_closed_port(
    fake_cluster: Start, tmp_path: Path
) -> None:
    cluster = fake_cluster(scenarios.bookinfo(), [Fault.websocket_refused()])
    zt = cluster.scenario.pods_by_role(Role.ZTUNNEL)[0].name
    cluster.faults += [Fault.portforward_error(zt, port=15020)]
    run = collect(cluster, tmp_path)
    failed = run.not_ok()
    assert list(failed) == [f"ztunnel/{zt}/metrics.txt"]
    error = failed[f"ztunnel/{zt}/metrics.txt"]["error"]
    assert (
        f"ConnectionError: port-forward to istio-system/{zt}:15020 failed: error forwarding port 15020"
        in error
    )
    assert failed[f"ztunnel/{zt}/metrics.txt"]["transport"] == "kubectl"


def test_websocket_is_recorded_as_the_transport_by_default(fake_cluster: Start, tmp_path: Path) -> None:
    run = collect(fake_cluster(), tmp_path)
    forwarded = [a for a in run.manifest["artifacts"] if a["source"]["kind"] == "port-forward"]
    assert forwarded and {a["transport"] for a in forwarded} == {"websocket"}
