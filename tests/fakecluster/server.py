"""The fake kube-apiserver: HTTPS, bearer tokens, RBAC, lists/selectors/pagination, logs, pod proxy,
SelfSubjectAccessReview and port-forward to the simulated in-pod HTTP servers, in both flavours: the
client's v4 WebSocket and kubectl's SPDY/3.1 (`spdy.py`).

Status bodies, messages and codes mirror the real apiserver/kubelet so the official client raises
the same `ApiException`s it would against a live cluster.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakecluster import k8s, spdy, wsframes
from tests.fakecluster.admin import Closed, Response, admin_response, deliver
from tests.fakecluster.faults import Fault, FaultKind
from tests.fakecluster.logs import component_log
from tests.fakecluster.scenario import Phase, Pod, Role, stable_uid

if TYPE_CHECKING:
    from tests.fakecluster.cluster import FakeCluster

JSON = "application/json"
KUBE_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "5864a4677267e6adeae276ad85882a8714d69d9d",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T20:28:14Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
PF_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")  # what the kubelet's websocket handler accepts
FRAME = 32 * 1024  # port-forward data frame payload, as the kubelet's stream copy buffer
SMALL = 64 * 1024  # replies up to this size are joined into one write


@dataclass(slots=True)
class RequestRecord:
    """One request the server saw; port-forwards also record the pod, port and tunnelled HTTP path."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    time: float = field(default_factory=time.time)
    user: str | None = None
    target: str | None = None  # "ns/pod" for pod subresources
    port: int | None = None
    http_path: str | None = None
    admin_status: int | None = None  # the in-pod server's HTTP status for a tunnelled request
    delayed_s: float = 0.0  # injected latency this request waited (each latency fault once)

    def __str__(self) -> str:
        extra = f" -> {self.target}:{self.port}{self.http_path or ''}" if self.port else ""
        return f"{self.method} {self.path} {self.status}{extra}"


def unique(faults: list[Fault]) -> list[Fault]:
    """Each fault once: a global fault also matches every targeted filter, and must not apply twice."""
    seen: set[int] = set()
    return [f for f in faults if id(f) not in seen and not seen.add(id(f))]  # type: ignore[func-returns-value]


def wait_latency(faults: list[Fault], record: RequestRecord, stop: threading.Event) -> list[Fault]:
    """Wait out the latency faults (each once), note it on `record`; return the other faults."""
    faults = unique(faults)
    for f in faults:
        if f.kind is FaultKind.LATENCY:
            record.delayed_s += f.seconds
            stop.wait(f.seconds)
    return [f for f in faults if f.kind is not FaultKind.LATENCY]


def status_obj(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        out["details"] = details
    out["code"] = code
    return out


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = status_obj(code, reason, message, details)
        self.code = code


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    kind = resource if not group else f"{resource}.{group}"
    return ApiError(
        404,
        "NotFound",
        f'{kind} "{name}" not found',
        {"name": name, "kind": resource} | ({"group": group} if group else {}),
    )


@dataclass(frozen=True, slots=True)
class Route:
    group: str
    version: str
    resource: str
    namespace: str | None
    name: str | None
    subresource: str
    port: int | None = None  # pods/<name>:<port>/proxy
    rest: str = ""  # proxy path


def parse_route(path: str) -> Route | None:
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        group, version, parts = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, parts = parts[1], parts[2], parts[3:]
    else:
        return None
    if not parts:
        return None
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    resource, name = parts[0], parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else ""
    rest = "/" + "/".join(parts[3:]) if len(parts) > 3 else "/"
    port = None
    if name and resource == "pods" and ":" in name:
        name, _, port_s = name.partition(":")
        port = int(port_s) if port_s.isdigit() else None
    return Route(group, version, resource, namespace, name, sub, port, rest)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet; the request log is the record)
        pass

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def cluster(self) -> FakeCluster:
        return self.server.cluster

    def _send(self, resp: Response, faults: list[Fault], record: RequestRecord) -> None:
        faults = wait_latency(faults, record, self.cluster.stopping)
        if any(f.kind is FaultKind.HTTP_500 for f in faults):
            body = status_obj(500, "InternalError", "Internal error occurred: injected fault")
            resp = Response(500, json.dumps(body).encode(), JSON)
            faults = [f for f in faults if f.kind is not FaultKind.HTTP_500]
        record.status = resp.status
        headers = [
            ("Cache-Control", "no-cache, private"),
            ("Audit-Id", stable_uid("audit", str(id(record)))),
        ]
        try:
            deliver(self._write, resp, faults, self.cluster.stopping, extra_headers=headers)
        except Closed:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, *pieces: bytes | memoryview) -> None:
        if sum(len(p) for p in pieces) <= SMALL:
            self.wfile.write(b"".join(pieces))  # one TLS write for the usual small reply
            return
        for piece in pieces:
            self.wfile.write(piece)

    def _json(self, obj: Any, status: int, faults: list[Fault], record: RequestRecord) -> None:
        self._send(Response(status, json.dumps(obj).encode(), JSON), faults, record)

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        return self.cluster.scenario.user if token == self.cluster.token else None

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        record = RequestRecord(method, url.path, query)
        self.cluster.record(record)
        body = b""
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        user = self._user()
        record.user = user
        global_faults = [f for f in self.cluster.faults if f.everywhere]
        if user is None:
            self._json(status_obj(401, "Unauthorized", "Unauthorized"), 401, [], record)
            return
        try:
            self._route(method, url.path, query, body, record, global_faults)
        except ApiError as err:
            self._json(err.body, err.code, global_faults, record)

    # --- routing -----------------------------------------------------------------------------------

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        record: RequestRecord,
        faults: list[Fault],
    ) -> None:
        scn = self.cluster.scenario
        if method == "GET" and path in ("/version", "/version/"):
            return self._json(KUBE_VERSION, 200, faults, record)
        discovery = self.cluster.discovery(path, self.headers.get("Accept", ""))
        if method == "GET" and discovery is not None:  # resource="discovery" faults target /api(s) here
            extra = [f for f in self.cluster.faults if f.resource == "discovery" and f.pod is None]
            doc, content_type = discovery
            return self._send(Response(200, json.dumps(doc).encode(), content_type), faults + extra, record)
        if method == "POST" and path.rstrip("/") == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            return self._ssar(body, record, faults)
        route = parse_route(path)
        if (
            route is None
            or (route.group, route.resource) not in k8s.RESOURCES
            or route.group in scn.uninstalled_groups
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        res = k8s.RESOURCES[(route.group, route.resource)]
        spdy_upgrade = (
            method == "POST"
            and route.subresource == "portforward"
            and self.headers.get("Upgrade", "").lower().startswith("spdy/")
        )
        if method != "GET" and not spdy_upgrade:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"the server does not allow this method on the requested "
                f"resource ({method} {route.resource})",
            )
        is_upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        verb = "list" if route.name is None else "get"
        if route.name is None and query.get("watch") in ("true", "1"):
            verb = "watch"
        if route.subresource in ("portforward", "exec", "attach"):
            verb = "create"  # the apiserver authorizes these upgrades as `create`
        if route.resource == "namespaces" and route.namespace is None and route.name:
            route = Route(route.group, route.version, "namespaces", None, route.name, route.subresource)
        ns_for_rbac = route.namespace or (route.name if route.resource == "namespaces" else "") or ""
        self.cluster.authorize(
            verb, route.resource, route.subresource, route.namespace, route.name, route.group
        )
        record.target = f"{route.namespace}/{route.name}" if route.subresource and route.namespace else None
        faults = faults + [
            f
            for f in self.cluster.faults
            if f.matches_api(route.resource, route.subresource, verb, ns_for_rbac, route.name or "")
        ]
        if route.resource == "pods" and route.name:
            pod = self._pod(route)
            if route.subresource == "log":
                return self._logs(pod, query, record, faults)
            if route.subresource == "portforward":
                if spdy_upgrade:
                    return self._portforward_spdy(pod, record)
                if is_upgrade and any(f.kind is FaultKind.WEBSOCKET_REFUSED for f in faults):
                    # What a proxy in front of the apiserver that does not pass WebSockets answers.
                    raise ApiError(400, "BadRequest", "websocket upgrade refused by proxy")
                if not is_upgrade:
                    raise ApiError(400, "BadRequest", "Upgrade request required")
                return self._portforward(pod, query, record)
            if route.subresource == "proxy":
                return self._pod_proxy(pod, route, query, record, faults)
            if route.subresource:
                raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not res.namespaced and route.namespace is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        objs = k8s.objects(scn, route.group, route.resource)
        if route.name is not None:
            found = next(
                (
                    o
                    for o in objs
                    if o["metadata"]["name"] == route.name
                    and o["metadata"].get("namespace") == route.namespace
                ),
                None,
            )
            if found is None:
                raise not_found(route.resource, route.name, route.group)
            return self._json(found, 200, faults, record)
        metadata_only = "as=PartialObjectMetadataList" in self.headers.get("Accept", "")
        body = self._list(res, route.namespace, query, metadata_only=metadata_only)
        return self._send(Response(200, body, JSON), faults, record)

    def _pod(self, route: Route) -> Pod:
        pod = self.cluster.scenario.pod(route.namespace or "", route.name or "")
        gone = any(f.kind is FaultKind.POD_DELETED and f.pod == route.name for f in self.cluster.faults)
        if pod is None or gone:
            raise not_found("pods", route.name or "")
        return pod

    # --- lists --------------------------------------------------------------------------------------

    def _list(
        self, res: k8s.Resource, namespace: str | None, query: dict[str, str], *, metadata_only: bool = False
    ) -> bytes:
        """One page of a list as the apiserver encodes it: `json.dumps` of the list object, spelled out.

        `metadata_only` (Accept `as=PartialObjectMetadataList`): each item is only its metadata."""
        try:
            items = k8s.list_items_json(
                self.cluster.scenario,
                res.group,
                res.name,
                namespace,
                query.get("labelSelector", ""),
                query.get("fieldSelector", ""),
            )
        except k8s.SelectorError as err:
            raise ApiError(400, "BadRequest", str(err)) from err
        list_rv = self.cluster.list_rv
        start = 0
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"] + "=="))
                start = int(token["start"])
            except (ValueError, KeyError, TypeError) as err:
                raise ApiError(400, "BadRequest", f"continue key is not valid: {err}") from err
        limit = int(query.get("limit") or 0)
        page = items[start : start + limit] if limit > 0 else items[start:]
        meta: dict[str, Any] = {"resourceVersion": list_rv}
        if limit > 0 and start + limit < len(items):
            token = {"v": "meta.k8s.io/v1", "rv": int(list_rv), "start": start + limit}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = len(items) - start - limit
        head = json.dumps({"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta})
        if metadata_only:
            kind = "PartialObjectMetadata"
            head = json.dumps({"kind": f"{kind}List", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
            page = [
                json.dumps(
                    {"kind": kind, "apiVersion": "meta.k8s.io/v1", "metadata": json.loads(i)["metadata"]}
                )
                for i in page
            ]
        # Same text as json.dumps(head | {"items": [...]}) without re-encoding the cached items.
        return (head[:-1] + ', "items": [' + ", ".join(page) + "]}").encode()

    # --- authorization review -----------------------------------------------------------------------

    def _ssar(self, body: bytes, record: RequestRecord, faults: list[Fault]) -> None:
        try:
            review = json.loads(body or b"{}")
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"error decoding body: {err}") from err
        # Not itself authorized: system:basic-user lets every authenticated user create reviews.
        attrs = review.get("spec", {}).get("resourceAttributes")
        allowed, reason = True, ""
        if attrs:
            allowed = self.cluster.allowed(
                attrs.get("verb", ""),
                attrs.get("resource", ""),
                attrs.get("subresource", ""),
                attrs.get("namespace", ""),
                attrs.get("name", ""),
                attrs.get("group", ""),
            )
            reason = "" if allowed else "no RBAC policy matched"
        status: dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        out = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": review.get("spec", {}),
            "status": status,
        }
        self._json(out, 201, faults, record)

    # --- logs ----------------------------------------------------------------------------------------

    def _logs(self, pod: Pod, query: dict[str, str], record: RequestRecord, faults: list[Fault]) -> None:
        container = query.get("container")
        if container is None:
            if len(pod.containers) > 1:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {pod.name}, "
                    f"choose one of: [{' '.join(pod.containers)}]",
                )
            container = pod.containers[0]
        if container not in pod.containers:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod.name}")
        scn = self.cluster.scenario
        previous = query.get("previous") in ("true", "1")
        restarts = k8s.restarts_of(scn, pod) if container == pod.containers[0] else 0
        if previous and restarts == 0:
            raise ApiError(
                400,
                "BadRequest",
                f'previous terminated container "{container}" in pod "{pod.name}" not found',
            )
        if pod.phase is Phase.PENDING:
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{pod.name}" is waiting to start: ContainerCreating',
            )
        lines = (
            list(component_log(scn, pod.namespace, pod.name, previous))
            if container == pod.containers[0]
            else [(pod.created or scn.now, f"{container} started")]
        )
        lines = _filter_logs(lines, query, scn.now)
        stamp = query.get("timestamps") in ("true", "1")
        text = "".join(
            (t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z " if stamp else "") + line + "\n" for t, line in lines
        ).encode()
        if query.get("limitBytes"):
            text = text[: int(query["limitBytes"])]
        self._send(Response(200, text, "text/plain"), faults, record)

    # --- pod proxy -----------------------------------------------------------------------------------

    def _pod_proxy(
        self, pod: Pod, route: Route, query: dict[str, str], record: RequestRecord, faults: list[Fault]
    ) -> None:
        port = route.port or (pod.ports[0] if pod.ports else 80)
        record.port, record.target = port, f"{pod.namespace}/{pod.name}"
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        target = route.rest + (f"?{qs}" if qs else "")
        record.http_path = target
        # ztunnel's admin port is bound to localhost inside the pod: the apiserver's dial to the pod IP fails.
        resp = (
            None
            if (pod.role is Role.ZTUNNEL and port == 15000)
            else admin_response(self.cluster.scenario, pod, port, target)
        )
        if resp is None:
            raise ApiError(
                503,
                "ServiceUnavailable",
                f"error trying to reach service: dial tcp {pod.ip}:{port}: connect: connection refused",
            )
        faults = faults + [f for f in self.cluster.faults if f.matches_admin(pod.name, port, route.rest)]
        self._send(resp, faults, record)

    # --- port-forward ---------------------------------------------------------------------------------

    def _portforward(self, pod: Pod, query: dict[str, str], record: RequestRecord) -> None:
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        protocol = next((p for p in offered if p in PF_PROTOCOLS), None)
        if protocol is None:
            raise ApiError(400, "BadRequest", f"unable to upgrade: no supported protocol in {offered}")
        try:
            ports = [int(p) for p in query.get("ports", "").split(",") if p]
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"invalid port: {err}") from err
        if not ports:
            raise ApiError(400, "BadRequest", "at least one port must be specified")
        record.target, record.port, record.status = f"{pod.namespace}/{pod.name}", ports[0], 101
        key = self.headers.get("Sec-WebSocket-Key", "")
        self.wfile.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {wsframes.accept_key(key)}\r\n"
                f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
            ).encode()
        )
        self.close_connection = True
        PortForwardSession(self, pod, ports, record).run()

    def _portforward_spdy(self, pod: Pod, record: RequestRecord) -> None:
        """kubectl's SPDY/3.1 port-forward: the ports come in each stream's headers, not the query."""
        record.target, record.status = f"{pod.namespace}/{pod.name}", 101
        self.wfile.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            b"X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n"
        )
        self.close_connection = True
        self.connection.settimeout(60)
        forward = PortForwardSession(self, pod, [], record)
        spdy.Session(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]
            respond=lambda port, raw, write: self._spdy_request(forward, pod, port, raw, write),
            precheck=forward._precheck,
            stopping=self.cluster.stopping,
        ).run()

    def _spdy_request(self, forward: PortForwardSession, pod: Pod, port: int, raw: bytes, write: Any) -> str:
        """One tunnelled HTTP request: recorded like the WebSocket flavour's, answered by the pod."""
        record = RequestRecord("POST", f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/portforward", {})
        record.user, record.target, record.status = self._user(), f"{pod.namespace}/{pod.name}", 101
        self.cluster.record(record)
        problem = forward._precheck(port)
        if problem:
            return problem
        forward.answer(record, port, raw, write)
        return ""


def _filter_logs(
    lines: list[tuple[datetime, str]], query: dict[str, str], now: datetime
) -> list[tuple[datetime, str]]:
    from datetime import timedelta

    if query.get("sinceSeconds"):
        since = now - timedelta(seconds=int(query["sinceSeconds"]))
        lines = [x for x in lines if x[0] >= since]
    elif query.get("sinceTime"):
        since = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
        lines = [x for x in lines if x[0] >= since]
    if query.get("tailLines"):
        n = int(query["tailLines"])
        lines = lines[-n:] if n > 0 else []
    return lines


class PortForwardSession:
    """The kubelet side of one WebSocket port-forward: channel 2i data, 2i+1 errors, per requested port."""

    def __init__(self, handler: Handler, pod: Pod, ports: list[int], record: RequestRecord) -> None:
        self.h, self.pod, self.ports, self.record = handler, pod, ports, record
        self.cluster = handler.cluster
        self.buffers = {i: b"" for i in range(len(ports))}
        self.done: set[int] = set()
        self.lock = threading.Lock()

    def send(self, opcode: int, payload: bytes) -> None:
        with self.lock:
            self.h.wfile.write(wsframes.frame(opcode, payload))

    def send_channel(self, channel: int, *pieces: bytes | memoryview) -> None:
        """Send the pieces' concatenation on `channel`: FRAME-byte frames, each led by the channel byte.

        Frames are cut as if the pieces were one buffer, but each frame is assembled from views of
        them, so a 12 MB body is copied once (into its frames) instead of three times.
        """
        tag = bytes([channel])
        batch: list[bytes | memoryview] = []
        size = 0
        for piece in pieces:
            view = memoryview(piece)
            while view:
                take = view[: FRAME - size]
                batch.append(take)
                size += len(take)
                view = view[len(take) :]
                if size == FRAME:
                    self._send_frame(tag, batch, size)
                    batch, size = [], 0
        if batch or not any(pieces):  # the tail, or one frame with no data for an empty message
            self._send_frame(tag, batch, size)

    def _send_frame(self, tag: bytes, batch: list[bytes | memoryview], size: int) -> None:
        data = b"".join((wsframes.frame_head(wsframes.OP_BINARY, 1 + size), tag, *batch))
        with self.lock:
            self.h.wfile.write(data)

    def run(self) -> None:
        self.h.connection.settimeout(30)
        try:
            for i, port in enumerate(self.ports):
                prefix = port.to_bytes(2, "little")
                self.send(wsframes.OP_BINARY, bytes([2 * i]) + prefix)
                self.send(wsframes.OP_BINARY, bytes([2 * i + 1]) + prefix)
            for i, port in enumerate(self.ports):
                err = self._precheck(port)
                if err:
                    self.send_channel(2 * i + 1, err.encode())
                    self.done.add(i)
            while len(self.done) < len(self.ports) and not self.cluster.stopping.is_set():
                opcode, payload = wsframes.read_frame(self.h.rfile)
                if opcode == wsframes.OP_CLOSE:
                    return self._close(reply=True)
                if opcode == wsframes.OP_PING:
                    self.send(wsframes.OP_PONG, payload)
                    continue
                if opcode != wsframes.OP_BINARY or not payload:
                    continue
                self._data(payload[0] // 2, payload[1:])
            self._close(reply=False)
        except (EOFError, OSError, TimeoutError):
            return

    def _precheck(self, port: int) -> str:
        fault = next(
            (
                f
                for f in self.cluster.faults
                if f.kind is FaultKind.PORTFORWARD_ERROR and f.pod == self.pod.name and f.port in (None, port)
            ),
            None,
        )
        if fault:
            return fault.message or self._refused(port)
        if admin_response(self.cluster.scenario, self.pod, port, "/") is None:
            return self._refused(port)
        return ""

    def _refused(self, port: int) -> str:
        netns = f"/var/run/netns/cni-{self.pod.uid}"
        return (
            f"error forwarding port {port} to pod {self.pod.uid.replace('-', '')[:12]}..., uid : failed to "
            f'execute portforward in network namespace "{netns}": failed to connect to localhost:{port} '
            f'inside namespace "{netns}", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused '
            f"IPv6 dial tcp6 [::1]:{port}: connect: connection refused "
        )

    def _data(self, index: int, data: bytes) -> None:
        if index not in self.buffers or index in self.done:
            return
        self.buffers[index] += data
        raw = self.buffers[index]
        if b"\r\n\r\n" not in raw:
            return
        self.done.add(index)
        self.answer(self.record, self.ports[index], raw, lambda *b: self.send_channel(2 * index, *b))

    def answer(self, record: RequestRecord, port: int, raw: bytes, write: Any) -> None:
        """Answer one tunnelled HTTP request as the pod's `port` would, faults applied."""
        request_line = raw.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        target = parts[1] if len(parts) >= 2 else "/"
        record.http_path = target
        record.port = port
        faults = [  # untargeted faults included: they match every admin request
            f for f in self.cluster.faults if f.matches_admin(self.pod.name, port, target.split("?")[0])
        ]
        # A slow admin endpoint answers with the state of when it answers, as ztunnel's dump does.
        faults = wait_latency(faults, record, self.cluster.stopping)
        resp = admin_response(self.cluster.scenario, self.pod, port, target)
        if resp is None:
            resp = Response(404, b"")
        if parts[0] != "GET" and resp.status < 400:
            resp = Response(405, b"Method Not Allowed\n", "text/plain")
        record.admin_status = resp.status
        # If the pod drops its TCP connection (Closed), the kubelet sees an ordinary end of stream,
        # so the client gets a normal WebSocket close after whatever bytes were sent.
        with contextlib.suppress(Closed):
            deliver(write, resp, faults, self.cluster.stopping)

    def _close(self, *, reply: bool) -> None:
        """Closing handshake: send close, then wait briefly for the client's close before dropping TCP."""
        try:
            self.send(wsframes.OP_CLOSE, (1000).to_bytes(2, "big"))
            if not reply:
                self.h.connection.settimeout(2)
                while True:
                    opcode, _ = wsframes.read_frame(self.h.rfile)
                    if opcode == wsframes.OP_CLOSE:
                        break
        except (EOFError, OSError, TimeoutError):
            pass


class _Server(ThreadingHTTPServer):
    """Threaded HTTPS server; the TLS handshake runs in the request thread, not the accept loop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    cluster: FakeCluster
    ssl_context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(60)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish mid-response are normal under faults; the request log has the story
