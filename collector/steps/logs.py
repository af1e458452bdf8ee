"""Read container logs of ztunnel, istiod, istio-cni and waypoint pods (and `previous` after restarts)."""

from __future__ import annotations

from collections.abc import Iterator

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step
from collector.targets import PodRef
from ztbundle import layout

NAME = "logs"


def _pods(plan: Plan) -> Iterator[PodRef]:
    yield from plan.ztunnels
    yield from plan.istiods
    yield from plan.cnis
    yield from plan.waypoints


def items(plan: Plan) -> Iterator[Item]:
    for pod in _pods(plan):
        for container in pod.containers:
            for previous in (False, True) if container.restart_count > 0 else (False,):
                request = (
                    f"GET /api/v1/namespaces/{pod.namespace}/pods/{pod.name}/log?container={container.name}"
                )
                if previous:
                    request += "&previous=true"
                if plan.options.since_s:
                    request += f"&sinceSeconds={plan.options.since_s}"
                yield Item(
                    step=NAME,
                    path=layout.pod_log(
                        pod.component, pod.namespace, pod.name, container.name, previous=previous
                    ),
                    input=layout.LOG_INPUTS[pod.component],
                    source=Source(SourceKind.LOG, request, pod.namespace, pod.name, container.name, None),
                    action=f"get pods/log {pod.name} in namespace {pod.namespace}",
                    expect_json=False,
                    pod=pod,
                    container=container.name,
                    previous=previous,
                )


def fetch(ctx: StepContext, item: Item) -> Body:
    assert item.pod is not None and item.container is not None
    return ctx.pod_log(item.pod, item.container, previous=item.previous)


STEP = Step(name=NAME, items=items, fetch=fetch)
