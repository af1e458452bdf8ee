"""Snapshot cluster-wide Lists (all pages merged) and the Istio namespace's workloads and mesh config."""

from __future__ import annotations

from collections.abc import Iterator

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step
from ztbundle import layout
from ztbundle.layout import Input

NAME = "cluster.objects"

# (input, bundle path, API path, resource for messages); never Secrets.
_CLUSTER_LISTS: tuple[tuple[Input, str, str, str], ...] = (
    (Input.NODES, layout.NODES, "/api/v1/nodes", "nodes"),
    (Input.NAMESPACES, layout.NAMESPACES, "/api/v1/namespaces", "namespaces"),
    (Input.PODS, layout.PODS, "/api/v1/pods", "pods in all namespaces"),
    (Input.SERVICES, layout.SERVICES, "/api/v1/services", "services in all namespaces"),
    (
        Input.ENDPOINTSLICES,
        layout.ENDPOINTSLICES,
        "/apis/discovery.k8s.io/v1/endpointslices",
        "endpointslices.discovery.k8s.io in all namespaces",
    ),
)


def _item(input_: Input, path: str, api_path: str, action: str, *, paged: bool) -> Item:
    request = f"GET {api_path}" + ("?limit=500 (following continue)" if paged else "")
    return Item(
        step=NAME,
        path=path,
        input=input_,
        source=Source(SourceKind.API, request),
        action=action,
        target=api_path,
        query=(("paged", "true"),) if paged else (),
    )


def items(plan: Plan) -> Iterator[Item]:
    ns = plan.istio_namespace
    yield _item(Input.CLUSTER_VERSION, layout.CLUSTER_VERSION, "/version", "get /version", paged=False)
    for input_, path, api_path, resource in _CLUSTER_LISTS:
        yield _item(input_, path, api_path, f"list {resource}", paged=True)
    for input_, path, api_path, resource in (
        (
            Input.ISTIO_DAEMONSETS,
            layout.ISTIO_DAEMONSETS,
            f"/apis/apps/v1/namespaces/{ns}/daemonsets",
            "daemonsets.apps",
        ),
        (
            Input.ISTIO_DEPLOYMENTS,
            layout.ISTIO_DEPLOYMENTS,
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            "deployments.apps",
        ),
        (Input.ISTIO_EVENTS, layout.ISTIO_EVENTS, f"/api/v1/namespaces/{ns}/events", "events"),
    ):
        yield _item(input_, path, api_path, f"list {resource} in namespace {ns}", paged=True)
    yield _item(
        Input.MESH_CONFIG,
        layout.MESH_CONFIG,
        f"/api/v1/namespaces/{ns}/configmaps/istio",
        f"get configmaps/istio in namespace {ns}",
        paged=False,
    )


def fetch(ctx: StepContext, item: Item) -> Body:
    """A single object is stored as received; a List is every page merged into one List."""
    if item.query:
        return ctx.list_merged(item.target)
    return ctx.api_get(item.target)


STEP = Step(name=NAME, items=items, fetch=fetch)
