"""Which waypoint an object asks for (`istio.io/use-waypoint`), and every object that asks for each one.

Shared by the waypoint rules so they agree on what "uses a waypoint" means.
"""

from __future__ import annotations

from collections.abc import Mapping

from analyzer.model import Bundle

USE = "istio.io/use-waypoint"
USE_NS = "istio.io/use-waypoint-namespace"
GATEWAY = "gateway.networking.k8s.io/gateway-name"


def target(labels: Mapping[str, str], own_ns: str) -> tuple[str, str] | None:
    """(namespace, name) of the waypoint these labels select, or None (absent or `none`)."""
    name = labels.get(USE)
    if not name or name == "none":
        return None
    return (labels.get(USE_NS) or own_ns, name)


def waypoint_users(bundle: Bundle, *, service_entries: bool = False) -> dict[tuple[str, str], list[str]]:
    """Each waypoint asked for, and who asks: namespaces, services, pods (and ServiceEntries when the
    rule reads them — only a rule that declares that input may)."""
    out: dict[tuple[str, str], list[str]] = {}
    for ns in bundle.namespaces.values():
        if t := target(ns.labels, ns.name):
            out.setdefault(t, []).append(f"Namespace {ns.name}")
    for svc in bundle.services:
        if t := target(svc.labels, svc.ref.namespace):
            out.setdefault(t, []).append(str(svc.ref))
    for se in bundle.service_entries if service_entries else ():
        if t := target(se.labels, se.ref.namespace):
            out.setdefault(t, []).append(str(se.ref))
    for pod in bundle.pods:
        if pod.terminal or pod.deleting or GATEWAY in pod.labels:
            continue  # waypoint pods never get a waypoint
        if t := target(pod.labels, pod.namespace):
            out.setdefault(t, []).append(str(pod.ref))
    return out
