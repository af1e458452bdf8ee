"""In-pod HTTP servers (ztunnel admin/stats/readiness, istiod monitoring) and fault-aware HTTP delivery.

`admin_response(scn, pod, port, target)` answers one parsed request the way that pod's port would;
`None` means nothing listens there (the kubelet then reports "connection refused"). `deliver()`
writes a response through any byte sink (the API socket or a port-forward channel) and applies
the matching faults: latency, 500, hang, close mid-body, truncated JSON, huge body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from tests.fakecluster import payloads
from tests.fakecluster.faults import Fault, FaultKind
from tests.fakecluster.logs import ztunnel_metrics
from tests.fakecluster.scenario import Phase, Pod, Role, Scenario

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
NOT_CONNECTED = "Proxy not connected to this Pilot instance. It may be connected to another instance.\n"


@dataclass(frozen=True, slots=True)
class Pieces:
    """A body that is the concatenation of `parts`, sent with Content-Length but never joined.

    The big parts are shared between responses (the mesh lists of 1,000 ztunnel dumps), so
    joining them would copy ~12 MB per request for nothing.
    """

    parts: tuple[bytes, ...]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def joined(self) -> bytes:
        return b"".join(self.parts)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes | Pieces | Iterable[bytes] = b""  # an iterable other than Pieces is sent chunked
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def _json(obj: object, status: int = 200, *, indent: int | None = 2) -> Response:
    return Response(status, json.dumps(obj, indent=indent).encode(), JSON)


def _ztunnel(scn: Scenario, pod: Pod, port: int, path: str) -> Response | None:
    node = pod.node or ""
    if port == 15000:
        if path == "/config_dump":
            return Response(200, Pieces(payloads.ztunnel_config_dump_pieces(scn, node)), JSON)
        if path == "/":
            return Response(200, b"<html><body>ztunnel admin</body></html>", "text/html")
        return Response(404, b"")  # ztunnel's admin answers unknown paths with an empty 404
    if port == 15020:
        if path in ("/metrics", "/stats/prometheus"):
            return Response(
                200,
                ztunnel_metrics(scn, node),
                "application/openmetrics-text;charset=utf-8;version=1.0.0",
            )
        return Response(404, b"")
    if port == 15021:
        ready = scn.ztunnel_override(node).ready
        return (
            Response(200, b"ready\n", TEXT) if ready else Response(500, b"not ready, pending: proxy\n", TEXT)
        )
    return None


def _istiod(scn: Scenario, pod: Pod, port: int, path: str, query: dict[str, list[str]]) -> Response | None:
    if port not in (15014, 8080):
        return None
    if path == "/debug/config_dump":
        proxy = (query.get("proxyID") or [""])[0]
        if not proxy:
            return Response(400, b"You must provide a proxyID in the query string\n", TEXT)
        node = payloads.proxy_attached(scn, pod, proxy)
        if node is None:
            return Response(404, NOT_CONNECTED.encode(), TEXT)
        types = query["types"][0] if query.get("types") else None
        indent = 4 if "pretty" in query else None
        return Response(200, payloads.istiod_config_dump_bytes(scn, node, types, indent), JSON)
    if path == "/debug/ambientz":
        return Response(200, payloads.ambientz_bytes(scn, 4 if "pretty" in query else None), JSON)
    if path == "/debug/syncz":
        return _json(payloads.syncz(scn, pod), indent=None)
    if path == "/debug/connections":
        return _json(payloads.connections(scn, pod), indent=None)
    if path == "/version":
        return Response(200, payloads.istiod_version(scn), TEXT)
    if path == "/metrics":
        return Response(
            200,
            b'# TYPE pilot_xds gauge\npilot_xds{version="'
            + scn.istio_version.encode()
            + b'"} '
            + str(len(scn.pods_by_role(Role.ZTUNNEL))).encode()
            + b"\n",
            TEXT,
        )
    return Response(404, b"404 page not found\n", TEXT)


def admin_response(scn: Scenario, pod: Pod, port: int, target: str) -> Response | None:
    """Answer `GET target` on the pod's `port`, or None when nothing listens there."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    phase = pod.phase
    if pod.role is Role.ZTUNNEL and pod.node:
        phase = scn.ztunnel_override(pod.node).phase
    if phase is not Phase.RUNNING:
        return None
    if pod.role is Role.ZTUNNEL:
        return _ztunnel(scn, pod, port, parts.path)
    if pod.role is Role.ISTIOD:
        return _istiod(scn, pod, port, parts.path, query)
    if port in pod.ports:
        return Response(200, f"hello from {pod.name}\n".encode(), TEXT)
    return None


# --- delivery with faults --------------------------------------------------------------------------


class Closed(Exception):
    """The response deliberately ended by dropping the connection."""


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP/1.1 {status} {phrase}\r\n"


def _padded(body: bytes, size_mb: float) -> Iterator[bytes]:
    """Yield a JSON object body padded to ~size_mb MB with a leading `_padding` key (still valid JSON)."""
    target, chunk = int(size_mb * 1024 * 1024), b"x" * 65536
    if body.lstrip().startswith(b"{"):
        yield b'{"_padding":"'
        sent = 0
        while sent < target:
            piece = chunk[: min(len(chunk), target - sent)]
            sent += len(piece)
            yield piece
        rest = body.lstrip()[1:].lstrip()
        yield b'"' + (b"," if not rest.startswith(b"}") else b"") + rest
    else:
        yield body
        sent = 0
        while sent < target:
            piece = b"#" + chunk[: min(len(chunk) - 2, target - sent)] + b"\n"
            sent += len(piece)
            yield piece


Write = Callable[..., None]
"""A byte sink: `write(*pieces)` sends the pieces as one message, as if concatenated."""


def deliver(
    write: Write,
    resp: Response,
    faults: Iterable[Fault],
    stop: threading.Event,
    *,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Write `resp` as HTTP/1.1 through `write`, applying faults; raise Closed to drop the connection.

    Head and body go out as one `write` call (a port-forward frames them together), the body's
    pieces by reference rather than copied into one buffer.
    """
    faults = list(faults)
    for f in faults:
        if f.kind is FaultKind.LATENCY:
            stop.wait(f.seconds)
    kinds = {f.kind: f for f in faults}
    if FaultKind.HANG in kinds:
        stop.wait(kinds[FaultKind.HANG].seconds)
        raise Closed("hang")
    if FaultKind.HTTP_500 in kinds:
        text = kinds[FaultKind.HTTP_500].message  # a body of the test's choosing, sent as plain text
        resp = (
            Response(500, text.encode(), "text/plain")
            if text
            else Response(500, b'{"error":"injected fault: internal server error"}\n', JSON)
        )
    body = resp.body
    if isinstance(body, Pieces) and kinds.keys() & {
        FaultKind.HUGE_BODY,
        FaultKind.TRUNCATED_JSON,
        FaultKind.CLOSE_MID_BODY,
    }:
        body = body.joined()  # the faults below cut or pad the whole body: rare, tests only
    if FaultKind.HUGE_BODY in kinds and isinstance(body, bytes):
        body = _padded(body, kinds[FaultKind.HUGE_BODY].size_mb)
    headers = [*extra_headers, *resp.headers]
    if resp.content_type:
        headers.append(("Content-Type", resp.content_type))
    if isinstance(body, Pieces):
        headers.append(("Content-Length", str(len(body))))
        write(_head(resp.status, headers), *body.parts)
        return
    if isinstance(body, bytes):
        full = body
        if FaultKind.TRUNCATED_JSON in kinds:
            body = body[: len(body) // 2]
        cut = FaultKind.CLOSE_MID_BODY in kinds
        headers.append(("Content-Length", str(len(full if cut else body))))
        if cut:
            write(_head(resp.status, headers), memoryview(body)[: len(body) // 2])
            raise Closed("closed mid-body")
        write(_head(resp.status, headers), body)
        return
    headers.append(("Transfer-Encoding", "chunked"))
    write(_head(resp.status, headers))
    for piece in body:
        if stop.is_set():
            raise Closed("shutdown")
        if piece:
            write(f"{len(piece):x}\r\n".encode(), piece, b"\r\n")
    write(b"0\r\n\r\n")


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    return (_status_line(status) + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()
