"""`FakeCluster`: start the fake API server for a scenario, write a kubeconfig, keep the request log."""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.fakecluster import certs, k8s
from tests.fakecluster.faults import Fault, FaultKind
from tests.fakecluster.scenario import Scenario, stable_int, wall_clock
from tests.fakecluster.server import JSON, ApiError, Handler, RequestRecord, _Server

BAD_TOKEN = "this-token-is-not-valid"


def _forbidden_message(
    user: str, verb: str, resource: str, sub: str, namespace: str | None, name: str | None, group: str
) -> str:
    full = f"{resource}/{sub}" if sub else resource
    what = f'{resource} "{name}"' if name else (f"{resource}.{group}" if group else resource)
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (
        f'{what} is forbidden: User "{user}" cannot {verb} resource "{full}" in API group "{group}" {scope}'
    )


class FakeCluster:
    """A running fake cluster. Use as a context manager; every server thread binds 127.0.0.1 only.

    `faults` is a plain list: tests may append or remove faults while the cluster runs.
    """

    def __init__(
        self,
        scenario: Scenario,
        faults: Iterable[Fault] = (),
        *,
        latency_ms: float = 0,
        kubeconfig: Path | None = None,
        now: datetime | None = None,
    ) -> None:
        """`now` pins the cluster's clock; by default an unpinned scenario runs at the start time."""
        self.scenario = scenario
        self._now = now
        self.faults: list[Fault] = list(faults)
        if latency_ms:
            self.faults.append(Fault.latency(latency_ms / 1000))
        self.token = secrets.token_urlsafe(24)
        self.context = f"fake-{scenario.name}"
        self.bad_context = f"fake-{scenario.name}-badtoken"
        self.requests: list[RequestRecord] = []
        self.stopping = threading.Event()
        self.list_rv = str(100_000 + stable_int("list", scenario.name) % 100_000)
        self._lock = threading.Lock()
        self._kubeconfig_arg = kubeconfig
        self._tmp: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.kubeconfig = Path()
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------------------------

    def collect_argv(self, out: Path | str, *extra: str) -> list[str]:
        """`ztbundle collect` arguments that point at this cluster and write `out`."""
        return [
            "collect",
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context,
            "--out-file",
            str(out),
            *extra,
        ]

    def __enter__(self) -> FakeCluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        # The collector stamps bundles with the real clock, so the served certificates, pod times
        # and logs must live in real time too, or every certificate would look expired.
        if self._now is not None:
            self.scenario = self.scenario.pinned_at(self._now)
        elif not self.scenario.pinned:
            self.scenario = self.scenario.rebased(wall_clock())
        self._tmp = Path(tempfile.mkdtemp(prefix="fakecluster-"))
        tls = certs.tls_material(datetime.now(UTC))  # the TLS cert lives in real time, not scenario time
        (self._tmp / "tls.crt").write_bytes(tls.cert_pem)
        (self._tmp / "tls.key").write_bytes(tls.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._tmp / "tls.crt", self._tmp / "tls.key")
        server = _Server(("127.0.0.1", 0), Handler)
        server.cluster, server.ssl_context = self, ctx
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        self.kubeconfig = self._kubeconfig_arg or self._tmp / "kubeconfig"
        self.kubeconfig.write_text(self._kubeconfig_text(tls.ca_pem))
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fakecluster-{self.scenario.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()  # cuts hangs and streams short
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _kubeconfig_text(self, ca_pem: bytes) -> str:
        ca = base64.b64encode(ca_pem).decode()
        cluster_name = f"fake-{self.scenario.name}"
        doc: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "current-context": self.context,
            "clusters": [
                {"name": cluster_name, "cluster": {"server": self.url, "certificate-authority-data": ca}}
            ],
            "users": [
                {"name": "ztbundle", "user": {"token": self.token}},
                {"name": "intruder", "user": {"token": BAD_TOKEN}},
            ],
            "contexts": [
                {"name": self.context, "context": {"cluster": cluster_name, "user": "ztbundle"}},
                {"name": self.bad_context, "context": {"cluster": cluster_name, "user": "intruder"}},
            ],
        }
        return str(yaml.safe_dump(doc, sort_keys=False))

    # --- request log ----------------------------------------------------------------------------------

    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    def requested(self, substring: str) -> list[RequestRecord]:
        """Requests whose path (with query) or tunnelled HTTP path contains `substring`."""
        out = []
        for r in list(self.requests):
            qs = "&".join(f"{k}={v}" for k, v in r.query.items())
            haystack = f"{r.path}?{qs}" if qs else r.path
            if substring in haystack or (r.http_path and substring in r.http_path):
                out.append(r)
        return out

    # --- RBAC -----------------------------------------------------------------------------------------

    def allowed(
        self,
        verb: str,
        resource: str,
        subresource: str,
        namespace: str,
        name: str = "",
        group: str | None = None,
    ) -> bool:
        """Whether the scenario's RBAC (and no FORBIDDEN fault) lets the user make this request."""
        for f in self.faults:
            if f.kind is FaultKind.FORBIDDEN and f.matches_api(resource, subresource, verb, namespace, ""):
                return False
        rules = self.scenario.rbac
        if rules is None:
            return True
        return any(r.allows(verb, resource, subresource, namespace, name, group) for r in rules)

    def authorize(
        self, verb: str, resource: str, sub: str, namespace: str | None, name: str | None, group: str
    ) -> None:
        if not self.allowed(verb, resource, sub, namespace or "", name or "", group):
            msg = _forbidden_message(self.scenario.user, verb, resource, sub, namespace, name, group)
            details: dict[str, Any] = {"kind": resource}
            if name:
                details["name"] = name
            if group:
                details["group"] = group
            raise ApiError(403, "Forbidden", msg, details)

    # --- discovery ------------------------------------------------------------------------------------

    def discovery(self, path: str, accept: str = "") -> tuple[dict[str, Any], str] | None:
        """The discovery document at `path` and its content type, or None when `path` is not one.

        `/api` and `/apis` answer in the aggregated form (`apidiscovery.k8s.io`: every version and
        resource of every group in one document) when the Accept header offers it and the scenario's
        server has it, as a real API server does from 1.26 (v2beta1) and 1.30 (v2); else the legacy
        documents, whose group versions are each one more GET.
        """
        path = path.rstrip("/")
        if path in ("/api", "/apis") and self.scenario.aggregated_discovery:
            for version in ("v2", "v2beta1"):
                kind = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
                if kind in accept.replace(" ", ""):
                    return self._aggregated(path == "/api", version), kind
        doc = self._legacy_discovery(path)
        return None if doc is None else (doc, JSON)

    def _served_versions(self) -> dict[str, list[str]]:
        versions: dict[str, list[str]] = {"authorization.k8s.io": ["v1"]}
        for r in k8s.RESOURCES.values():
            if r.group and r.group not in self.scenario.uninstalled_groups:
                for v in (r.version, *r.older):
                    if v not in versions.setdefault(r.group, []):
                        versions[r.group].append(v)
        for vs in versions.values():
            vs.sort(key=_version_rank)
        return versions

    def _aggregated(self, core: bool, version: str) -> dict[str, Any]:
        """APIGroupDiscoveryList: the legacy resource lists regrouped, subresources under their resource."""
        groups = [("", ["v1"])] if core else sorted(self._served_versions().items())
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {},
            "items": [
                {
                    "metadata": {"name": group, "creationTimestamp": None},
                    "versions": [
                        {"version": v, "resources": self._discovered(group, v), "freshness": "Current"}
                        for v in vs
                    ],
                }
                for group, vs in groups
            ],
        }

    def _discovered(self, group: str, version: str) -> list[dict[str, Any]]:
        """One group version's resources as aggregated discovery lists them."""
        listed = self._resource_list(group, version)

        def kind(entry: dict[str, Any]) -> dict[str, str]:
            return {"group": group, "version": version, "kind": entry["kind"]}

        out = []
        for r in (r for r in listed if "/" not in r["name"]):
            subs = [
                {"subresource": s["name"].split("/", 1)[1], "responseKind": kind(s), "verbs": s["verbs"]}
                for s in listed
                if s["name"].startswith(r["name"] + "/")
            ]
            out.append(
                {
                    "resource": r["name"],
                    "responseKind": kind(r),
                    "scope": "Namespaced" if r["namespaced"] else "Cluster",
                    "singularResource": r["singularName"],
                    "verbs": r["verbs"],
                    **({"subresources": subs} if subs else {}),
                }
            )
        return out

    def _legacy_discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.url.removeprefix("https://")}
                ],
            }
        versions = self._served_versions()
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                    }
                    for g, vs in sorted(versions.items())
                ],
            }
        for group, version in [("", "v1"), *((g, v) for g, vs in versions.items() for v in vs)]:
            gv = f"{group}/{version}" if group else version
            if path == ("/api/v1" if not group else f"/apis/{gv}"):
                return {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": gv,
                    "resources": self._resource_list(group, version),
                }
        return None

    def _resource_list(self, group: str, version: str = "v1") -> list[dict[str, Any]]:
        if group == "authorization.k8s.io":
            return [
                {
                    "name": "selfsubjectaccessreviews",
                    "singularName": "selfsubjectaccessreview",
                    "namespaced": False,
                    "kind": "SelfSubjectAccessReview",
                    "verbs": ["create"],
                }
            ]
        out: list[dict[str, Any]] = []
        for r in k8s.RESOURCES.values():
            if r.group != group or version not in (r.version, *r.older):
                continue
            out.append(
                {
                    "name": r.name,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "list", "watch"],
                }
            )
            if r.name == "pods":
                out += [
                    {"name": f"pods/{s}", "singularName": "", "namespaced": True, "kind": k, "verbs": v}
                    for s, k, v in (
                        ("log", "Pod", ["get"]),
                        ("portforward", "PodPortForwardOptions", ["create", "get"]),
                        ("proxy", "PodProxyOptions", ["get"]),
                    )
                ]
        return out


def _version_rank(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA before beta before alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    level = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (level, -int(m.group(1)), -int(m.group(3) or 0))
