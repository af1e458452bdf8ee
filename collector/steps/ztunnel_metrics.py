"""Snapshot each ztunnel's Prometheus metrics over a port-forward to 15020."""

from __future__ import annotations

from collections.abc import Iterator

from collector.discovery import Plan
from collector.steps import Item, Step, admin_item, fetch_admin
from ztbundle import layout
from ztbundle.layout import Input

NAME = "ztunnel.metrics"
PORT = 15020
PATH = "/metrics"


def items(plan: Plan) -> Iterator[Item]:
    for pod in plan.ztunnels:
        path = layout.ztunnel_metrics(pod.name)
        yield admin_item(NAME, pod, PORT, PATH, path, Input.ZTUNNEL_METRICS, expect_json=False)


STEP = Step(name=NAME, items=items, fetch=fetch_admin)
