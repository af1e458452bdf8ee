"""Turn whatever a fetch raised into one artifact status and a one-line reason.

Steps never catch; the runner calls `classify()` on anything a fetch raises so every failure mode
(HTTP status, timeout, refused socket, port-forward error channel) is mapped in exactly one place.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from dataclasses import dataclass

from collector.body import Body
from ztbundle.layout import Status

_HANDSHAKE = re.compile(r"Handshake status (\d{3})(?: ([^-]*))?")


class StepFailed(Exception):
    """A fetch that failed in a known way; `body` keeps whatever bytes did arrive."""

    def __init__(self, status: Status, message: str, body: Body | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


@dataclass(frozen=True, slots=True)
class Trim:
    """Bytes dropped because a body exceeded the per-artifact size cap."""

    bytes_kept: int
    bytes_dropped: int
    rule: str


class Truncated(Exception):
    """A body that stopped early (connection closed, size cap); the partial bytes are kept."""

    def __init__(self, message: str, body: Body, trim: Trim | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.trim = trim


def status_message(body: bytes | None) -> str | None:
    """Pull `.message` out of a Kubernetes `Status` JSON body, or the first line of a text body."""
    if not body:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return text.splitlines()[0][:300] if text else None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])[:300]
    return None


def _http_failure(code: int, reason: str, body: bytes | None, action: str) -> StepFailed:
    detail = status_message(body) or reason or ""
    if code == 403:
        kept = Body.of(body) if body else None
        return StepFailed(Status.FORBIDDEN, f"403 Forbidden: cannot {action}: {detail}".rstrip(": "), kept)
    return StepFailed(
        Status.ERROR, f"HTTP {code} {reason}: {detail}".strip().rstrip(":"), Body.of(body) if body else None
    )


def classify(exc: BaseException, action: str, timeout_s: float) -> StepFailed:
    """Map an exception raised while `action` ran into a status and a message naming the cause."""
    if isinstance(exc, StepFailed):
        return exc
    from kubernetes.client.exceptions import ApiException
    from urllib3 import exceptions as u3
    from websocket import WebSocketException, WebSocketTimeoutException

    if isinstance(exc, ApiException):
        return _classify_api(exc, action, timeout_s)
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        return classify(exc.reason, action, timeout_s)
    if isinstance(exc, u3.NewConnectionError | u3.NameResolutionError):
        # urllib3 makes NewConnectionError a ConnectTimeoutError subclass; a refusal is not a timeout.
        return StepFailed(Status.ERROR, f"cannot {action}: {exc}")
    if isinstance(exc, u3.TimeoutError | TimeoutError | socket.timeout | WebSocketTimeoutException):
        return StepFailed(Status.TIMEOUT, f"no response within {timeout_s:g}s while trying to {action}")
    if isinstance(exc, u3.ProtocolError | u3.HTTPError | WebSocketException | ssl.SSLError | OSError):
        return StepFailed(Status.ERROR, f"cannot {action}: {type(exc).__name__}: {exc}")
    return StepFailed(Status.ERROR, f"cannot {action}: {type(exc).__name__}: {exc}")


def _classify_api(exc: object, action: str, timeout_s: float) -> StepFailed:
    status = int(getattr(exc, "status", 0) or 0)
    reason = str(getattr(exc, "reason", "") or "")
    raw = getattr(exc, "body", None)
    body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
    if status:
        return _http_failure(status, reason, body, action)
    # A refused WebSocket upgrade (port-forward) arrives as status 0 with the HTTP status in `reason`.
    m = _HANDSHAKE.search(reason)
    if m:
        tail = reason.split("-+-+-")[-1].strip() if "-+-+-" in reason else ""
        return _http_failure(int(m.group(1)), (m.group(2) or "").strip(), _literal_bytes(tail), action)
    lowered = reason.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return StepFailed(Status.TIMEOUT, f"no response within {timeout_s:g}s while trying to {action}")
    return StepFailed(Status.ERROR, f"cannot {action}: {reason or type(exc).__name__}")


def _literal_bytes(text: str) -> bytes | None:
    """websocket-client appends the refused upgrade's body as text, or `None` when there was none."""
    return None if text in ("", "None") else text.encode()
