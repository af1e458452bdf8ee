"""The lean port-forward client and the kubectl transport fail as the official client does, fault by fault.

Each fetches the same admin path from the same simulated pod under each fault; what the runner would
record (`classify`: status and message) and the bytes kept must be identical.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector import transport_ws
from collector.failures import StepFailed, Truncated, classify
from collector.kube import ClientPool, load_cluster_config, port_forward_get
from collector.transport import Kubectl
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import Role

ZT = scenarios.bookinfo().pods_by_role(Role.ZTUNNEL)[0].name
ACTION = f"port-forward to pods/{ZT}"
FAULTS: dict[str, list[Fault]] = {
    "healthy": [],
    "http-500": [Fault.http_500(pod=ZT, port=15000)],
    "close-mid-body": [Fault.close_mid_body(pod=ZT, port=15000)],
    "truncated-json": [Fault.truncated_json(pod=ZT, port=15000)],
    "hang": [Fault.hang(3, pod=ZT, port=15000)],
    "kubelet-error": [Fault.portforward_error(ZT, port=15000)],
    "forbidden": [Fault.forbidden("pods/portforward")],
    "pod-deleted": [Fault.pod_deleted(ZT)],
    "websocket-refused": [Fault.websocket_refused()],
    "huge-body": [Fault.huge_body(3, pod=ZT, port=15000)],  # over the 1 MiB cap below
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster(scenarios.bookinfo()) as c:
        yield c


def _outcome(fetch: Callable[[], Any]) -> tuple[str, str, bytes | None]:
    try:
        reply = fetch()
    except Truncated as exc:
        return "truncated", exc.message, exc.body.read_bytes()
    except Exception as exc:  # noqa: BLE001 - what the runner does with it is the point
        failed: StepFailed = classify(exc, ACTION, 1.0)
        return failed.status.value, failed.message, failed.body.read_bytes() if failed.body else None
    return str(reply.status), reply.reason, reply.body.read_bytes()


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_lean_client_fails_as_the_official_one_does(cluster: FakeCluster, name: str) -> None:
    cluster.faults[:] = FAULTS[name]
    cfg = load_cluster_config(str(cluster.kubeconfig), cluster.context).configuration
    api = ClientPool(cfg).get()
    assert transport_ws.usable(cfg)
    ctx = transport_ws.ssl_context(cfg)
    args = ("istio-system", ZT, 15000, "/config_dump")
    official = _outcome(lambda: port_forward_get(api, *args, timeout_s=1.0, max_bytes=1 << 20))
    lean = _outcome(lambda: transport_ws.get(api, ctx, *args, timeout_s=1.0, max_bytes=1 << 20))
    cluster.faults[:] = []
    assert lean[:2] == official[:2]
    if name != "hang":  # what arrived before a timeout depends on when each client gave up
        assert lean[2] == official[2]


KUBECTL_FAULTS = sorted(set(FAULTS) - {"websocket-refused"})


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("name", KUBECTL_FAULTS)
def test_kubectl_transport_fails_as_the_official_client_does(cluster: FakeCluster, name: str) -> None:
    cluster.faults[:] = FAULTS[name]
    cfg = load_cluster_config(str(cluster.kubeconfig), cluster.context).configuration
    api = ClientPool(cfg).get()
    kubectl = Kubectl.find(str(cluster.kubeconfig), cluster.context)
    assert kubectl is not None
    args = ("istio-system", ZT, 15000, "/config_dump")
    try:
        official = _outcome(lambda: port_forward_get(api, *args, timeout_s=1.0, max_bytes=1 << 20))
        through = _outcome(lambda: kubectl.get(*args, timeout_s=1.0, max_bytes=1 << 20))
    finally:
        kubectl.close()
        cluster.faults[:] = []
    assert through[:2] == official[:2]
    # kubectl prints an API refusal's message, not its Status body; the pod's bytes it passes through.
    if name not in ("hang", "forbidden", "pod-deleted"):
        assert through[2] == official[2]


def test_kubectl_failure_keeps_its_reason_when_stderr_arrives_after_exit(tmp_path: Any) -> None:
    """kubectl's error line is read even when it reaches us after stdout closed and the process exited.

    On a busy machine the stderr reader can lag behind the exit; the failure must still carry kubectl's
    own words (here a 403), not "kubectl exited 1". The stand-in binary makes that order certain.
    """
    fake = tmp_path / "kubectl"
    fake.write_text(
        "#!/bin/sh\n"
        "exec 1>&-\n"
        "(sleep 1; echo 'error: error upgrading connection: pods \"p\" is forbidden: "
        "User \"u\" cannot create resource \"pods/portforward\"' >&2) &\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    kubectl = Kubectl(str(fake), None, None)
    try:
        status, message, _ = _outcome(
            lambda: kubectl.get("ns", "p", 15000, "/config_dump", timeout_s=1.0, max_bytes=1 << 20)
        )
    finally:
        kubectl.close()
    assert status == "forbidden"
    assert "cannot create resource" in message
