"""Ask every istiod replica for its per-proxy view of each ztunnel (WDS, and WADS policies).

Each replica only knows the proxies connected to it; the others answer 404 "Proxy not connected to
this Pilot instance". That reply is kept and recorded, and only counts as missing data when no
replica served the ztunnel (see `Manifest.missing`).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from collector.discovery import Plan
from collector.steps import Item, Step, admin_item, fetch_admin
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
                yield admin_item(NAME, istiod, PORT, request, path, input_, peer=ztunnel)


STEP = Step(name=NAME, items=items, fetch=fetch_admin)
