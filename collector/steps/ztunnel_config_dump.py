"""Snapshot each ztunnel's admin config_dump over a port-forward to 15000 (localhost-only, like istioctl)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step, forward_action
from ztbundle import layout
from ztbundle.layout import Input

NAME = "ztunnel.config_dump"
PORT = 15000
PATH = "/config_dump"


def items(plan: Plan) -> Iterator[Item]:
    for pod in plan.ztunnels:
        yield Item(
            step=NAME,
            path=layout.ztunnel_config_dump(pod.name),
            input=Input.ZTUNNEL_CONFIG,
            source=Source(SourceKind.PORT_FORWARD, f"GET {PATH}", pod.namespace, pod.name, None, PORT),
            action=forward_action(pod),
            target=PATH,
            pod=pod,
        )


def fetch(ctx: StepContext, item: Item) -> Body:
    assert item.pod is not None
    return ctx.admin_get(item.pod, PORT, item.target)


def version_of(item: Item, doc: Any) -> str | None:
    """ztunnel reports the Istio release it ships with as `version.istioVersion`."""
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, dict):
        return None
    value = version.get("istioVersion") or version.get("version")
    return str(value) if value and value != "unknown" else None


STEP = Step(name=NAME, items=items, fetch=fetch, version_of=version_of)
