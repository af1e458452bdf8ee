"""A simulated Istio ambient cluster for tests: fake kube-apiserver + in-pod admin endpoints.

    from tests.fakecluster import FakeCluster, scenarios, Fault
    with FakeCluster(scenarios.bookinfo(), faults=[Fault.http_500(pod="ztunnel-xyz", port=15000)]) as cluster:
        cluster.kubeconfig, cluster.context, cluster.requests, cluster.scenario

The real `kubernetes` client talks to it over HTTPS and WebSocket; nothing in the client is mocked.
Unless pinned (`scenarios.bookinfo(now=...)`, `FakeCluster(..., now=...)`), a scenario's clock is
the wall clock at `start()`, so bundles from the real collector need no `--now`.
Security content: `scenarios.hostile()`, `tests.fakecluster.hostile`, `scenarios.least_privilege_rbac()`.
"""

from tests.fakecluster import payloads, scenarios
from tests.fakecluster.cluster import FakeCluster
from tests.fakecluster.faults import Fault, FaultKind
from tests.fakecluster.scenario import Scenario
from tests.fakecluster.server import RequestRecord

__all__ = ["FakeCluster", "Fault", "FaultKind", "RequestRecord", "Scenario", "payloads", "scenarios"]
