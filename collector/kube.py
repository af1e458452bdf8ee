"""Kubernetes client plumbing: kubectl-like config loading, per-thread clients, bounded raw reads.

Every point of `kubernetes-client.md` is handled here:
- KUBECONFIG is read at call time and passed explicitly (the client reads it once at import);
- urllib3 retries are disabled so a timeout costs one timeout, not four;
- each worker thread gets its own ApiClient because stream/portforward monkeypatch `call_api`;
- bodies are read raw (`_preload_content=False`) so bytes are stored exactly as received.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.body import Body
from collector.failures import Trim, Truncated
from ztbundle.errors import ClusterError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

CHUNK = 256 * 1024
POOL_CONNECTIONS = 64  # connections one client keeps: above its widest fan-out (`collector.preflight.ROUND`)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Where and as whom we talk to the cluster."""

    configuration: Configuration
    context: str | None
    source: str  # the kubeconfig path(s) or "in-cluster", for error messages
    secrets: tuple[str, ...]  # literal credentials the log mask must hide


def load_cluster_config(kubeconfig: str | None, context: str | None) -> ClusterConfig:
    """Resolve credentials like kubectl: --kubeconfig, $KUBECONFIG, ~/.kube/config, then in-cluster."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig or os.environ.get("KUBECONFIG") or None
    if path is None and Path("~/.kube/config").expanduser().exists():
        path = str(Path("~/.kube/config").expanduser())
    cfg = client.Configuration()
    name: str | None
    try:
        if path is None:
            if not os.environ.get("KUBERNETES_SERVICE_HOST"):
                raise ClusterError(
                    "no kubeconfig: none given with --kubeconfig, $KUBECONFIG is unset, "
                    "~/.kube/config does not exist, and not running inside a pod"
                )
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            name, source = "in-cluster", "in-cluster"
        else:
            name = _check_kubeconfig(path, context)
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=cfg, persist_config=False
            )
            source = path
    except ConfigException as exc:
        raise ClusterError(f"{path or 'in-cluster config'}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ClusterError(f"{path}: cannot read kubeconfig: {exc}") from None
    # One timeout must cost one timeout: urllib3 would otherwise retry reads three times.
    cfg.retries = False
    # Room for every thread that shares one client at once (the preflight's reviews, discovery's
    # lookups): the client's default (5 per core) made urllib3 discard the extra connections with a
    # "Connection pool is full" WARNING in the user's tool log. The preflight closes them when done.
    cfg.connection_pool_maxsize = POOL_CONNECTIONS
    secrets = tuple(str(v) for v in (cfg.api_key or {}).values() if v) + tuple(
        v for v in (cfg.password,) if v
    )
    return ClusterConfig(configuration=cfg, context=name, source=source, secrets=secrets)


def _check_kubeconfig(path: str, context: str | None) -> str:
    """Read the kubeconfig file(s) ourselves first, so every usual mistake is one line in our words.

    Returns the context that will be used. `path` may list several files like $KUBECONFIG does.
    """
    import difflib

    import yaml

    files = [p for p in path.split(os.pathsep) if p]
    present = [p for p in files if Path(p).expanduser().is_file()]
    if not present:
        raise ClusterError(f"{path}: kubeconfig not found (check --kubeconfig or $KUBECONFIG)")
    contexts: list[str] = []
    current: str | None = None
    for p in present:
        try:
            doc = yaml.safe_load(Path(p).expanduser().read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ClusterError(f"{p}: not valid YAML{where}: {problem}") from None
        except UnicodeDecodeError:
            raise ClusterError(f"{p}: not a kubeconfig (not UTF-8 text)") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ClusterError(f"{p}: not a kubeconfig (expected a YAML mapping with clusters and contexts)")
        for c in doc.get("contexts") or []:
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                contexts.append(c["name"])
        current = current or (doc.get("current-context") or None)
    if not contexts:
        raise ClusterError(f"{path}: kubeconfig has no contexts")
    listed = ", ".join(contexts)
    if context is not None and context not in contexts:
        close = difflib.get_close_matches(context, contexts, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ClusterError(f"{path}: no context named {context!r}{hint}; contexts: {listed}")
    if context is None and current not in contexts:
        what = f"current-context {current!r} is not among its contexts" if current else "no current-context"
        raise ClusterError(f"{path}: {what}; pick one with --context ({listed})")
    return context or str(current)


@contextlib.contextmanager
def quiet_tls_warnings(say: Callable[[str], None]) -> Iterator[None]:
    """Collapse urllib3's per-request InsecureRequestWarning into one line of ours, said once.

    A kubeconfig with `insecure-skip-tls-verify: true` makes urllib3 warn on every request.
    """
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    said = threading.Event()
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, InsecureRequestWarning):
            if not said.is_set():
                said.set()
                say("TLS certificate verification is off for this cluster (insecure-skip-tls-verify)")
            return
        previous(message, category, *args, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("always", InsecureRequestWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


class ClientPool:
    """One ApiClient per thread, created on first use and closed together at the end."""

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration
        self._local = threading.local()
        self._all: list[ApiClient] = []
        self._lock = threading.Lock()

    def get(self) -> ApiClient:
        api = getattr(self._local, "api", None)
        if api is None:
            from kubernetes.client import ApiClient

            api = ApiClient(configuration=self._configuration)
            api.user_agent = "ztbundle"
            self._local.api = api
            with self._lock:
                self._all.append(api)
        return api

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for api in clients:
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                api.rest_client.close()


class Cut(Exception):
    """Raised by a chunk reader when the connection ended early; `read_capped` keeps what arrived."""


def read_capped(read: Any, *, max_bytes: int, budget_s: float, what: str) -> Body:
    """Read a body in chunks, stopping at `max_bytes` (kept, flagged) or when `budget_s` runs out."""
    started = time.monotonic()
    body = Body()
    try:
        while True:
            chunk = read(CHUNK)
            if not chunk:
                return body
            if body.size + len(chunk) > max_bytes:
                keep = max_bytes - body.size
                body.write(chunk[:keep])
                dropped = len(chunk) - keep + _drain(read, budget_s - (time.monotonic() - started))
                raise Truncated(
                    f"{what}: body larger than the {max_bytes}-byte cap; kept the first {max_bytes} bytes",
                    body,
                    Trim(bytes_kept=max_bytes, bytes_dropped=dropped, rule="max-artifact-bytes"),
                )
            body.write(chunk)
            if time.monotonic() - started > budget_s:
                raise Truncated(
                    f"{what}: body still arriving after {budget_s:g}s; kept the {body.size} bytes received",
                    body,
                )
    except Cut as cut:
        raise Truncated(f"{what}: connection closed mid-body after {body.size} bytes{cut}", body) from None


def _drain(read: Any, budget_s: float) -> int:
    """Count (and discard) the rest of an over-size body so the manifest can say how much was dropped."""
    started = time.monotonic()
    dropped = 0
    try:
        while time.monotonic() - started < max(budget_s, 0.0):
            chunk = read(CHUNK)
            if not chunk:
                break
            dropped += len(chunk)
    except Exception:  # noqa: BLE001 - the kept part is what matters; the count is best effort
        pass
    return dropped


def api_get(
    api: ApiClient,
    path: str,
    query: Sequence[tuple[str, str]] = (),
    *,
    timeout_s: float,
    max_bytes: int,
    accept: str = "application/json",
) -> Body:
    """GET an API path with the real client and return the body bytes exactly as sent.

    Raises ApiException (with the body) on non-2xx, `Truncated` when the body stops early.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ProtocolError

    method, url, headers, body, post = api.param_serialize(
        "GET", path, query_params=list(query), header_params={"Accept": accept}, auth_settings=["BearerToken"]
    )
    resp = api.call_api(
        method, url, header_params=headers, body=body, post_params=post, _request_timeout=timeout_s
    )
    raw = resp.response
    try:
        if not 200 <= resp.status <= 299:
            data = read_capped(raw.read, max_bytes=64 * 1024, budget_s=timeout_s, what=path).read_bytes()
            raise ApiException(status=resp.status, reason=resp.reason, body=data.decode("utf-8", "replace"))

        def read(n: int) -> bytes:
            try:
                chunk: bytes = raw.read(n)
            except ProtocolError as exc:
                raise Cut(f" ({exc})") from None
            return chunk

        return read_capped(read, max_bytes=max_bytes, budget_s=timeout_s * 3, what=path)
    finally:
        raw.release_conn()


# --- port-forward ----------------------------------------------------------------------------

# The client's create_websocket() offers no connect timeout, so a hung upgrade would block a worker
# forever. We wrap the WebSocket class it instantiates to apply the per-request timeout to the
# handshake only; after it, reads go through our own socket timeouts.
_HANDSHAKE_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("ztbundle_ws", default=None)
_PATCHED = False
_PATCH_LOCK = threading.Lock()


def _install_handshake_timeout() -> None:
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        from kubernetes.stream import ws_client
        from websocket import WebSocket

        class _TimedWebSocket(WebSocket):
            def connect(self, url: str, **options: Any) -> None:
                timeout = _HANDSHAKE_TIMEOUT.get()
                if timeout is not None:
                    options.setdefault("timeout", timeout)
                super().connect(url, **options)  # type: ignore[no-untyped-call]
                self.settimeout(None)

        ws_client.WebSocket = _TimedWebSocket  # type: ignore[attr-defined]
        _PATCHED = True


@dataclass(frozen=True, slots=True)
class HttpReply:
    """An HTTP response read over a port-forward."""

    status: int
    reason: str
    body: Body


def port_forward_get(
    api: ApiClient, namespace: str, pod: str, port: int, path: str, *, timeout_s: float, max_bytes: int
) -> HttpReply:
    """GET `path` on `pod:port` over a port-forward, speaking HTTP/1.1 ourselves (as istioctl does)."""
    import http.client

    from kubernetes.client import CoreV1Api
    from kubernetes.stream import portforward

    _install_handshake_timeout()
    token = _HANDSHAKE_TIMEOUT.set(timeout_s)
    try:
        pf = portforward(
            CoreV1Api(api).connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)
        )
    finally:
        _HANDSHAKE_TIMEOUT.reset(token)
    sock = pf.socket(port)
    try:
        sock.settimeout(timeout_s)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: ztbundle\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        try:
            # No shutdown(SHUT_WR): the client would close the forwarded port and lose the response.
            sock.sendall(request.encode("ascii"))
            resp = http.client.HTTPResponse(sock)
            resp.begin()
        except TimeoutError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            # A refused or failed forward shows up here only as a closed socket (or a broken pipe
            # when the proxy closed it before our request went out); the reason is on the error channel.
            quiet = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
            raise _forward_error(pf, port, f"{namespace}/{pod}:{port}", None if quiet else exc) from None
        body = _read_reply(resp, max_bytes=max_bytes, timeout_s=timeout_s, what=f"{pod}:{port}{path}")
        return HttpReply(status=resp.status, reason=resp.reason, body=body)
    finally:
        pf.close()


def _forward_error(pf: Any, port: int, where: str, exc: Exception | None = None) -> Exception:
    # The kubelet reports a closed port or a stopped pod only on the error channel; give the proxy
    # thread a moment to deliver it after the data channel ended.
    for _ in range(20):
        error = pf.error(port)
        if error:
            return ConnectionError(f"port-forward to {where} failed: {error.strip()}")
        time.sleep(0.025)
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    return ConnectionError(f"port-forward to {where}: connection closed before any response{detail}")


def _read_reply(resp: Any, *, max_bytes: int, timeout_s: float, what: str) -> Body:
    import http.client

    def read(n: int) -> bytes:
        try:
            chunk: bytes = resp.read1(n)  # read1 hands over partial chunks too, so nothing received is lost
        except http.client.IncompleteRead:
            raise Cut("") from None
        if not chunk and resp.length:
            raise Cut(f" ({resp.length} bytes short of Content-Length)")
        return chunk

    return read_capped(read, max_bytes=max_bytes, budget_s=timeout_s * 3, what=what)
