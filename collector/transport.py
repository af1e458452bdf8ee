"""Port-forward transports: the client's v4 WebSocket, and `kubectl port-forward` where that is refused.

The kubernetes Python client speaks only the legacy `v4.channel.k8s.io` WebSocket flavour of
port-forward; some API proxies refuse that upgrade (kubernetes-client/python#2355) while kubectl,
which tunnels SPDY over WebSocket and falls back to plain SPDY/3.1, still gets through. When the
upgrade is refused and `kubectl` is on PATH, every later port-forward of the run goes through
`kubectl port-forward` to a free local port on 127.0.0.1 and plain HTTP. Errors keep their classes:
an RBAC refusal is still a 403, a closed pod port still names the kubelet's error, a hang still
times out. `served_by()` tells the runner which transport served the artifact just fetched.
"""

from __future__ import annotations

import http.client
import json
import logging
import queue
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from collector import transport_ws
from collector.kube import HttpReply, _read_reply, port_forward_get

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

LOG = logging.getLogger("ztbundle.transport")
_REFUSED = re.compile(r"Handshake status (400|405|426|501)\b")
_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
LAUNCH_S = 10.0
_SERVER_SAID = re.compile(r"^Error from server \(\w+\): ")  # kubectl's prefix to an API Status message
_FORWARD_ERROR = re.compile(r"an error occurred forwarding \d+ -> \d+: (.*?)\"?$")


class Transport(StrEnum):
    WEBSOCKET = "websocket"
    KUBECTL = "kubectl"


_SERVED = threading.local()


def reset() -> None:
    """Forget which transport served this thread's last fetch (the runner calls it per item)."""
    _SERVED.value = None


def served_by() -> Transport | None:
    """The transport that carried this thread's last port-forward, or None when there was none."""
    value: Transport | None = getattr(_SERVED, "value", None)
    return value


def upgrade_refused(exc: BaseException) -> bool:
    """Whether a port-forward failed because the WebSocket upgrade itself was refused (not RBAC, not 404)."""
    from kubernetes.client.exceptions import ApiException

    return isinstance(exc, ApiException) and not exc.status and bool(_REFUSED.search(str(exc.reason or "")))


@dataclass(slots=True)
class _Forward:
    """One running `kubectl port-forward`, its local port and what it said on stderr."""

    proc: subprocess.Popen[str]
    local_port: int
    stderr: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def error(self, wait_s: float = 0.5) -> str | None:
        """The kubelet's error kubectl printed for a failed connection, once it is there."""
        until = time.monotonic() + wait_s
        while True:
            for line in reversed(self.stderr):
                m = _FORWARD_ERROR.search(line.strip()) if line else None
                if m:
                    return m.group(1).replace('\\"', '"').strip()
            if time.monotonic() >= until:
                return None
            time.sleep(0.02)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Kubectl:
    """`kubectl port-forward` processes, one per pod port, reused across requests, stopped at close."""

    def __init__(self, binary: str, kubeconfig: str | None, context: str | None) -> None:
        self.binary = binary
        self.flags = [
            *(["--kubeconfig", kubeconfig] if kubeconfig else []),
            *(["--context", context] if context else []),
        ]
        self._forwards: dict[tuple[str, str, int], _Forward] = {}
        self._locks: dict[tuple[str, str, int], threading.Lock] = {}
        self._lock = threading.Lock()

    @classmethod
    def find(cls, kubeconfig: str | None, context: str | None) -> Kubectl | None:
        binary = shutil.which("kubectl")
        return cls(binary, kubeconfig, context) if binary else None

    def get(
        self, namespace: str, pod: str, port: int, path: str, *, timeout_s: float, max_bytes: int
    ) -> HttpReply:
        """GET `path` on `pod:port` through kubectl's forward; errors read as the WebSocket path's do."""
        where = f"{namespace}/{pod}:{port}"
        forward = self._forward(namespace, pod, port, timeout_s)
        conn = http.client.HTTPConnection("127.0.0.1", forward.local_port, timeout=timeout_s)
        try:
            try:
                conn.request("GET", path, headers={"User-Agent": "ztbundle", "Accept": "*/*"})
                resp = conn.getresponse()
            except TimeoutError:
                raise
            except (OSError, http.client.HTTPException) as exc:
                error = forward.error()
                if error:
                    raise ConnectionError(f"port-forward to {where} failed: {error}") from None
                detail = f" ({type(exc).__name__}: {exc})"
                raise ConnectionError(
                    f"port-forward to {where}: connection closed before any response{detail}"
                ) from None
            body = _read_reply(resp, max_bytes=max_bytes, timeout_s=timeout_s, what=f"{pod}:{port}{path}")
            return HttpReply(status=resp.status, reason=resp.reason, body=body)
        finally:
            conn.close()

    def _forward(self, namespace: str, pod: str, port: int, timeout_s: float) -> _Forward:
        key = (namespace, pod, port)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            forward = self._forwards.get(key)
            if forward is not None and forward.alive():
                return forward
            forward = self._start(namespace, pod, port, timeout_s)
            with self._lock:
                self._forwards[key] = forward
            return forward

    def _start(self, namespace: str, pod: str, port: int, timeout_s: float) -> _Forward:
        argv = [
            self.binary,
            *self.flags,
            "port-forward",
            "--address",
            "127.0.0.1",
            "-n",
            namespace,
            f"pod/{pod}",
            f":{port}",
        ]
        proc = subprocess.Popen(  # noqa: S603 - argv built from the plan, no shell
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lines: queue.Queue[str | None] = queue.Queue()
        stderr: list[str] = []
        threading.Thread(target=_pump, args=(proc.stdout, lines.put), daemon=True).start()
        err_pump = threading.Thread(target=_pump, args=(proc.stderr, stderr.append), daemon=True)
        err_pump.start()
        # Starting the binary is local CPU, not a wait on the cluster: on a loaded machine a dozen
        # kubectl processes starting at once take seconds before their first request goes out.
        budget = timeout_s + LAUNCH_S
        deadline = time.monotonic() + budget
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                proc.kill()
                raise TimeoutError(
                    f"kubectl port-forward to {namespace}/{pod}:{port} not ready in {budget:g}s"
                ) from None
            if line is None:  # kubectl exited before forwarding: the upgrade failed
                proc.wait()
                # stdout's end says nothing of stderr's: on a busy machine its pump may not have read
                # kubectl's error line yet, and the failure would lose its reason ("kubectl exited 1").
                err_pump.join(timeout=LAUNCH_S)
                raise _kubectl_failure(stderr, proc.returncode)
            m = _FORWARDING.search(line)
            if m:
                return _Forward(proc, int(m.group(1)), stderr)

    def close(self) -> None:
        with self._lock:
            forwards, self._forwards = list(self._forwards.values()), {}
        for forward in forwards:
            forward.stop()


def _pump(stream: Any, put: Any) -> None:
    for line in stream:
        put(line)
    put(None)


def _kubectl_failure(stderr: list[str], code: int | None) -> Exception:
    """kubectl's own one-line error, as the ApiException the WebSocket path would have raised."""
    from kubernetes.client.exceptions import ApiException

    text = " ".join(line.strip() for line in stderr if line and line.strip()) or f"kubectl exited {code}"
    message = _SERVER_SAID.sub("", text.removeprefix("error: ").removeprefix("error upgrading connection: "))
    for status, reason, marker in (
        (403, "Forbidden", "is forbidden"),
        (401, "Unauthorized", "Unauthorized"),
        (404, "Not Found", "not found"),
    ):
        if marker in message:
            return ApiException(status=status, reason=reason, body=json.dumps({"message": message}))
    return ConnectionError(f"kubectl port-forward failed: {message}")


class PortForwarder:
    """The v4 WebSocket port-forward, switching for the rest of the run to kubectl once refused.

    The WebSocket side is the lean client (`collector.transport_ws`) on plain HTTPS clusters, the
    official client's `port_forward_get` behind an HTTP proxy.
    """

    def __init__(self, kubectl: Kubectl | None, configuration: Configuration | None = None) -> None:
        self.kubectl = kubectl
        self.refused = False
        # The lean client (collector.transport_ws) where it can stand in for the official one.
        self.ssl = (
            transport_ws.ssl_context(configuration)
            if configuration and transport_ws.usable(configuration)
            else None
        )

    def get(
        self,
        api: ApiClient,
        namespace: str,
        pod: str,
        port: int,
        path: str,
        *,
        timeout_s: float,
        max_bytes: int,
    ) -> HttpReply:
        if not self.refused or self.kubectl is None:
            _SERVED.value = Transport.WEBSOCKET
            try:
                if self.ssl is not None:
                    return transport_ws.get(
                        api, self.ssl, namespace, pod, port, path, timeout_s=timeout_s, max_bytes=max_bytes
                    )
                return port_forward_get(
                    api, namespace, pod, port, path, timeout_s=timeout_s, max_bytes=max_bytes
                )
            except Exception as exc:
                if self.kubectl is None or not upgrade_refused(exc):
                    raise
                if not self.refused:
                    LOG.warning(
                        "port-forward WebSocket upgrade refused (%s); using kubectl port-forward", exc.reason
                    )
                self.refused = True
        _SERVED.value = Transport.KUBECTL
        return self.kubectl.get(namespace, pod, port, path, timeout_s=timeout_s, max_bytes=max_bytes)

    def close(self) -> None:
        if self.kubectl is not None:
            self.kubectl.close()
