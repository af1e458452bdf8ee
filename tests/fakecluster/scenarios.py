"""Ready-made scenarios: healthy bookinfo, a broken cluster showing many failures, and a synthetic one."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.fakecluster.scenario import (
    UNAVAILABLE_SIGNING,
    CertOverride,
    CertState,
    Drift,
    IstiodOverride,
    LogEvent,
    Namespace,
    Phase,
    Pod,
    Policy,
    RbacRule,
    Role,
    Scenario,
    Service,
    ServicePort,
    StaleWorkload,
    ZtunnelOverride,
    app_pod,
    build,
    pod_prefix,
    waypoint_pod,
)
from ztbundle import layout

NODES = ("ambient-worker", "ambient-worker2", "ambient-worker3")
AMBIENT_NS = {"istio.io/dataplane-mode": "ambient"}


def _bookinfo_pods() -> list[Pod]:
    n1, n2, n3 = NODES
    return [
        app_pod(
            "default",
            "productpage-v1",
            app="productpage",
            version="v1",
            node=n1,
            service_account="bookinfo-productpage",
        ),
        app_pod(
            "default", "details-v1", app="details", version="v1", node=n2, service_account="bookinfo-details"
        ),
        app_pod(
            "default", "ratings-v1", app="ratings", version="v1", node=n3, service_account="bookinfo-ratings"
        ),
        app_pod(
            "default", "reviews-v1", app="reviews", version="v1", node=n1, service_account="bookinfo-reviews"
        ),
        app_pod(
            "default", "reviews-v2", app="reviews", version="v2", node=n2, service_account="bookinfo-reviews"
        ),
        app_pod(
            "default", "reviews-v3", app="reviews", version="v3", node=n3, service_account="bookinfo-reviews"
        ),
        app_pod("default", "curl", node=n2, service_account="curl", port=80),
        app_pod(
            "istio-ingress",
            "istio-ingressgateway",
            app="istio-ingressgateway",
            node=n1,
            service_account="istio-ingressgateway",
            port=8080,
            containers=("istio-proxy",),
            role=Role.GATEWAY,
        ),
        app_pod("kube-system", "coredns", app="kube-dns", node=n1, service_account="coredns", port=53),
    ]


def _bookinfo_services() -> list[Service]:
    def svc(name: str, port: int = 9080, target: int = 9080, ns: str = "default") -> Service:
        return Service(
            ns, name, selector={"app": name}, ports=(ServicePort(port, target),), labels={"app": name}
        )

    return [
        svc("productpage"),
        svc("details"),
        svc("ratings"),
        svc("reviews"),
        svc("curl", 80, 80),
        Service(
            "istio-ingress",
            "istio-ingressgateway",
            selector={"app": "istio-ingressgateway"},
            ports=(ServicePort(80, 8080, "http2"), ServicePort(443, 8443, "https")),
        ),
        Service(
            "kube-system",
            "kube-dns",
            selector={"app": "kube-dns"},
            cluster_ip="10.96.0.10",
            ports=(ServicePort(53, 53, "dns", "UDP"), ServicePort(53, 53, "dns-tcp")),
        ),
        Service("default", "kubernetes", ports=(ServicePort(443, 6443, "https"),), cluster_ip="10.96.0.1"),
    ]


def bookinfo(
    *, istio_version: str = "1.26.2", istiod_replicas: int = 1, now: datetime | None = None
) -> Scenario:
    """The healthy 3-node cluster of istio.io's ztunnel troubleshooting page (`now`: see `build`).

    It carries its configuration too (tests/fakecluster/scenario_config.py): a waypoint bound to the
    reviews Service, a namespace-wide ALLOW policy and a NetworkPolicy that admits HBONE and probes.
    """
    from dataclasses import replace

    from tests.fakecluster.scenario_config import bookinfo_config, with_probes, with_service_waypoint

    scn = build(
        "bookinfo",
        nodes=NODES,
        namespaces=[Namespace("default", AMBIENT_NS), Namespace("istio-ingress"), Namespace("kube-system")],
        pods=_bookinfo_pods(),
        services=_bookinfo_services(),
        policies=[
            Policy(
                "default",
                "productpage-viewer",
                principals=("cluster.local/ns/default/sa/curl",),
                ports=(9080,),
            )
        ],
        istio_version=istio_version,
        istiod_replicas=istiod_replicas,
        now=now,
    )
    scn = replace(scn, config=bookinfo_config(scn))
    return with_probes(with_service_waypoint(scn), "productpage", "details", "ratings", "reviews")


def with_waypoint(
    scn: Scenario, namespace: str = "default", node: str = NODES[2], *, agentgateway: bool = False
) -> Scenario:
    """Add a namespace waypoint (pod + service; `agentgateway`: 1.31's) and bind the namespace's services.

    It replaces a waypoint of the same name already in the namespace (bookinfo binds reviews to one).
    """
    from dataclasses import replace

    from tests.fakecluster.scenario import _with_vip

    pod = waypoint_pod(namespace, node, version=scn.istio_version, agentgateway=agentgateway)
    svc = _with_vip(
        Service(
            namespace,
            "waypoint",
            selector={"gateway.networking.k8s.io/gateway-name": "waypoint"},
            ports=(ServicePort(15008, 15008, "mesh"), ServicePort(15021, 15021, "status")),
            labels={"gateway.istio.io/managed": pod.labels["gateway.istio.io/managed"]},
        )
    )
    namespaces = tuple(
        replace(ns, labels={**ns.labels, "istio.io/use-waypoint": "waypoint"}) if ns.name == namespace else ns
        for ns in scn.namespaces
    )
    ip = f"{pod_prefix(next(n.index for n in scn.nodes if n.name == node))}.200"
    gateway = "gateway.networking.k8s.io/gateway-name"
    pods = tuple(
        p
        for p in scn.pods
        if not (p.role is Role.WAYPOINT and p.namespace == namespace and p.labels.get(gateway) == "waypoint")
    )
    services = tuple(s for s in scn.services if not (s.namespace == namespace and s.name == "waypoint"))
    return replace(
        scn,
        pods=pods + (replace(pod, ip=ip, created=scn.now - timedelta(hours=3)),),
        services=services + (svc,),
        namespaces=namespaces,
    )


def without_component(scn: Scenario, role: Role, node: str) -> Scenario:
    """Remove a node's ztunnel or istio-cni pod (a node the DaemonSet never reached)."""
    from dataclasses import replace

    pods = tuple(p for p in scn.pods if not (p.role is role and p.node == node))
    return replace(scn, pods=pods)


# --- log helpers for overrides -------------------------------------------------------------------


def access_error(src_ip: str, dst_ip: str, error: str, *, ago: timedelta = timedelta(seconds=40)) -> LogEvent:
    return LogEvent(
        "error",
        "access",
        "connection complete",
        (
            ("src.addr", f"{src_ip}:43110"),
            ("dst.addr", f"{dst_ip}:15008"),
            ("dst.hbone_addr", f"{dst_ip}:9080"),
            ("direction", "outbound"),
            ("bytes_sent", 0),
            ("bytes_recv", 0),
            ("duration", "10001ms"),
            ("error", error),
        ),
        ago=ago,
    )


def hbone_timeout(src_ip: str, dst_ip: str) -> LogEvent:
    return access_error(
        src_ip,
        dst_ip,
        "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed",
    )


def authz_denial(src_ip: str, dst_ip: str) -> LogEvent:
    return LogEvent(
        "error",
        "access",
        "connection complete",
        (
            ("src.addr", f"{src_ip}:51234"),
            ("src.workload", "curl"),
            ("src.namespace", "default"),
            ("src.identity", "spiffe://cluster.local/ns/default/sa/curl"),
            ("dst.addr", f"{dst_ip}:15008"),
            ("dst.hbone_addr", f"{dst_ip}:9080"),
            ("direction", "inbound"),
            ("bytes_sent", 0),
            ("bytes_recv", 0),
            ("duration", "1ms"),
            ("error", "connection closed due to policy rejection: allow policies exist, but none allowed"),
        ),
    )


def dns_failure(hostname: str) -> LogEvent:
    return LogEvent(
        "warn",
        "dns::server",
        "dns lookup failed",
        (("hostname", hostname), ("err", 'no records found for Query { name: Name("' + hostname + '.") }')),
    )


def nack_line(reason: str) -> LogEvent:
    return LogEvent(
        "error",
        "xds::client:xds{id=1}",
        "sending response",
        (
            ("type_url", "type.googleapis.com/istio.workload.Address"),
            ("nonce", "e2c1f0"),
            ("type", "Nack"),
            ("error", reason),
        ),
    )


def cni_error(pod_ns: str, pod_name: str) -> LogEvent:
    return LogEvent(
        "error",
        "cni-agent",
        f"failed to update POD inpod: {pod_ns}/{pod_name} failed to open netns: no such file",
        (("ns", pod_ns), ("name", pod_name)),
    )


def hbone_refused(src_ip: str, dst_ip: str) -> LogEvent:
    """ztunnel's access log when nothing listens on the destination's :15008 (istio/istio#53696)."""
    return access_error(
        src_ip, dst_ip, "io error: Connection refused (os error 111)", ago=timedelta(seconds=75)
    )


def xds_workload_timeout(pod: Pod) -> tuple[LogEvent, ...]:
    """ztunnel waited for a local pod's workload from xDS, then failed its connection (istio/istio#54889)."""
    named = f"{pod.service_account}.{pod.namespace} ({pod.name})"
    return (
        LogEvent(
            "warn", "state", f"timed out waiting for workload '{named}' from xds", ago=timedelta(seconds=50)
        ),
        LogEvent(
            "warn",
            "access",
            "connection failed",
            (
                ("src.addr", "10.244.1.20:51514"),
                ("dst.addr", f"{pod.ip}:9080"),
                ("direction", "inbound"),
                ("error", f"failed to fetch information about local workload: {named}"),
            ),
            ago=timedelta(seconds=50),
        ),
    )


def cni_no_ztunnel(pod_ns: str, pod_name: str) -> LogEvent:
    """istio-cni retrying a pod while no ztunnel is connected on its node (istio/istio#53843)."""
    return LogEvent(
        "warn",
        "cni-agent",
        "Unable to send pod to ztunnel. Will retry. AddPodToMesh returned: no ztunnel connection",
        (("ns", pod_ns), ("name", pod_name)),
        ago=timedelta(seconds=20),
    )


# --- the broken cluster -------------------------------------------------------------------------


def broken(*, now: datetime | None = None) -> Scenario:
    """Bookinfo with many failures at once; each override is independent of the others."""
    base = bookinfo(istiod_replicas=2, now=now)
    n1, n2, n3 = NODES
    pp = next(p for p in base.pods if p.labels.get("app") == "productpage")
    details = next(p for p in base.pods if p.labels.get("app") == "details")
    ratings = next(p for p in base.pods if p.labels.get("app") == "ratings")
    reviews2 = next(p for p in base.pods if p.labels.get("version") == "v2")
    curl = next(p for p in base.pods if p.labels.get("app") == "curl")
    now = base.now
    nack = "Kubernetes//Pod/default/ratings-v1: unsupported tunnel protocol: legacy istio mtls"
    ztunnels = {
        # node 1: misses a local workload, knows a stale pod, ratings as TCP, one pod Pending,
        # a cert failing to sign, an expired cert, and crashlooping with previous logs.
        n1: ZtunnelOverride(
            drift=Drift(
                missing_workloads=frozenset({pp.ref}),
                extra_workloads=(
                    StaleWorkload(
                        "default", "reviews-v1-7d9c8b5f4-gone1", "10.244.0.99", n1, "bookinfo-reviews"
                    ),
                ),
                workload_protocol={ratings.ref: "TCP"},
            ),
            workload_state={pp.ref: "Pending"},
            certificates={
                "default/bookinfo-productpage": CertOverride(UNAVAILABLE_SIGNING),
                "default/bookinfo-reviews": CertOverride(
                    valid_from=timedelta(hours=-30), valid_for=timedelta(hours=24)
                ),
            },
            restarts=7,
            ready=False,
            logs=(
                hbone_timeout(pp.ip or "", details.ip or ""),
                dns_failure("reviews.default.svc.cluster.local"),
                nack_line(nack),
                # reviews-v2 has no in-pod proxy on node 2 (no workloadState entry): :15008 refuses
                hbone_refused(pp.ip or "", reviews2.ip or ""),
                # node 1's ztunnel misses productpage from xDS: its inbound connections fail
                *xds_workload_timeout(pp),
                LogEvent("error", "ztunnel", "panicked: connection to CA lost", previous=True),
            ),
        ),
        # node 2: different root of trust, not-yet-valid and soon-expiring certs, version skew,
        # a workload with no workloadState entry, authz denials.
        n2: ZtunnelOverride(
            root="rogue-root",
            certificates={
                "default/bookinfo-details": CertOverride(valid_from=timedelta(hours=2)),
                "default/curl": CertOverride(valid_from=timedelta(hours=-23, minutes=-50)),
                "default/bookinfo-reviews": CertOverride(CertState.INITIALIZING),
            },
            workload_state={reviews2.ref: None},
            version="1.25.1",
            logs=(authz_denial(curl.ip or "", details.ip or ""),),
        ),
        # node 3: on-demand xDS.
        n3: ZtunnelOverride(xds_on_demand=True),
    }
    istiod = {
        n1: IstiodOverride(
            drift=Drift(
                workload_waypoint={details.ref: "/10.96.200.1"},
                missing_policies=frozenset({"default/productpage-viewer"}),
            ),
            nack=nack,
        ),
        n2: IstiodOverride(
            drift=Drift(
                extra_services=(Service("default", "legacy", selector={"app": "legacy"}),),
                service_ports={"default/reviews": {9080: 9090}},
            )
        ),
        n3: IstiodOverride(connected=False),
    }
    # node 1's ztunnel crash-loops: istio-cni keeps retrying productpage with no ztunnel connected
    cni = {n1: (cni_error("default", pp.name), cni_no_ztunnel("default", pp.name))}
    scn = base.with_overrides(ztunnels=ztunnels, istiod=istiod, name="broken", cni_logs=cni)
    # A 4th node without ztunnel or istio-cni, with an ambient pod that can never be captured.
    from dataclasses import replace

    from tests.fakecluster.scenario import Node

    lonely_node = Node("ambient-worker4", 3)
    lonely = app_pod(
        "default",
        "lonely-v1",
        app="lonely",
        node=lonely_node.name,
        ip="10.244.3.10",
        created=now - timedelta(hours=1),
        annotations={"ambient.istio.io/redirection": "pending"},
    )
    terminating = replace(
        next(p for p in base.pods if p.labels.get("app") == "details"),
        name="details-v1-5f4d8c7b9-old42",
        ip="10.244.1.77",
        deleted=now - timedelta(minutes=3),
    )
    pending = app_pod(
        "default",
        "ratings-v2",
        app="ratings",
        version="v2",
        node=n3,
        phase=Phase.PENDING,
        created=now - timedelta(minutes=1),
        ready=False,
    )
    scn = replace(scn, nodes=scn.nodes + (lonely_node,), pods=scn.pods + (lonely, terminating, pending))
    from tests.fakecluster.scenario_config import broken_config

    return broken_config(scn)


# --- synthetic clusters for benchmarks ----------------------------------------------------------


def synthetic(
    nodes: int = 10,
    pods_per_node: int = 20,
    seed: int = 0,
    *,
    istiod_replicas: int = 2,
    now: datetime | None = None,
) -> Scenario:
    """N nodes × M app pods over a few ambient namespaces; payloads are shared across ztunnels."""
    namespaces = [
        Namespace(f"app-{i}", AMBIENT_NS) for i in range(max(1, min(10, nodes * pods_per_node // 50)))
    ]
    pods, services = [], []
    node_names = [f"node-{i + 1:03d}" for i in range(nodes)]
    for n, node in enumerate(node_names):
        for j in range(pods_per_node):
            # Number pods cluster-wide: an app's three replicas may span two nodes, and a per-node
            # suffix (j % 3) would then repeat a name whenever pods_per_node is not a multiple of 3.
            g = n * pods_per_node + j
            ns = namespaces[(g + seed) % len(namespaces)].name
            app = f"svc-{g // 3:04d}"
            pods.append(app_pod(ns, f"{app}-{g % 3}", app=app, node=node, port=8080))
            if g % 3 == 0:
                services.append(Service(ns, app, selector={"app": app}, ports=(ServicePort(80, 8080),)))
    return build(
        f"synthetic-{nodes}x{pods_per_node}",
        nodes=node_names,
        namespaces=namespaces,
        pods=pods,
        services=services,
        istiod_replicas=istiod_replicas,
        now=now,
    )


# --- security ------------------------------------------------------------------------------------


def hostile(*, now: datetime | None = None) -> Scenario:
    """Healthy bookinfo plus injection strings and planted secrets (see `tests.fakecluster.hostile`).

    `scenario.planted_secrets` lists every secret value; none may survive into a bundle.
    """
    from dataclasses import replace

    from tests.fakecluster.hostile import with_hostile_text, with_planted_secrets

    return replace(with_planted_secrets(with_hostile_text(bookinfo(now=now))), name="hostile")


def least_privilege_rbac(istio_namespace: str = "istio-system") -> tuple[RbacRule, ...]:
    """Exactly what `ztbundle collect` needs: reads, pod logs, port-forward, Istio's config and workloads."""
    core_reads = ("pods", "namespaces", "nodes", "services", "events")
    rules = [RbacRule(verb, resource, "", group="") for resource in core_reads for verb in ("get", "list")]
    rules += [RbacRule(verb, "endpointslices", "", group="discovery.k8s.io") for verb in ("get", "list")]
    rules += [
        RbacRule("get", "pods", "log", group=""),
        RbacRule("create", "pods", "portforward", group=""),
        RbacRule("get", "configmaps", "", istio_namespace, group="", name="istio"),
    ]
    rules += [
        RbacRule(verb, resource, "", istio_namespace, group="apps")
        for resource in ("daemonsets", "deployments")
        for verb in ("get", "list")
    ]
    rules.append(RbacRule("create", "selfsubjectaccessreviews", "", group="authorization.k8s.io"))
    rules.append(RbacRule("get", "configmaps", "", istio_namespace, group="", name="istio-cni-config"))
    rules += [RbacRule(verb, "pods", "", istio_namespace, group="metrics.k8s.io") for verb in ("get", "list")]
    rules += [
        RbacRule(verb, res.resource, "", group=res.group)
        for res in layout.CONFIG_RESOURCES
        if not res.istio_namespace_only
        for verb in ("get", "list")
    ]
    return tuple(rules)


def with_least_privilege(scn: Scenario) -> Scenario:
    """`scn` served to a user holding only `least_privilege_rbac()`."""
    return scn.with_overrides(rbac=least_privilege_rbac(scn.istio_namespace))


SCENARIOS = {"bookinfo": bookinfo, "broken": broken, "hostile": hostile, "synthetic": synthetic}

__all__ = [
    "SCENARIOS",
    "bookinfo",
    "broken",
    "hostile",
    "least_privilege_rbac",
    "with_least_privilege",
    "synthetic",
    "with_waypoint",
    "access_error",
    "hbone_timeout",
    "authz_denial",
    "dns_failure",
    "nack_line",
    "cni_error",
    "hbone_refused",
    "xds_workload_timeout",
    "cni_no_ztunnel",
]
