"""The simulated cluster, driven by the REAL kubernetes client over real sockets (nothing mocked)."""

# The client's models type every field Optional; asserting on them is the point of these tests.
# mypy: disable-error-code="union-attr,index,arg-type,operator,no-untyped-call"

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward

from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import RbacRule, Role

ISTIO_NS = "istio-system"


def core(cluster: FakeCluster, context: str | None = None) -> client.CoreV1Api:
    api_client = config.new_client_from_config(str(cluster.kubeconfig), context=context or cluster.context)
    api_client.configuration.retries = 0
    return client.CoreV1Api(api_client)


def pod_name(cluster: FakeCluster, role: Role, index: int = 0) -> str:
    return sorted(p.name for p in cluster.scenario.pods_by_role(role))[index]


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None


def _dechunk(raw: bytes) -> bytes:
    out, rest = b"", raw
    while rest:
        size_s, _, rest = rest.partition(b"\r\n")
        size = int(size_s, 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def pf_get(
    api: client.CoreV1Api, pod: str, port: int, path: str, namespace: str = ISTIO_NS, timeout: float = 5
) -> HttpReply:
    """GET `path` on a pod port over a port-forward, speaking HTTP/1.1 as the collector does."""
    pf = portforward(api.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    sock = pf.socket(port)
    sock.settimeout(timeout)
    data = b""
    try:
        # The kubelet may report an error (and the client close the port) before we even write.
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        while chunk := sock.recv(1 << 20):
            data += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    if not data:
        return HttpReply(0, {}, b"", pf.error(port))
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return HttpReply(int(lines[0].split()[1]), headers, body, pf.error(port))


# --- API basics -------------------------------------------------------------------------------------


def test_discovery_version_and_typed_objects(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    version = client.VersionApi(api.api_client).get_code()
    assert version.git_version == "v1.31.2"
    groups = {g.name for g in client.ApisApi(api.api_client).get_api_versions().groups}
    assert {"apps", "discovery.k8s.io", "authorization.k8s.io"} <= groups
    pod = api.list_namespaced_pod("default", label_selector="app=productpage").items[0]
    assert pod.metadata.uid and pod.metadata.resource_version and pod.metadata.creation_timestamp
    assert pod.metadata.annotations["ambient.istio.io/redirection"] == "enabled"
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    assert pod.status.pod_ip.startswith("10.244.") and pod.spec.node_name == "ambient-worker"
    apps = client.AppsV1Api(api.api_client)
    assert {d.metadata.name for d in apps.list_namespaced_daemon_set(ISTIO_NS).items} == {
        "ztunnel",
        "istio-cni-node",
    }
    assert "istiod" in {d.metadata.name for d in apps.list_namespaced_deployment(ISTIO_NS).items}
    mesh = api.read_namespaced_config_map("istio", ISTIO_NS)
    assert "trustDomain: cluster.local" in mesh.data["mesh"]
    slices = client.DiscoveryV1Api(api.api_client).list_endpoint_slice_for_all_namespaces()
    reviews = [s for s in slices.items if s.metadata.labels["kubernetes.io/service-name"] == "reviews"]
    assert len(reviews[0].endpoints) == 3
    assert len(api.list_node().items) == 3
    ambient = {
        n.metadata.name for n in api.list_namespace(label_selector="istio.io/dataplane-mode=ambient").items
    }
    assert ambient == {"default"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=ztunnel", 3),
        ("app in (ztunnel,istiod)", 4),
        ("app notin (ztunnel,istiod),k8s-app", 3),
        ("k8s-app", 3),
        ("!app", 3),
        ("app!=ztunnel,app", 1),
    ],
)
def test_label_selectors(bookinfo_cluster: FakeCluster, selector: str, expected: int) -> None:
    pods = core(bookinfo_cluster).list_namespaced_pod(ISTIO_NS, label_selector=selector).items
    assert len(pods) == expected


def test_field_selectors(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    on_node = api.list_pod_for_all_namespaces(field_selector="spec.nodeName=ambient-worker2").items
    assert on_node and all(p.spec.node_name == "ambient-worker2" for p in on_node)
    zt = pod_name(bookinfo_cluster, Role.ZTUNNEL)
    assert [
        p.metadata.name
        for p in api.list_pod_for_all_namespaces(
            field_selector=f"metadata.name={zt},metadata.namespace={ISTIO_NS}"
        ).items
    ] == [zt]
    assert api.list_pod_for_all_namespaces(field_selector="status.phase!=Running").items == []


def test_pagination_covers_everything_once(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    everything = [p.metadata.name for p in api.list_pod_for_all_namespaces().items]
    seen, token, pages = [], None, 0
    while True:
        page = api.list_pod_for_all_namespaces(limit=4, _continue=token)
        seen += [p.metadata.name for p in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == len(everything) - len(seen)
    assert seen == everything and pages == -(-len(everything) // 4)
    with pytest.raises(ApiException) as err:
        api.list_pod_for_all_namespaces(limit=4, _continue="garbage!")
    assert err.value.status == 400


def test_bad_token_gets_401_status(bookinfo_cluster: FakeCluster) -> None:
    with pytest.raises(ApiException) as err:
        core(bookinfo_cluster, bookinfo_cluster.bad_context).list_namespace()
    assert err.value.status == 401
    assert json.loads(err.value.body)["reason"] == "Unauthorized"


def test_missing_pod_is_404_status(bookinfo_cluster: FakeCluster) -> None:
    with pytest.raises(ApiException) as err:
        core(bookinfo_cluster).read_namespaced_pod("nope", "default")
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"], body["message"]) == (404, "NotFound", 'pods "nope" not found')


# --- RBAC -------------------------------------------------------------------------------------------


def test_forbidden_fault_and_message(fake_cluster: Callable[..., FakeCluster]) -> None:
    cluster = fake_cluster(faults=[Fault.forbidden("pods", verb="list")])
    api = core(cluster)
    with pytest.raises(ApiException) as err:
        api.list_pod_for_all_namespaces()
    body = json.loads(err.value.body)
    assert err.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        f'pods is forbidden: User "{cluster.scenario.user}" cannot list resource "pods" '
        'in API group "" at the cluster scope'
    )
    assert api.list_node().items  # other resources still allowed


def test_rbac_allow_list_and_selfsubjectaccessreview(fake_cluster: Callable[..., FakeCluster]) -> None:
    scn = scenarios.bookinfo().with_overrides(
        rbac=(RbacRule("list", "pods"), RbacRule("create", "pods", "portforward", ISTIO_NS))
    )
    cluster = fake_cluster(scn)
    api = core(cluster)
    assert api.list_pod_for_all_namespaces().items
    with pytest.raises(ApiException) as err:
        api.list_namespaced_secret(ISTIO_NS)
    assert (
        'cannot list resource "secrets" in API group "" in the namespace "istio-system"'
        in json.loads(err.value.body)["message"]
    )
    authz = client.AuthorizationV1Api(api.api_client)

    def can(verb: str, resource: str, sub: str = "", ns: str = ISTIO_NS) -> bool:
        attrs = client.V1ResourceAttributes(verb=verb, resource=resource, subresource=sub, namespace=ns)
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs)
        )
        return bool(authz.create_self_subject_access_review(review).status.allowed)

    assert can("create", "pods", "portforward") and not can("create", "pods", "portforward", "default")
    assert not can("get", "pods", "log")


# --- logs -------------------------------------------------------------------------------------------


def test_logs_with_parameters(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    zt = pod_name(bookinfo_cluster, Role.ZTUNNEL)
    full = api.read_namespaced_pod_log(zt, ISTIO_NS, container="istio-proxy")
    assert "running with config:" in full and "\tconnection complete\t" in full
    tail = api.read_namespaced_pod_log(zt, ISTIO_NS, tail_lines=3, timestamps=True).splitlines()
    assert len(tail) == 3 and all(line[:30].endswith("Z") and line[30] == " " for line in tail)
    recent = api.read_namespaced_pod_log(zt, ISTIO_NS, since_seconds=60)
    assert 0 < len(recent) < len(full)
    assert len(api.read_namespaced_pod_log(zt, ISTIO_NS, limit_bytes=100).encode()) == 100
    with pytest.raises(ApiException) as err:
        api.read_namespaced_pod_log(zt, ISTIO_NS, previous=True)
    assert err.value.status == 400 and "previous terminated container" in err.value.body
    istiod = pod_name(bookinfo_cluster, Role.ISTIOD)
    assert "ADS: new delta connection for node:" in api.read_namespaced_pod_log(istiod, ISTIO_NS)
    cni = pod_name(bookinfo_cluster, Role.CNI)
    assert "\tcni-agent\tadding pod to the mesh\tns=default name=" in api.read_namespaced_pod_log(
        cni, ISTIO_NS
    )


def test_access_logs_follow_bookinfo_traffic(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    text = "".join(
        api.read_namespaced_pod_log(p, ISTIO_NS)
        for p in (x.name for x in bookinfo_cluster.scenario.pods_by_role(Role.ZTUNNEL))
    )
    outbound = [line for line in text.splitlines() if 'direction="outbound"' in line]
    for src, dst in (
        ("productpage", "details"),
        ("productpage", "reviews"),
        ("reviews", "ratings"),
        ("curl", "productpage"),
    ):
        assert any(f'src.workload="{src}-' in ln and f'dst.service="{dst}.default' in ln for ln in outbound)
    reviews_hit = {ln.split('dst.workload="')[1][:10] for ln in outbound if 'dst.service="reviews.' in ln}
    assert reviews_hit == {"reviews-v1", "reviews-v2", "reviews-v3"}


def test_crashlooping_ztunnel_has_previous_logs(fake_cluster: Callable[..., FakeCluster]) -> None:
    cluster = fake_cluster(scenarios.broken())
    api = core(cluster)
    zt = cluster.scenario.ztunnel_on("ambient-worker")
    assert zt is not None
    pod = api.read_namespaced_pod(zt.name, ISTIO_NS)
    assert pod.status.container_statuses[0].restart_count == 7 and not pod.status.container_statuses[0].ready
    previous = api.read_namespaced_pod_log(zt.name, ISTIO_NS, previous=True)
    assert "failed to start" in previous and "panicked: connection to CA lost" in previous


# --- port-forward and admin endpoints ----------------------------------------------------------------


def test_portforward_config_dump_is_json(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    zt = pod_name(bookinfo_cluster, Role.ZTUNNEL)
    reply = pf_get(api, zt, 15000, "/config_dump")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    dump = json.loads(reply.body)
    assert {"workloads", "services", "policies", "certificates", "workloadState", "config"} <= set(dump)
    assert int(reply.headers["content-length"]) == len(reply.body)
    missing = pf_get(api, zt, 15000, "/stats")
    assert (missing.status, missing.body) == (404, b"")
    metrics = pf_get(api, zt, 15020, "/metrics").body.decode()
    assert "istio_tcp_sent_bytes_total{reporter=" in metrics and metrics.endswith("# EOF\n")
    rec = bookinfo_cluster.requested("/config_dump")[-1]
    assert (rec.port, rec.status, rec.target) == (15000, 101, f"{ISTIO_NS}/{zt}")


def test_portforward_to_closed_port_reports_on_error_channel(bookinfo_cluster: FakeCluster) -> None:
    reply = pf_get(core(bookinfo_cluster), pod_name(bookinfo_cluster, Role.ZTUNNEL), 9999, "/")
    assert reply.status == 0 and reply.error and "connect: connection refused" in reply.error


def test_istiod_debug_endpoints_per_replica(fake_cluster: Callable[..., FakeCluster]) -> None:
    cluster = fake_cluster(scenarios.bookinfo(istiod_replicas=2))
    api = core(cluster)
    istiods = [pod_name(cluster, Role.ISTIOD, i) for i in range(2)]
    zts = cluster.scenario.pods_by_role(Role.ZTUNNEL)
    for zt in zts:
        replies = [
            pf_get(api, i, 15014, f"/debug/config_dump?proxyID={zt.name}.{ISTIO_NS}&types=WADS")
            for i in istiods
        ]
        assert sorted(r.status for r in replies) == [200, 404]
        lost = next(r for r in replies if r.status == 404)
        assert lost.body.startswith(b"Proxy not connected to this Pilot instance")
        found = json.loads(next(r for r in replies if r.status == 200).body)
        assert found["configs"][0]["@type"] == "type.googleapis.com/istio.security.Authorization"
    assert pf_get(api, istiods[0], 15014, "/debug/config_dump").status == 400
    synced = [json.loads(pf_get(api, i, 15014, "/debug/syncz").body) for i in istiods]
    assert sum(len(s) for s in synced) == len(zts)
    assert len(json.loads(pf_get(api, istiods[0], 15014, "/debug/ambientz").body)["workloads"]) > 10
    assert json.loads(pf_get(api, istiods[0], 15014, "/debug/connections").body)["totalClients"] >= 1
    assert pf_get(api, istiods[0], 15014, "/version").body.startswith(b"1.26.2-")


def test_concurrent_portforwards_each_with_own_client(bookinfo_cluster: FakeCluster) -> None:
    zts = [p.name for p in bookinfo_cluster.scenario.pods_by_role(Role.ZTUNNEL)] * 6

    def fetch(name: str) -> int:
        return len(json.loads(pf_get(core(bookinfo_cluster), name, 15000, "/config_dump").body)["workloads"])

    with ThreadPoolExecutor(max_workers=18) as pool:
        counts = list(pool.map(fetch, zts))
    assert len(counts) == 18 and len(set(counts)) == 1


def test_pod_proxy_cannot_reach_localhost_admin(bookinfo_cluster: FakeCluster) -> None:
    api = core(bookinfo_cluster)
    zt = pod_name(bookinfo_cluster, Role.ZTUNNEL)
    with pytest.raises(ApiException) as err:
        api.connect_get_namespaced_pod_proxy_with_path(f"{zt}:15000", ISTIO_NS, "config_dump")
    assert err.value.status == 503 and "connection refused" in err.value.body
    resp = api.connect_get_namespaced_pod_proxy_with_path(
        f"{zt}:15020", ISTIO_NS, "metrics", _preload_content=False
    )
    assert b"istio_tcp_received_bytes_total" in resp.data  # type: ignore[attr-defined]  # raw urllib3 response


def test_secrets_exist_but_normal_use_never_touches_them(bookinfo_cluster: FakeCluster) -> None:
    assert not [r for r in bookinfo_cluster.requests if "/secrets" in r.path]
    with FakeCluster(scenarios.bookinfo()) as other:
        assert core(other).list_namespaced_secret(ISTIO_NS).items
        assert other.requested("/secrets")


# --- faults -----------------------------------------------------------------------------------------


@pytest.fixture
def zt_cluster(
    fake_cluster: Callable[..., FakeCluster],
) -> Callable[[Callable[[str], Fault]], tuple[FakeCluster, str]]:
    """Start bookinfo with one fault aimed at its first ztunnel; returns (cluster, ztunnel pod name)."""

    def start(make: Callable[[str], Fault]) -> tuple[FakeCluster, str]:
        zt = sorted(p.name for p in scenarios.bookinfo().pods_by_role(Role.ZTUNNEL))[0]
        return fake_cluster(faults=[make(zt)]), zt

    return start


def test_fault_http_500(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.http_500(pod=z, port=15000))
    api = core(cluster)
    assert pf_get(api, zt, 15000, "/config_dump").status == 500
    assert pf_get(api, zt, 15020, "/metrics").status == 200


def test_fault_truncated_json(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.truncated_json(pod=z, path="/config_dump"))
    reply = pf_get(core(cluster), zt, 15000, "/config_dump")
    assert reply.status == 200 and int(reply.headers["content-length"]) == len(reply.body)
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)


def test_fault_close_mid_body(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.close_mid_body(pod=z, port=15000))
    reply = pf_get(core(cluster), zt, 15000, "/config_dump")
    assert reply.status == 200 and len(reply.body) < int(reply.headers["content-length"])


def test_fault_hang_is_bounded(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.hang(seconds=30, pod=z, port=15000))
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        pf_get(core(cluster), zt, 15000, "/config_dump", timeout=0.5)
    assert time.monotonic() - start < 3


def test_fault_huge_body_is_valid_json(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.huge_body(8, pod=z, port=15000))
    reply = pf_get(core(cluster), zt, 15000, "/config_dump", timeout=20)
    assert reply.headers["transfer-encoding"] == "chunked" and len(reply.body) > 8 * 1024 * 1024
    assert "workloads" in json.loads(reply.body)


def test_fault_pod_deleted_between_list_and_fetch(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.pod_deleted(z))
    api = core(cluster)
    assert zt in {p.metadata.name for p in api.list_namespaced_pod(ISTIO_NS).items}
    with pytest.raises(ApiException) as err:
        api.read_namespaced_pod_log(zt, ISTIO_NS)
    assert err.value.status == 404
    with pytest.raises(ApiException) as pf_err:
        pf_get(api, zt, 15000, "/config_dump")
    assert pf_err.value.status == 0 and "404" in str(pf_err.value.reason)


def test_fault_portforward_error(zt_cluster: Callable[..., tuple[FakeCluster, str]]) -> None:
    cluster, zt = zt_cluster(lambda z: Fault.portforward_error(z, 15000, "pod is not running"))
    reply = pf_get(core(cluster), zt, 15000, "/config_dump")
    assert (reply.status, reply.error) == (0, "pod is not running")


def test_global_latency_applies_once_per_request(fake_cluster: Callable[..., FakeCluster]) -> None:
    """A global fault also matches every targeted filter; the benchmarks' "50 ms per request" means one."""
    zt = sorted(p.name for p in scenarios.bookinfo().pods_by_role(Role.ZTUNNEL))[0]
    cluster = fake_cluster(faults=[Fault.latency(0.05, pod=zt, port=15000)], latency_ms=20)
    api = core(cluster)
    api.get_api_resources()
    api.list_namespaced_pod(ISTIO_NS)
    api.read_namespaced_pod(zt, ISTIO_NS)
    api.read_namespaced_pod_log(zt, ISTIO_NS)
    assert pf_get(api, zt, 15020, "/metrics").status == 200
    assert pf_get(api, zt, 15000, "/config_dump").status == 200
    waited = {(r.path.rsplit("/", 1)[-1], r.http_path): round(r.delayed_s, 3) for r in cluster.requests}
    assert waited == {
        ("", None): 0.02,  # /api/v1/
        ("pods", None): 0.02,
        (zt, None): 0.02,
        ("log", None): 0.02,
        ("portforward", "/metrics"): 0.02,
        ("portforward", "/config_dump"): 0.07,  # the global one and the one aimed at this port
    }


def test_fault_on_api_resource_and_global_latency(fake_cluster: Callable[..., FakeCluster]) -> None:
    cluster = fake_cluster(faults=[Fault.http_500(resource="nodes")], latency_ms=100)
    api = core(cluster)
    with pytest.raises(ApiException) as err:
        api.list_node()
    assert err.value.status == 500
    start = time.monotonic()
    api.list_namespace()
    assert time.monotonic() - start >= 0.1
    assert cluster.requested("/api/v1/nodes")[0].status == 500
