"""Ask istiod for its per-proxy view of each ztunnel (WDS, and WADS policies), from the replica it is on.

Each replica only knows the proxies connected to it; the others answer 404 "Proxy not connected to
this Pilot instance". The istiod.debug step runs first, and every replica's `/debug/syncz` (and
`/debug/connections`) says which ztunnels it serves: a ztunnel found there is asked of that replica
only. A ztunnel found on no replica (a syncz failed, or the ztunnel is connected nowhere) is asked of
every replica, as before; such 404 replies are kept and recorded, and only count as missing data when
no replica served the ztunnel (see `Manifest.missing`). `Routes.to_json` records which path was taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from collector.discovery import Plan
from collector.steps import Item, Step, admin_item, fetch_admin
from collector.targets import PodRef
from ztbundle import layout
from ztbundle.layout import Input

NAME = "istiod.proxy"
PORT = 15014
ROUTED = "connected-replica"  # asked only of the replica whose syncz/connections lists the ztunnel
ALL = "all-replicas"  # the mapping is unknown for this ztunnel: every replica is asked


@dataclass(slots=True)
class Routes:
    """Which istiod replica each ztunnel is connected to, as its syncz and connections say."""

    owner: dict[str, str] = field(default_factory=dict)  # proxy ID -> istiod replica name
    read: set[str] = field(default_factory=set)  # replicas whose syncz or connections parsed

    def learn(self, istiod: str, input_: Input, data: bytes) -> None:
        """Read one replica's syncz or connections body; a body that does not parse teaches nothing."""
        try:
            doc = json.loads(data)
        except ValueError:
            return
        proxies = _syncz_proxies(doc) if input_ is Input.ISTIOD_SYNCZ else _connection_proxies(doc)
        if proxies is None:
            return
        self.read.add(istiod)
        for proxy in proxies:
            self.owner.setdefault(proxy, istiod)

    def replicas_for(self, plan: Plan, ztunnel: PodRef) -> tuple[list[PodRef], str]:
        """The replicas to ask about `ztunnel`, and which path that is."""
        owner = self.owner.get(ztunnel.proxy_id)
        chosen = [i for i in plan.istiods if i.name == owner]
        if chosen:
            return chosen, ROUTED
        return list(plan.istiods), ALL

    def to_json(self, plan: Plan) -> dict[str, Any]:
        """The manifest's record of how per-proxy views were routed."""
        unrouted = sorted(z.name for z in plan.ztunnels if self.replicas_for(plan, z)[1] == ALL)
        paths = {ALL if unrouted else ROUTED} | ({ROUTED} if len(unrouted) < len(plan.ztunnels) else set())
        return {
            "step": NAME,
            "path": "mixed" if len(paths) > 1 else paths.pop(),
            "replicas": len(plan.istiods),
            "replicas_read": sorted(self.read),
            "ztunnels_routed": len(plan.ztunnels) - len(unrouted),
            "ztunnels_asked_everywhere": unrouted,
        }


def _syncz_proxies(doc: Any) -> list[str] | None:
    """syncz is a list of sync statuses, one per connected proxy, each naming its `proxy` ID."""
    if not isinstance(doc, list):
        return None
    return [e["proxy"] for e in doc if isinstance(e, dict) and isinstance(e.get("proxy"), str)]


def _connection_proxies(doc: Any) -> list[str] | None:
    """connections lists clients whose `connectionId` is `<proxy ID>-<counter>`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("clients"), list):
        return None
    out = []
    for client in doc["clients"]:
        cid = client.get("connectionId") if isinstance(client, dict) else None
        if isinstance(cid, str) and "-" in cid:
            out.append(cid.rsplit("-", 1)[0])
    return out


def _views(istiod: PodRef, ztunnel: PodRef) -> Iterator[Item]:
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


def items(plan: Plan) -> Iterator[Item]:
    """Every replica × every ztunnel: the plan when nothing is known of the routing (an upper bound)."""
    for istiod in plan.istiods:
        for ztunnel in plan.ztunnels:
            yield from _views(istiod, ztunnel)


def routed_items(plan: Plan, routes: Routes) -> Iterator[Item]:
    """Each ztunnel's views from its own replica, or from every replica where that is unknown."""
    for istiod in plan.istiods:
        for ztunnel in plan.ztunnels:
            if istiod in routes.replicas_for(plan, ztunnel)[0]:
                yield from _views(istiod, ztunnel)


STEP = Step(name=NAME, items=items, fetch=fetch_admin)
