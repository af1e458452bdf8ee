"""Ask every istiod replica for its per-proxy view of each ztunnel (WDS, and WADS policies).

Each replica only knows the proxies connected to it; the others answer 404 "Proxy not connected to
this Pilot instance". That reply is kept and recorded, and only counts as missing data when no
replica served the ztunnel (see `Manifest.missing`).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step, forward_action
from ztbundle import layout
from ztbundle.layout import Input

NAME = "istiod.proxy"
PORT = 15014


def items(plan: Plan) -> Iterator[Item]:
    for istiod in plan.istiods:
        for ztunnel in plan.ztunnels:
            base = f"/debug/config_dump?proxyID={quote(ztunnel.proxy_id, safe='.')}"
            for input_, path, request in (
                (Input.ISTIOD_PROXY_CONFIG, layout.istiod_proxy_config(istiod.name, ztunnel.name), base),
                (
                    Input.ISTIOD_PROXY_POLICIES,
                    layout.istiod_proxy_policies(istiod.name, ztunnel.name),
                    f"{base}&types=WADS",
                ),
            ):
                yield Item(
                    step=NAME,
                    path=path,
                    input=input_,
                    source=Source(
                        SourceKind.PORT_FORWARD, f"GET {request}", istiod.namespace, istiod.name, None, PORT
                    ),
                    action=forward_action(istiod),
                    target=request,
                    pod=istiod,
                    peer=ztunnel,
                )


def fetch(ctx: StepContext, item: Item) -> Body:
    assert item.pod is not None
    return ctx.admin_get(item.pod, PORT, item.target)


STEP = Step(name=NAME, items=items, fetch=fetch)
