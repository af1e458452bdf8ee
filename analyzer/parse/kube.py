"""Kubernetes v1 List JSON (pods, namespaces, nodes, services) → model objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.model import Container, KubeService, Namespace, Node, ObjectRef, Pod
from analyzer.parse import as_map, parse_time
from ztbundle import layout


def items(doc: Any) -> list[Mapping[str, Any]]:
    """The `items` of a List (tolerates a bare list)."""
    raw = doc.get("items") if isinstance(doc, Mapping) else doc
    return [i for i in raw or () if isinstance(i, Mapping)]


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _strmap(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _container(status: Mapping[str, Any]) -> Container:
    state = as_map(status.get("state"))
    kind = next(iter(state), "unknown") if state else "unknown"
    detail = as_map(state.get(kind))
    return Container(
        name=str(status.get("name", "")),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount") or 0),
        state=str(kind),
        reason=detail.get("reason"),
        image=status.get("image"),
        last_reason=as_map(as_map(status.get("lastState")).get("terminated")).get("reason"),
    )


def pod_identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    """A pod's namespace, name and uid only (the relist after the dumps needs no more), name checked."""
    meta = _meta(obj)
    _check_name(meta)
    return str(meta.get("namespace", "")), str(meta.get("name", "")), str(meta.get("uid", ""))


def _check_name(meta: Mapping[str, Any]) -> None:
    if meta.get("name") and not layout.is_segment(str(meta["name"])):  # names paths: bundle contract
        raise ValueError(f"pod name {str(meta['name'])[:80]!r} is not a DNS-1123 name")


def pod(obj: Mapping[str, Any]) -> Pod:
    meta, spec = _meta(obj), obj.get("spec") or {}
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions if isinstance(c, Mapping)
    )
    ips = tuple(
        str(i.get("ip")) for i in status.get("podIPs") or () if isinstance(i, Mapping) and i.get("ip")
    )
    ip = status.get("podIP") or (ips[0] if ips else None)
    _check_name(meta)
    return Pod(
        ref=ObjectRef("Pod", str(meta.get("namespace", "")), str(meta.get("name", ""))),
        uid=str(meta.get("uid", "")),
        node=spec.get("nodeName") or None,
        ip=ip,
        ips=ips or ((ip,) if ip else ()),
        phase=str(status.get("phase") or "Unknown"),
        labels=_strmap(meta.get("labels")),
        annotations=_strmap(meta.get("annotations")),
        host_network=bool(spec.get("hostNetwork")),
        deleting=bool(meta.get("deletionTimestamp")),
        created_at=parse_time(meta.get("creationTimestamp")),
        started_at=parse_time(status.get("startTime")),
        ready=ready,
        containers=tuple(
            _container(c) for c in status.get("containerStatuses") or () if isinstance(c, Mapping)
        ),
        service_account=str(spec.get("serviceAccountName") or spec.get("serviceAccount") or ""),
        probe_ports=_probe_ports(spec),
        memory_limits=_memory_limits(spec),
    )


_PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
_HANDLERS = ("httpGet", "tcpSocket", "grpc")


def _probe_ports(spec: Mapping[str, Any]) -> tuple[int | str, ...]:
    """Ports the kubelet probes over the network (exec probes run inside the pod and are not listed)."""
    out: list[int | str] = []
    for c in spec.get("containers") or ():
        container = as_map(c)
        for k in _PROBES:
            probe = container.get(k)
            if probe is None:  # most containers have one probe or none: skip the handler lookups
                continue
            probe = as_map(probe)
            for handler in _HANDLERS:
                port = as_map(probe.get(handler)).get("port")
                if isinstance(port, int | str) and port not in out:
                    out.append(port)
    return tuple(out)


def _memory_limits(spec: Mapping[str, Any]) -> dict[str, int]:
    from analyzer.parse.config import quantity

    out = {}
    for c in spec.get("containers") or ():
        container = as_map(c)
        got = quantity(as_map(as_map(container.get("resources")).get("limits")).get("memory"))
        if got is not None:
            out[str(container.get("name", ""))] = got
    return out


def namespace(obj: Mapping[str, Any]) -> Namespace:
    meta = _meta(obj)
    return Namespace(str(meta.get("name", "")), _strmap(meta.get("labels")))


def node(obj: Mapping[str, Any]) -> Node:
    meta, spec = _meta(obj), obj.get("spec") or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions if isinstance(c, Mapping)
    )
    return Node(
        name=str(meta.get("name", "")),
        labels=_strmap(meta.get("labels")),
        ready=ready,
        unschedulable=bool(spec.get("unschedulable")),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def service(obj: Mapping[str, Any]) -> KubeService:
    meta, spec = _meta(obj), obj.get("spec") or {}
    return KubeService(
        ref=ObjectRef("Service", str(meta.get("namespace", "")), str(meta.get("name", ""))),
        cluster_ip=spec.get("clusterIP") or None,
        labels=_strmap(meta.get("labels")),
        selector=_strmap(spec.get("selector")),
        conditions=_conditions(obj.get("status")),
    )


def _conditions(status: object) -> tuple[Any, ...]:
    from analyzer.parse.config import conditions

    return conditions(status)
