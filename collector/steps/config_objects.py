"""Snapshot the configuration behind the data plane: Istio, Gateway API and NetworkPolicy objects.

Each kind in `layout.CONFIG_RESOURCES` is one cluster-wide List (all pages merged, redacted like
every List) read at the newest version the server serves. A kind whose API is not served (its CRD
is not installed, or no metrics-server) is recorded `not-installed`: nothing of it exists, so the
bundle stays complete. Never Secrets; the only ConfigMap read is istio-cni's, by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.failures import StepFailed
from collector.steps import Item, Source, SourceKind, Step
from ztbundle import layout
from ztbundle.layout import ConfigResource, Input, Status

NAME = "cluster.config"


def _api_path(res: ConfigResource, version: str, namespace: str) -> str:
    where = f"namespaces/{namespace}/" if res.istio_namespace_only else ""
    return f"/apis/{res.group}/{version}/{where}{res.resource}"


def _resource_item(plan: Plan, res: ConfigResource) -> Item:
    ns = plan.istio_namespace
    version = plan.apis.version_for(res.group, res.resource, res.versions)
    scope = f"in namespace {ns}" if res.istio_namespace_only else "in all namespaces"
    action = f"list {res.resource}.{res.group}" + (f" {scope}" if res.namespaced else "")
    query = (("labelSelector", res.selector),) if res.selector else ()
    if version is None:  # fetch records why: not installed, or discovery failed
        request = f"GET {_api_path(res, '{' + ','.join(res.versions) + '}', ns)}"
        return Item(NAME, res.path, res.input, Source(SourceKind.API, request), action, target="")
    api_path = _api_path(res, version, ns)
    shown = f"?labelSelector={res.selector}&limit=500" if res.selector else "?limit=500"
    return Item(
        step=NAME,
        path=res.path,
        input=res.input,
        source=Source(SourceKind.API, f"GET {api_path}{shown} (following continue)"),
        action=action,
        target=api_path,
        query=query,
    )


def items(plan: Plan) -> Iterator[Item]:
    for res in layout.CONFIG_RESOURCES:
        yield _resource_item(plan, res)
    ns = plan.istio_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps/{layout.CNI_CONFIGMAP}"
    yield Item(
        step=NAME,
        path=layout.CNI_CONFIG,
        input=Input.CNI_CONFIG,
        source=Source(SourceKind.API, f"GET {path}"),
        action=f"get configmaps/{layout.CNI_CONFIGMAP} in namespace {ns}",
        target=path,
    )


def _resource(item: Item) -> ConfigResource:
    return next(r for r in layout.CONFIG_RESOURCES if r.input is item.input)


def fetch(ctx: StepContext, item: Item) -> Body:
    """A List merged from every page; an unserved API or an absent istio-cni ConfigMap is not-installed."""
    if item.input is Input.CNI_CONFIG:
        return _cni_config(ctx, item)
    res = _resource(item)
    if not item.target:
        if ctx.plan.apis.error:
            raise StepFailed(Status.ERROR, f"cannot {item.action}: {ctx.plan.apis.error}")
        versions = ", ".join(f"{res.group}/{v}" for v in res.versions)
        raise StepFailed(
            Status.NOT_INSTALLED,
            f"{res.kind} is not installed: the server serves {res.resource} in none of {versions}",
        )
    return ctx.list_merged(item.target, item.query)


def _cni_config(ctx: StepContext, item: Item) -> Body:
    from kubernetes.client.exceptions import ApiException

    try:
        return ctx.api_get(item.target)
    except ApiException as exc:
        if exc.status != 404:
            raise
        raise StepFailed(
            Status.NOT_INSTALLED,
            f"configmaps/{layout.CNI_CONFIGMAP} not found in namespace {ctx.plan.istio_namespace}",
        ) from None


STEP = Step(name=NAME, items=items, fetch=fetch)
