"""Snapshot each ztunnel's Prometheus metrics over a port-forward to 15020."""

from __future__ import annotations

from collections.abc import Iterator

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step, forward_action
from ztbundle import layout
from ztbundle.layout import Input

NAME = "ztunnel.metrics"
PORT = 15020
PATH = "/metrics"


def items(plan: Plan) -> Iterator[Item]:
    for pod in plan.ztunnels:
        yield Item(
            step=NAME,
            path=layout.ztunnel_metrics(pod.name),
            input=Input.ZTUNNEL_METRICS,
            source=Source(SourceKind.PORT_FORWARD, f"GET {PATH}", pod.namespace, pod.name, None, PORT),
            action=forward_action(pod),
            target=PATH,
            expect_json=False,
            pod=pod,
        )


def fetch(ctx: StepContext, item: Item) -> Body:
    assert item.pod is not None
    return ctx.admin_get(item.pod, PORT, item.target)


STEP = Step(name=NAME, items=items, fetch=fetch)
