"""Resolve `--from POD` and `--to TARGET` against the model into the connection's path."""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass

from analyzer.model import Bundle, KubeService, Pod, Workload, XdsService, Ztunnel


class NotFound(ValueError):  # noqa: N818 - reads as the condition it is
    """POD or TARGET names nothing in the bundle; the message names the closest candidates."""


@dataclass(frozen=True, slots=True)
class Target:
    """What `--to` named: a service (with an optional port), a pod, or a bare IP."""

    kind: str  # service | pod | ip
    text: str
    namespace: str = ""
    name: str = ""
    port: int | None = None
    ip: str | None = None
    pod: Pod | None = None
    kube_service: KubeService | None = None

    @property
    def hostname(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local" if self.kind == "service" else ""

    @property
    def label(self) -> str:
        port = f":{self.port}" if self.port else ""
        if self.kind == "service":
            return f"Service {self.namespace}/{self.name}{port}"
        if self.kind == "pod":
            return f"Pod {self.namespace}/{self.name}{port}"
        return f"{self.ip}{port}"


@dataclass(frozen=True, slots=True)
class Path:
    """The connection: source pod and its ztunnel, the target, and the pods that would answer it."""

    source: Pod
    ztunnel: Ztunnel | None  # the source node's current ztunnel
    target: Target
    service: XdsService | None  # the target service in the source ztunnel's table
    destinations: tuple[Pod, ...]  # endpoint pods (a pod target: itself)

    @property
    def outside_mesh(self) -> bool:
        """The target is a service without selector and no mesh endpoints (e.g. the API server)."""
        ks = self.target.kube_service
        no_endpoints = self.service is None or not self.service.endpoints
        return not self.destinations and ks is not None and not ks.selector and no_endpoints

    @property
    def identity(self) -> str | None:
        """The source's SPIFFE identity as its ztunnel's workload entry states it."""
        w = self.source_workload
        return f"spiffe://{w.trust_domain}/ns/{w.namespace}/sa/{w.service_account}" if w else None

    @property
    def source_workload(self) -> Workload | None:
        return workload_of(self.ztunnel, self.source)


def workload_of(ztunnel: Ztunnel | None, pod: Pod) -> Workload | None:
    """The pod's entry in a ztunnel's workload table, or None."""
    if ztunnel is None or not ztunnel.available:
        return None
    return ztunnel.workloads.get(pod.xds_uid(ztunnel.config.cluster_id))


def _closest(word: str, names: list[str]) -> str:
    near = difflib.get_close_matches(word, names, n=3, cutoff=0.4)
    return f" (closest: {', '.join(near)})" if near else ""


def find_pod(bundle: Bundle, text: str, what: str = "pod") -> Pod:
    """A pod by `namespace/name` or by a name unique in the bundle."""
    ns, sep, name = text.partition("/")
    if sep:
        pod = bundle.pod_by_name(ns, name)
        if pod is not None:
            return pod
    else:
        found = [p for p in bundle.pods if p.name == text]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            refs = ", ".join(sorted(f"{p.namespace}/{p.name}" for p in found))
            raise NotFound(f"{what} {text!r} is ambiguous: {refs}; give namespace/name")
    names = sorted(f"{p.namespace}/{p.name}" for p in bundle.pods)
    raise NotFound(f"no {what} {text!r} in the bundle{_closest(text, names)}")


def _split_port(text: str) -> tuple[str, int | None]:
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit() and head and not head.endswith(":"):
        return head, int(tail)
    return text, None


def _service_names(bundle: Bundle, ztunnel: Ztunnel | None) -> dict[tuple[str, str], KubeService | None]:
    out: dict[tuple[str, str], KubeService | None] = {}
    if ztunnel is not None and ztunnel.available:
        for svc in ztunnel.services.values():
            if svc.name:
                out[(svc.namespace, svc.name)] = None
    for ks in bundle.services:
        out[(ks.ref.namespace, ks.ref.name)] = ks
    return out


def find_target(bundle: Bundle, text: str, ztunnel: Ztunnel | None) -> Target:
    """A service (`ns/name[:port]` or its hostname), a pod (`ns/name`, a unique name) or `IP[:port]`."""
    body, port = _split_port(text.strip())
    services = _service_names(bundle, ztunnel)
    try:
        ip = str(ipaddress.ip_address(body.strip("[]")))
    except ValueError:
        ip = None
    if ip is not None:
        return _target_by_ip(bundle, text, ip, port, services, ztunnel)
    key: tuple[str, str] | None = None
    ns, sep, name = body.partition("/")
    if sep:
        key = (ns, name)
    elif "." in body:
        parts = body.split(".")
        key = (parts[1], parts[0]) if len(parts) >= 2 else None
    else:
        same = [k for k in services if k[1] == body]
        key = same[0] if len(same) == 1 else None
    if key is not None and key in services:
        return Target("service", text, key[0], key[1], port, kube_service=services[key])
    try:
        pod = find_pod(bundle, body, "target")
    except NotFound:
        names = sorted({f"{n}/{s}" for n, s in services} | {f"{p.namespace}/{p.name}" for p in bundle.pods})
        raise NotFound(f"no service or pod {text!r} in the bundle{_closest(body, names)}") from None
    return Target("pod", text, pod.namespace, pod.name, port, ip=pod.ip, pod=pod)


def _target_by_ip(
    bundle: Bundle,
    text: str,
    ip: str,
    port: int | None,
    services: dict[tuple[str, str], KubeService | None],
    ztunnel: Ztunnel | None,
) -> Target:
    pod = bundle.pod_by_ip(ip)
    if pod is not None:
        return Target("pod", text, pod.namespace, pod.name, port, ip=ip, pod=pod)
    if ztunnel is not None and ztunnel.available:
        for svc in ztunnel.services.values():
            if any(v.rpartition("/")[2] == ip for v in svc.vips):
                return Target("service", text, svc.namespace, svc.name, port, ip=ip)
    for ks in bundle.services:
        if ks.cluster_ip == ip:
            return Target("service", text, ks.ref.namespace, ks.ref.name, port, ip=ip, kube_service=ks)
    return Target("ip", text, port=port, ip=ip)


def service_in(ztunnel: Ztunnel | None, target: Target) -> XdsService | None:
    """The target service's entry in a ztunnel's service table."""
    if ztunnel is None or not ztunnel.available or target.kind != "service":
        return None
    svc = ztunnel.services.get(f"{target.namespace}/{target.hostname}")
    if svc is not None:
        return svc
    return next(
        (s for s in ztunnel.services.values() if s.namespace == target.namespace and s.name == target.name),
        None,
    )


def _selected(bundle: Bundle, ks: KubeService | None) -> tuple[Pod, ...]:
    if ks is None or not ks.selector:
        return ()
    return tuple(
        p
        for p in bundle.pods
        if p.namespace == ks.ref.namespace
        and not p.terminal
        and p.ip
        and all(p.labels.get(k) == v for k, v in ks.selector.items())
    )


def resolve(bundle: Bundle, source: str, target: str) -> Path:
    """The path from `source` to `target` (NotFound names the closest pods or services)."""
    pod = find_pod(bundle, source)
    ztunnel = bundle.ztunnel_on(pod.node)
    tgt = find_target(bundle, target, ztunnel)
    svc = service_in(ztunnel, tgt)
    if tgt.pod is not None:
        dests: tuple[Pod, ...] = (tgt.pod,)
    elif svc is not None:
        found = []
        for uid, _ports in svc.endpoints:
            w = ztunnel.workloads.get(uid) if ztunnel else None
            p = bundle.pod_by_name(w.namespace, w.name) if w else None
            if p is not None:
                found.append(p)
        dests = tuple(found) or _selected(bundle, tgt.kube_service)
    else:
        dests = _selected(bundle, tgt.kube_service)
    return Path(pod, ztunnel, tgt, svc, dests)
