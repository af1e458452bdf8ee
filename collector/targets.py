"""Typed references to the pods and containers a collection run targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ztbundle.layout import Component


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container of a pod and how often it restarted (decides whether `previous` logs exist)."""

    name: str
    restart_count: int = 0


@dataclass(frozen=True, slots=True)
class PodRef:
    """A pod the collector talks to; `ref` prints as `namespace/name`."""

    component: Component
    namespace: str
    name: str
    node: str | None
    containers: tuple[ContainerRef, ...] = ()
    phase: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def proxy_id(self) -> str:
        """istiod's proxy ID for a ztunnel pod: `<pod>.<namespace>` (its xDS node id middle part)."""
        return f"{self.name}.{self.namespace}"


@dataclass(frozen=True, slots=True)
class Selection:
    """What `--for`/`--to` resolved to, as the manifest records it."""

    sources: tuple[str, ...]  # namespace/name of each --for pod
    target: str | None  # `Service ns/name`, `Pod ns/name` or the IP given
    target_pods: tuple[str, ...]
    nodes: frozenset[str]
    waypoints: frozenset[str]  # namespace/name of waypoint pods on the path

    def as_json(self) -> dict[str, Any]:
        return {
            "for": list(self.sources),
            "to": self.target,
            "target_pods": list(self.target_pods),
            "nodes": sorted(self.nodes),
            "waypoint_pods": sorted(self.waypoints),
        }
