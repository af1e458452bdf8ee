"""Injectable faults: what goes wrong, and where (a pod/port/path, an API resource, or everything).

A fault with `pod` applies to that pod's port-forwarded admin requests (narrowed by `port` and
`path`) and, when no `port` is given, to API requests on that pod (e.g. its logs). A fault with
`resource` applies to API requests on that resource (narrowed by `verb`/`namespace`). A fault with
neither applies to every request (used for the global latency of benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    LATENCY = "latency"
    HTTP_500 = "http-500"
    HANG = "hang"
    CLOSE_MID_BODY = "close-mid-body"
    TRUNCATED_JSON = "truncated-json"
    HUGE_BODY = "huge-body"
    FORBIDDEN = "forbidden"
    POD_DELETED = "pod-deleted"
    PORTFORWARD_ERROR = "portforward-error"
    WEBSOCKET_REFUSED = "websocket-refused"  # the WebSocket port-forward upgrade is refused (400)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    pod: str | None = None  # pod name (exact)
    namespace: str | None = None
    port: int | None = None
    path: str | None = None  # admin HTTP path prefix (e.g. "/config_dump")
    resource: str | None = None  # API resource plural, or "pods/log" style with subresource
    verb: str | None = None
    seconds: float = 0.0
    size_mb: float = 0.0
    message: str = ""

    # --- constructors ------------------------------------------------------------------------

    @classmethod
    def latency(
        cls,
        seconds: float,
        pod: str | None = None,
        port: int | None = None,
        path: str | None = None,
        resource: str | None = None,
    ) -> Fault:
        """Delay matching responses; with no target, every request (API and admin) is delayed."""
        return cls(FaultKind.LATENCY, pod=pod, port=port, path=path, resource=resource, seconds=seconds)

    @classmethod
    def http_500(
        cls,
        pod: str | None = None,
        port: int | None = None,
        path: str | None = None,
        resource: str | None = None,
        message: str = "",
    ) -> Fault:
        """Answer 500; on the admin ports with `message` as a text body when one is given."""
        return cls(FaultKind.HTTP_500, pod=pod, port=port, path=path, resource=resource, message=message)

    @classmethod
    def hang(
        cls,
        seconds: float = 30.0,
        pod: str | None = None,
        port: int | None = None,
        path: str | None = None,
        resource: str | None = None,
    ) -> Fault:
        """Send nothing for up to `seconds` (bounded, and cut short at shutdown), then close."""
        return cls(FaultKind.HANG, pod=pod, port=port, path=path, resource=resource, seconds=seconds)

    @classmethod
    def close_mid_body(
        cls,
        pod: str | None = None,
        port: int | None = None,
        path: str | None = None,
        resource: str | None = None,
    ) -> Fault:
        """Announce the full Content-Length, send half the body, then drop the connection."""
        return cls(FaultKind.CLOSE_MID_BODY, pod=pod, port=port, path=path, resource=resource)

    @classmethod
    def truncated_json(
        cls,
        pod: str | None = None,
        port: int | None = None,
        path: str | None = None,
        resource: str | None = None,
    ) -> Fault:
        """A well-formed HTTP response whose JSON body is cut in half."""
        return cls(FaultKind.TRUNCATED_JSON, pod=pod, port=port, path=path, resource=resource)

    @classmethod
    def huge_body(
        cls, size_mb: float, pod: str | None = None, port: int | None = None, path: str | None = None
    ) -> Fault:
        """Pad the (still valid JSON) body to about `size_mb` MB, sent chunked."""
        return cls(FaultKind.HUGE_BODY, pod=pod, port=port, path=path, size_mb=size_mb)

    @classmethod
    def forbidden(cls, resource: str, verb: str | None = None, namespace: str | None = None) -> Fault:
        """RBAC 403 on `resource` (e.g. "pods", "pods/log", "pods/portforward"), any verb unless given."""
        return cls(FaultKind.FORBIDDEN, resource=resource, verb=verb, namespace=namespace)

    @classmethod
    def pod_deleted(cls, pod: str) -> Fault:
        """The pod still appears in lists but is gone for get, logs and port-forward (404)."""
        return cls(FaultKind.POD_DELETED, pod=pod)

    @classmethod
    def portforward_error(cls, pod: str, port: int | None = None, message: str = "") -> Fault:
        """The kubelet reports an error on the port's error channel instead of forwarding."""
        return cls(FaultKind.PORTFORWARD_ERROR, pod=pod, port=port, message=message)

    @classmethod
    def websocket_refused(cls) -> Fault:
        """A proxy before the apiserver refuses WebSocket upgrades of port-forward (kubectl's SPDY passes)."""
        return cls(FaultKind.WEBSOCKET_REFUSED, resource="pods/portforward")

    # --- matching ----------------------------------------------------------------------------

    @property
    def everywhere(self) -> bool:
        """No target at all: the fault applies to every request, API and admin."""
        return self.pod is None and self.resource is None and self.port is None and self.path is None

    def matches_admin(self, pod: str, port: int, path: str) -> bool:
        if self.resource is not None:
            return False
        if self.pod is not None and self.pod != pod:
            return False
        if self.port is not None and self.port != port:
            return False
        return self.path is None or path.startswith(self.path)

    def matches_api(self, resource: str, subresource: str, verb: str, namespace: str, name: str) -> bool:
        """Match an API request; `resource` may be "pods" or "pods/log"."""
        if self.kind in (FaultKind.PORTFORWARD_ERROR,):
            return False
        if self.pod is None and (self.port is not None or self.path is not None):
            return False  # an admin-port fault (any pod): never an API request
        if self.pod is not None:
            if self.port is not None or self.path is not None:
                return False
            if resource != "pods" or self.pod != name:
                return False
        if self.resource is not None:
            # As in RBAC, "pods" does not cover "pods/log": a subresource must be named.
            want, _, want_sub = self.resource.partition("/")
            if want != resource or want_sub != subresource:
                return False
        if self.verb is not None and self.verb != verb:
            return False
        return self.namespace is None or self.namespace == namespace


def first(faults: tuple[Fault, ...], kind: FaultKind) -> Fault | None:
    return next((f for f in faults if f.kind is kind), None)
