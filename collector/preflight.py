"""Ask the API server, before collecting, which reads RBAC will refuse (SelfSubjectAccessReview).

Each check is one (verb, resource, namespace) the plan needs, with what the bundle loses without it.
Denials are warnings, not errors: the run goes on and the manifest records each failure as usual
(failure is data); saying it up front spares the user a surprise at the end. The answers go to the
`ztbundle.preflight` logger (hence our tool log) and into the manifest's run-level `errors`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from collector.discovery import Plan
from ztbundle import layout

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

LOG = logging.getLogger("ztbundle.preflight")
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
ROUND = 48  # reviews in flight at once: a plan's checks (~35 with a few namespaces) in one round trip


@dataclass(frozen=True, slots=True)
class Check:
    """One permission the plan needs; `namespace=""` means all namespaces (or a cluster-scoped kind)."""

    verb: str
    resource: str
    loses: str  # what the bundle will lack without it
    namespace: str = ""
    group: str = ""
    subresource: str = ""
    name: str = ""

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            res = f"{res}.{self.group}"
        if self.name:
            res = f"{res} {self.name}"
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {res}{where}"

    def review(self) -> dict[str, object]:
        attrs = {
            "verb": self.verb,
            "group": self.group,
            "resource": self.resource,
            "subresource": self.subresource,
            "namespace": self.namespace,
            "name": self.name,
        }
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {k: v for k, v in attrs.items() if v}},
        }


def checks(plan: Plan) -> Iterator[Check]:
    """Exactly the permissions `deploy/rbac.yaml` grants, narrowed to where this plan needs them."""
    ns = plan.istio_namespace
    for resource in ("pods", "namespaces", "nodes", "services"):
        yield Check("list", resource, f"cluster/{resource}.json")
    yield Check("list", "endpointslices", "cluster/endpointslices.json", group="discovery.k8s.io")
    yield Check("list", "events", "istio/events.json", namespace=ns)
    for kind in ("daemonsets", "deployments"):
        yield Check("list", kind, f"istio/{kind}.json", namespace=ns, group="apps")
    yield Check("get", "configmaps", "istio/mesh-configmap.json", namespace=ns, name="istio")
    yield Check("get", "configmaps", layout.CNI_CONFIG, namespace=ns, name=layout.CNI_CONFIGMAP)
    for res in layout.CONFIG_RESOURCES:  # only what is served: a kind not installed needs no grant
        if plan.apis.version_for(res.group, res.resource, res.versions) is None:
            continue
        where = ns if res.istio_namespace_only else ""
        yield Check("list", res.resource, res.path, namespace=where, group=res.group)
    forwarded = {p.namespace for p in (*plan.ztunnels, *plan.istiods)}
    for where in sorted(forwarded):
        yield Check(
            "create",
            "pods",
            "ztunnel config_dump/metrics and istiod debug views",
            namespace=where,
            subresource="portforward",
        )
    logged = {p.namespace for p in (*plan.ztunnels, *plan.istiods, *plan.cnis, *plan.waypoints)}
    for where in sorted(logged):
        yield Check("get", "pods", "container logs", namespace=where, subresource="log")


def _allowed(api: ApiClient, check: Check, timeout_s: float) -> bool:
    """POST one SelfSubjectAccessReview with the real client; a non-2xx reply raises."""
    method, url, headers, body, post = api.param_serialize(
        "POST",
        SSAR_PATH,
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body=check.review(),
        auth_settings=["BearerToken"],
    )
    resp = api.call_api(
        method, url, header_params=headers, body=body, post_params=post, _request_timeout=timeout_s
    )
    raw = resp.response
    try:
        data = raw.read(1 << 20)
    finally:
        raw.release_conn()
    if not 200 <= resp.status <= 299:
        raise RuntimeError(f"HTTP {resp.status}")
    doc = json.loads(data)
    return bool((doc.get("status") or {}).get("allowed"))


def run(api: ApiClient, plan: Plan) -> list[str]:
    """Check every permission; log and return one line per denial (or one if reviews are impossible).

    Reviews go out together (threads on one urllib3 pool, which is thread-safe for plain requests),
    all in one round up to `ROUND` of them, so the preflight costs one round trip, not one per check.
    """
    todo = list(checks(plan))
    workers = max(1, min(len(todo), ROUND))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ztbundle-preflight") as pool:
        answers = list(pool.map(lambda c: _answer(api, c, plan.options.timeout_s), todo))
    api.rest_client.pool_manager.clear()  # the round's connections, idle from now on: closed, not kept
    failed = next((a for a in answers if isinstance(a, Exception)), None)
    if failed is not None:
        line = f"preflight: cannot ask the API server about permissions ({failed or type(failed).__name__})"
        LOG.warning("%s", line)
        return [line]
    denied = [
        f"preflight: will not be able to read: {c} (RBAC) → no {c.loses}"
        for c, ok in zip(todo, answers, strict=True)
        if ok is False
    ]
    if denied:
        LOG.warning("will not be able to read:\n%s", "\n".join(f"  {d.split(': ', 2)[2]}" for d in denied))
    return denied


def _answer(api: ApiClient, check: Check, timeout_s: float) -> bool | Exception:
    try:
        return _allowed(api, check, timeout_s)
    except Exception as exc:  # noqa: BLE001 - a failed review must never stop a collection
        return exc


_ECHO: list[logging.Handler] = []


def echo_to(stream: TextIO | None) -> None:
    """Show preflight warnings on `stream` (the CLI's stderr), or nowhere when None (`--quiet`)."""
    while _ECHO:
        LOG.removeHandler(_ECHO.pop())
    if stream is None:
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("ztbundle: %(message)s"))
    LOG.addHandler(handler)
    _ECHO.append(handler)
