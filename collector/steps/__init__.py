"""Collection steps: each module plans `Item`s from the discovered cluster and fetches one item's bytes.

A step module defines `STEP`, `items(plan) -> Iterable[Item]` and `fetch(ctx, item) -> bytes`.
`fetch` neither catches nor prints: the runner records every outcome, so no step can forget to.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from collector.targets import PodRef
from ztbundle.layout import Input

if TYPE_CHECKING:
    from collector.body import Body
    from collector.context import StepContext
    from collector.discovery import Plan


class SourceKind(StrEnum):
    API = "api"
    PORT_FORWARD = "port-forward"
    LOG = "log"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Source:
    """Where an artifact came from, as recorded in the manifest."""

    kind: SourceKind
    request: str
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    port: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "request": self.request,
            "namespace": self.namespace,
            "pod": self.pod,
            "container": self.container,
            "port": self.port,
        }


@dataclass(frozen=True, slots=True)
class Item:
    """One artifact to attempt: where it goes in the bundle and what to ask for."""

    step: str
    path: str
    input: Input
    source: Source
    action: str  # "<verb> <resource>" for messages such as "403 Forbidden: cannot list pods"
    target: str = ""  # the API path or admin path fetched
    expect_json: bool = True
    pod: PodRef | None = None
    peer: PodRef | None = None  # the ztunnel an istiod per-proxy fetch is about
    # Items whose content this fetch provably is too (istiod views shared by ztunnels): an ok body is
    # stored under each of their paths as well, each artifact naming this item's path as its source.
    shared_with: tuple[Item, ...] = ()
    query: tuple[tuple[str, str], ...] = field(default=())
    container: str | None = None
    previous: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """A named collection step and its two functions."""

    name: str
    items: Callable[[Plan], Iterable[Item]]
    fetch: Callable[[StepContext, Item], Body]
    # Reads the release from a parsed JSON body. For a pretty-printed object the document holds the
    # top-level members parsed for this body: big ones seen byte for byte earlier in the run are left
    # out (`collector.members`), so read small members such as ztunnel's `version`.
    version_of: Callable[[Item, Any], str | None] | None = None
    # Start only once every item of the steps before it has landed (a witness of what they saw).
    after_earlier: bool = False
    # Bodies of many MB that wait for the run's parse lock (`collector.runcache`): the runner keeps at
    # most half its workers on them and lets lighter items behind them use the other half.
    heavy: bool = False


def forward_action(pod: PodRef) -> str:
    """How a port-forward is named in errors, with the RBAC resource it needs."""
    return f"port-forward to pods/{pod.name} in namespace {pod.namespace} (create pods/portforward)"


def admin_item(
    step: str,
    pod: PodRef,
    port: int,
    request: str,
    path: str,
    input_: Input,
    *,
    expect_json: bool = True,
    peer: PodRef | None = None,
) -> Item:
    """An admin-port GET over a port-forward (ztunnel 15000/15020, istiod 15014), as the manifest names it."""
    return Item(
        step=step,
        path=path,
        input=input_,
        source=Source(SourceKind.PORT_FORWARD, f"GET {request}", pod.namespace, pod.name, None, port),
        action=forward_action(pod),
        target=request,
        expect_json=expect_json,
        pod=pod,
        peer=peer,
    )


def fetch_admin(ctx: StepContext, item: Item) -> Body:
    """Fetch an `admin_item` over its port-forward."""
    assert item.pod is not None and item.source.port is not None
    return ctx.admin_get(item.pod, item.source.port, item.target)


# Order is priority: under a deadline, what comes first is what a bundle most needs.
STEP_MODULES: tuple[str, ...] = (
    "cluster_objects",
    "config_objects",
    "ztunnel_config_dump",
    "pods_after_dumps",
    "istiod_proxy",
    "istiod_debug",
    "ztunnel_metrics",
    "logs",
)


def load_steps() -> list[Step]:
    """Import every step module in priority order and return its `Step`."""
    steps: list[Step] = []
    for name in STEP_MODULES:
        module = importlib.import_module(f"collector.steps.{name}")
        steps.append(module.STEP)
    return steps
