"""Container logs (ztunnel plain/JSON, istiod and istio-cni Go format) and ztunnel Prometheus metrics.

Formats follow the logs ztunnel (plain and JSON) and istiod (Go) write. Access logs come
from `flows()`: real bookinfo traffic (productpage→details/reviews, reviews→ratings, curl→productpage),
round-robin over the reviews versions, logged outbound on the source node and inbound on the
destination node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from tests.fakecluster.mesh import version_tuple
from tests.fakecluster.scenario import LogEvent, Phase, Pod, Role, Scenario, Service, stable_int

Line = tuple[datetime, str]
BOOKINFO_CALLS = (
    ("productpage", "details"),
    ("productpage", "reviews"),
    ("reviews", "ratings"),
    ("curl", "productpage"),
)
BARE_FIELDS = {"src.addr", "dst.addr", "dst.hbone_addr", "type", "bytes_sent", "bytes_recv", "uid"}
STEP = timedelta(seconds=15)
WINDOW = 40  # access-log steps before `now`


def ts_ztunnel(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Flow:
    src: Pod
    svc: Service
    targets: tuple[Pod, ...]


def _identity(scn: Scenario, pod: Pod) -> str:
    return f"spiffe://{scn.trust_domain}/ns/{pod.namespace}/sa/{pod.service_account}"


@lru_cache(maxsize=32)
def flows(scn: Scenario) -> tuple[Flow, ...]:
    """Who calls whom: bookinfo's call graph, or each app pod calling the next service (synthetic)."""
    apps = [p for p in scn.pods if p.role is Role.APP and p.phase is Phase.RUNNING and p.ip]
    out: list[Flow] = []
    for src_app, svc_name in BOOKINFO_CALLS:
        for src in (p for p in apps if p.labels.get("app") == src_app):
            svc = next((s for s in scn.services if s.name == svc_name and s.namespace == src.namespace), None)
            targets = (
                tuple(p for p in scn.pods_of(svc) if p.role is Role.APP and p.phase is Phase.RUNNING and p.ip)
                if svc
                else ()
            )
            if svc and targets:
                out.append(Flow(src, svc, targets))
    if out or not scn.traffic:
        return tuple(out)
    backed = [(s, tuple(p for p in scn.pods_of(s) if p.role is Role.APP and p.ip)) for s in scn.services]
    backed = [(s, t) for s, t in backed if t]
    for i, src in enumerate(apps[: 4 * len(scn.nodes)]):
        if backed:
            svc, targets = backed[(i + 1) % len(backed)]
            out.append(Flow(src, svc, targets))
    return tuple(out)


def _fields_plain(fields: tuple[tuple[str, str | int], ...]) -> str:
    parts = []
    for key, value in fields:
        bare = isinstance(value, int) or key in BARE_FIELDS
        parts.append(f"{key}={value}" if bare else f"{key}={json.dumps(value)}")
    return " ".join(parts)


def ztunnel_line(
    t: datetime,
    level: str,
    target: str,
    message: str,
    fields: tuple[tuple[str, str | int], ...] = (),
    *,
    fmt: str = "plain",
) -> str:
    """Render one ztunnel event; plain strips `ztunnel::` (already absent from `target`)."""
    if fmt == "json":
        scope = target if target in ("access", "ztunnel") else "ztunnel::" + target.split(":")[0]
        obj: dict[str, object] = {"level": level, "time": ts_ztunnel(t), "scope": scope, "message": message}
        obj |= dict(fields)
        return json.dumps(obj, separators=(",", ":"))
    return f"{ts_ztunnel(t)}\t{level}\t{target}\t{message}\t{_fields_plain(fields)}"


@lru_cache(maxsize=32)
def _flows_touching(scn: Scenario) -> dict[str, tuple[int, ...]]:
    """Node → indexes (ascending) of the flows whose source or any backend runs there.

    A node's access log only shows flows it is part of; scanning every flow of the cluster for each
    of 1,000 ztunnels over 40 steps was the bulk of serving their logs.
    """
    out: dict[str, list[int]] = {}
    for i, flow in enumerate(flows(scn)):
        for node in dict.fromkeys((flow.src.node, *(t.node for t in flow.targets))):
            out.setdefault(node or "", []).append(i)
    return {k: tuple(v) for k, v in out.items()}


def _access_events(
    scn: Scenario, node: str
) -> Iterator[tuple[datetime, str, tuple[tuple[str, str | int], ...]]]:
    all_flows = flows(scn)
    for step in range(WINDOW, 0, -1):
        t0 = scn.now - STEP * step
        for i in _flows_touching(scn).get(node, ()):
            flow = all_flows[i]
            dst = flow.targets[(step + i) % len(flow.targets)]
            if node not in (flow.src.node, dst.node):
                continue
            port = next(iter(flow.svc.ports)).target_port
            sport = 32768 + stable_int(flow.src.name, str(step), str(i)) % 28000
            t = t0 + timedelta(milliseconds=37 * i + 3)
            hbone = scn.is_enrolled(dst)
            src_f: tuple[tuple[str, str | int], ...] = (
                ("src.addr", f"{flow.src.ip}:{sport}"),
                ("src.workload", flow.src.name),
                ("src.namespace", flow.src.namespace),
                ("src.identity", _identity(scn, flow.src)),
            )
            dst_f: tuple[tuple[str, str | int], ...] = (
                ("dst.addr", f"{dst.ip}:15008" if hbone else f"{dst.ip}:{port}"),
                *((("dst.hbone_addr", f"{dst.ip}:{port}"),) if hbone else ()),
                ("dst.service", flow.svc.hostname),
                ("dst.workload", dst.name),
                ("dst.namespace", dst.namespace),
                *((("dst.identity", _identity(scn, dst)),) if hbone else ()),
            )
            sent, recv = 180 + (stable_int(dst.name, str(step)) % 400), 1200 + (stable_int(str(step)) % 4000)
            stats = (("bytes_sent", sent), ("bytes_recv", recv), ("duration", f"{3 + step % 17}ms"))
            if flow.src.node == node:
                yield t, "access", src_f + dst_f + (("direction", "outbound"),) + stats
            if dst.node == node and hbone:
                yield (
                    t + timedelta(microseconds=850),
                    "access",
                    (
                        src_f
                        + dst_f
                        + (("direction", "inbound"),)
                        + (("bytes_sent", recv), ("bytes_recv", sent))
                        + stats[2:]
                    ),
                )


def _startup(scn: Scenario, zt: Pod, start: datetime, fmt: str) -> list[Line]:
    from tests.fakecluster.payloads import ztunnel_version

    node = zt.node or ""
    ver = ztunnel_version(scn, node)
    t = start + timedelta(milliseconds=120)
    crypto = ', CryptoProvider:"tls-aws-lc"' if version_tuple(ver) >= (1, 27) else ""
    build = (
        f'version.BuildInfo{{Version:"{ver}", GitRevision:"4f7e3c2a9b1d", RustVersion:"1.85.0", '
        f'BuildProfile:"release", BuildStatus:"Clean", GitTag:"{ver}", IstioVersion:"{ver}"{crypto}}}'
    )
    config_yaml = (
        f"running with config: proxy: true\ndnsProxy: true\nlocalNode: {node}\n"
        f"clusterId: Kubernetes\nxdsOnDemand: {str(scn.ztunnel_override(node).xds_on_demand).lower()}\n"
        f"inpodEnabled: true\nproxyMode: Shared"
    )
    lines = [
        ztunnel_line(t, "info", "ztunnel", f"version: {build}", fmt=fmt),
        ztunnel_line(t, "info", "ztunnel", config_yaml, fmt=fmt),
        ztunnel_line(t + timedelta(milliseconds=40), "info", "app", "in-pod mode enabled", fmt=fmt),
        ztunnel_line(
            t + timedelta(milliseconds=300), "info", "xds::client:xds{id=1}", "Stream established", fmt=fmt
        ),
    ]
    out = [(t, line) for line in lines]
    out.append(
        (
            t + timedelta(milliseconds=900),
            ztunnel_line(
                t + timedelta(milliseconds=900),
                "info",
                "readiness",
                "Task 'proxy' complete (1.083s), marking server ready",
                fmt=fmt,
            ),
        )
    )
    return out


def _ztunnel_log(scn: Scenario, zt: Pod, previous: bool) -> list[Line]:
    node = zt.node or ""
    zo = scn.ztunnel_override(node)
    fmt = zo.log_format
    created = zt.created or scn.now - timedelta(days=1)
    if previous:
        start = scn.now - timedelta(minutes=4)
        lines = _startup(scn, zt, start, fmt)
        t = start + timedelta(seconds=2)
        lines.append(
            (
                t,
                ztunnel_line(
                    t,
                    "error",
                    "ztunnel",
                    "failed to start: failed to bind to address [::]:15008: Address in use (os error 98)",
                    fmt=fmt,
                ),
            )
        )
        lines += _extra(scn, zo.logs, fmt, previous=True)
        return sorted(lines, key=lambda x: x[0])
    start = scn.now - timedelta(minutes=2) if zo.restarts else created
    lines = _startup(scn, zt, start, fmt)
    t = start + timedelta(seconds=1)
    for pod in (p for p in scn.pods_on(node) if scn.is_ambient(p) and p.phase is Phase.RUNNING):
        state = zo.workload_state.get(pod.ref, "Up")
        if state == "Pending":
            fields: tuple[tuple[str, str | int], ...] = (
                ("uid", pod.uid),
                ("name", pod.name),
                ("namespace", pod.namespace),
            )
            lines.append(
                (
                    t,
                    ztunnel_line(
                        t,
                        "error",
                        "inpod::statemanager",
                        "failed to start proxy",
                        fields + (("error", "failed to enter netns: No such file"),),
                        fmt=fmt,
                    ),
                )
            )
            lines.append(
                (t, ztunnel_line(t, "info", "inpod::statemanager", "scheduling retry", fields, fmt=fmt))
            )
        elif state == "Up" and scn.is_enrolled(pod):
            lines.append(
                (
                    t,
                    ztunnel_line(
                        t,
                        "info",
                        "inpod::statemanager",
                        "pod received, starting proxy",
                        (("name", pod.name), ("namespace", pod.namespace)),
                        fmt=fmt,
                    ),
                )
            )
    nack = scn.istiod_override(node).nack
    if nack:
        t = scn.now - timedelta(minutes=5)
        lines.append(
            (
                t,
                ztunnel_line(
                    t,
                    "error",
                    "xds::client:xds{id=1}",
                    "sending response",
                    (
                        ("type_url", "type.googleapis.com/istio.workload.Address"),
                        ("nonce", "a8f3c1"),
                        ("type", "Nack"),
                        ("error", nack),
                    ),
                    fmt=fmt,
                ),
            )
        )
    for t, target, fields in _access_events(scn, node):
        lines.append((t, ztunnel_line(t, "info", target, "connection complete", fields, fmt=fmt)))
    lines += _extra(scn, zo.logs, fmt, previous=False)
    return sorted(lines, key=lambda x: x[0])


def _extra(scn: Scenario, events: tuple[LogEvent, ...], fmt: str, *, previous: bool) -> list[Line]:
    out = []
    for ev in events:
        if ev.previous != previous:
            continue
        t = scn.now - ev.ago
        out.append((t, ztunnel_line(t, ev.level, ev.target, ev.message, ev.fields, fmt=fmt)))
    return out


def go_line(t: datetime, level: str, scope: str, message: str, labels: str = "") -> str:
    """Istio's Go log format: time, level, scope (absent for the default scope), message, labels."""
    head = f"{ts_ztunnel(t)}\t{level}\t" + (f"{scope}\t" if scope and scope != "default" else "")
    return head + message + (f"\t{labels}" if labels else "")


def _go_extra(scn: Scenario, events: tuple[LogEvent, ...], previous: bool) -> list[Line]:
    return [
        (
            scn.now - ev.ago,
            go_line(
                scn.now - ev.ago, ev.level, ev.target, ev.message, " ".join(f"{k}={v}" for k, v in ev.fields)
            ),
        )
        for ev in events
        if ev.previous == previous
    ]


def _istiod_log(scn: Scenario, istiod: Pod, previous: bool) -> list[Line]:
    from tests.fakecluster import payloads

    start = istiod.created or scn.now - timedelta(days=1)
    lines = [
        (start, go_line(start, "info", "default", 'FLAG: --monitoringAddr=":15014"')),
        (start, go_line(start, "info", "default", f"Version {payloads.istiod_version(scn).decode()}")),
    ]
    for client in payloads.connections(scn, istiod)["clients"]:
        t = datetime.fromisoformat(client["connectedAt"].replace("Z", "+00:00"))
        conn, proxy = client["connectionId"], client["connectionId"].rsplit("-", 1)[0]
        lines.append((t, go_line(t, "info", "delta", f"ADS: new delta connection for node:{conn}")))
        t2 = t + timedelta(milliseconds=12)
        lines.append(
            (
                t2,
                go_line(
                    t2,
                    "info",
                    "delta",
                    f"WDS: PUSH request for node:{proxy} resources:{len(scn.pods)} removed:0 "
                    f"size:{len(scn.pods) * 412 // 1024}kB",
                ),
            )
        )
        lines.append(
            (
                t2,
                go_line(
                    t2,
                    "info",
                    "delta",
                    f"WADS: PUSH request for node:{proxy} resources:{len(scn.policies)} removed:0 size:0B",
                ),
            )
        )
    for node in sorted(n.name for n in scn.nodes):
        nack, zt = scn.istiod_override(node).nack, scn.ztunnel_on(node)
        owner = scn.istiod_for(node)
        if nack and zt and owner and owner.name == istiod.name:
            t = scn.now - timedelta(minutes=5)
            lines.append(
                (t, go_line(t, "warn", "delta", f"ADS:WDS: ACK ERROR {zt.name}.{zt.namespace}-1 OK:{nack}"))
            )
    lines += _go_extra(scn, scn.istiod_logs, previous)
    return sorted(lines, key=lambda x: x[0])


def _cni_log(scn: Scenario, cni: Pod, previous: bool) -> list[Line]:
    node = cni.node or ""
    start = cni.created or scn.now - timedelta(days=1)
    lines = [(start, go_line(start, "info", "cni-agent", "initialized CNI config, starting node agent"))]
    if scn.ztunnel_on(node):
        t = start + timedelta(seconds=3)
        lines.append((t, go_line(t, "info", "cni-agent", "new ztunnel connected, total connected: 1")))
    for pod in (p for p in scn.pods_on(node) if scn.is_ambient(p) and p.phase is Phase.RUNNING):
        t = (pod.created or start) + timedelta(seconds=1)
        labels = f"ns={pod.namespace} name={pod.name}"
        lines.append((t, go_line(t, "info", "cni-agent", "adding pod to the mesh", labels)))
        if scn.is_enrolled(pod) and scn.ztunnel_override(node).workload_state.get(pod.ref, "Up") == "Up":
            continue
        lines.append(
            (
                t,
                go_line(
                    t,
                    "error",
                    "cni-agent",
                    "failed to add pod to ztunnel: pod partially added, annotating with pending status",
                    labels,
                ),
            )
        )
    lines += _go_extra(scn, scn.cni_logs.get(node, ()), previous)
    return sorted(lines, key=lambda x: x[0])


def _generic_log(scn: Scenario, pod: Pod, previous: bool) -> list[Line]:
    t = pod.created or scn.now - timedelta(hours=1)
    return [
        (t, f"{pod.name} started"),
        (
            scn.now - timedelta(seconds=10),
            f"{pod.name} serving on :{pod.ports[0]}" if pod.ports else f"{pod.name} running",
        ),
    ]


@lru_cache(maxsize=256)
def component_log(scn: Scenario, namespace: str, name: str, previous: bool) -> tuple[Line, ...]:
    """All physical log lines of a pod's main container as (time, text), oldest first."""
    pod = scn.pod(namespace, name)
    if pod is None:
        return ()
    gen = {Role.ZTUNNEL: _ztunnel_log, Role.ISTIOD: _istiod_log, Role.CNI: _cni_log}.get(
        pod.role, _generic_log
    )
    events = gen(scn, pod, previous)
    # A multi-line event is several physical lines sharing one timestamp, as the container runtime records.
    return tuple((t, part) for t, text in events for part in text.split("\n"))


# --- metrics -----------------------------------------------------------------------------------

_TCP_METRICS = (
    ("istio_tcp_sent_bytes", "The size of total bytes sent during response in case of a TCP connection."),
    (
        "istio_tcp_received_bytes",
        "The size of total bytes received during request in case of a TCP connection.",
    ),
    ("istio_tcp_connections_opened", "The total number of TCP connections opened."),
    ("istio_tcp_connections_closed", "The total number of TCP connections closed."),
)


def _labels(scn: Scenario, reporter: str, flow: Flow, dst: Pod) -> str:
    pairs = [
        ("reporter", reporter),
        ("source_workload", flow.src.workload or flow.src.name),
        ("source_canonical_service", flow.src.canonical_name),
        ("source_canonical_revision", flow.src.canonical_revision),
        ("source_workload_namespace", flow.src.namespace),
        ("source_principal", _identity(scn, flow.src)),
        ("source_app", flow.src.canonical_name),
        ("source_version", flow.src.canonical_revision),
        ("source_cluster", "Kubernetes"),
        ("destination_service", flow.svc.hostname),
        ("destination_service_namespace", flow.svc.namespace),
        ("destination_service_name", flow.svc.name),
        ("destination_workload", dst.workload or dst.name),
        ("destination_canonical_service", dst.canonical_name),
        ("destination_canonical_revision", dst.canonical_revision),
        ("destination_workload_namespace", dst.namespace),
        ("destination_principal", _identity(scn, dst)),
        ("destination_app", dst.canonical_name),
        ("destination_version", dst.canonical_revision),
        ("destination_cluster", "Kubernetes"),
        ("request_protocol", "tcp"),
        ("response_flags", "-"),
        ("connection_security_policy", "mutual_tls"),
    ]
    return ",".join(f'{k}="{_escape_label(v)}"' for k, v in pairs)


def _escape_label(value: str) -> str:
    """Escape a label value as the text exposition format requires (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@lru_cache(maxsize=256)
def ztunnel_metrics(scn: Scenario, node: str) -> bytes:
    """ztunnel's :15020 `/metrics` in the OpenMetrics text the Rust prometheus-client writes."""
    from tests.fakecluster.payloads import ztunnel_version

    series: dict[str, list[str]] = {m: [] for m, _ in _TCP_METRICS}
    all_flows = flows(scn)
    for flow in (all_flows[i] for i in _flows_touching(scn).get(node, ())):
        for j, dst in enumerate(flow.targets):
            n = WINDOW // len(flow.targets) + (1 if j < WINDOW % len(flow.targets) else 0)
            for reporter, here in (("source", flow.src.node), ("destination", dst.node)):
                if here != node:
                    continue
                labels = _labels(scn, reporter, flow, dst)
                values = (n * 420, n * 3100, n, n)
                for (metric, _), value in zip(_TCP_METRICS, values, strict=True):
                    series[metric].append(f"{metric}_total{{{labels}}} {value}")
    out = []
    for metric, help_text in _TCP_METRICS:
        out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter", *series[metric]]
    active = sum(1 for p in scn.pods_on(node) if scn.is_enrolled(p))
    out += [
        "# HELP workload_manager_active_proxy_count The total number current workloads with active proxies.",
        "# TYPE workload_manager_active_proxy_count gauge",
        f"workload_manager_active_proxy_count {active}",
        "# HELP istio_build Istio component build info.",
        "# TYPE istio_build gauge",
        f'istio_build{{component="ztunnel",tag="{ztunnel_version(scn, node)}"}} 1',
        "# EOF",
    ]
    return ("\n".join(out) + "\n").encode()
