"""Ask istiod for its per-proxy view of each ztunnel (WDS, and WADS policies), from the replica it is on.

Each replica only knows the proxies connected to it; the others answer 404 "Proxy not connected to
this Pilot instance". The istiod.debug step's syncz, connections and /version are fetched first, and
every replica's `/debug/syncz` (and `/debug/connections`) says which ztunnels it serves: a ztunnel found
there is asked of that replica only. A ztunnel found on no replica (a syncz failed, or the ztunnel is
connected nowhere) is asked of every replica, as before; such 404 replies are kept and recorded, and
only count as missing data when no replica served the ztunnel (see `Manifest.missing`).

Views that cannot differ are fetched once. On the istiod releases in `SHARED_MINORS`, istiod renders a
ztunnel's debug view from its whole ambient index, not from anything of that proxy but whether it
watches the type (docs/istiod-views.md has the reading of istiod's source). Ztunnels on one replica
whose syncz shows both types watched, acked at the same push version, without error, are one group:
one member's views are fetched and stored under every member's path, each member's artifact naming the
fetch (`shared_from`). Any other ztunnel keeps its own requests. `Routes.to_json` records both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
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

# istiod releases whose per-proxy ztunnel view was read to depend on nothing of the proxy but the
# watched types (docs/istiod-views.md); on any other release every ztunnel keeps its own requests.
SHARED_MINORS = frozenset({(1, 24), (1, 25), (1, 26)})
ADDRESS_TYPE = "type.googleapis.com/istio.workload.Address"
AUTHZ_TYPE = "type.googleapis.com/istio.security.Authorization"
_VIEW_TYPES = (ADDRESS_TYPE, AUTHZ_TYPE)  # what the WDS and WADS views are generated from
# istiod's nonce is its push version (`<RFC 3339 time>/<counter>`) followed by a random UUID.
_NONCE = re.compile(r"(.+)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MINOR = re.compile(r"(\d+)\.(\d+)\.\d+")


@dataclass(frozen=True, slots=True)
class Sync:
    """One ztunnel's line in a replica's syncz: its cluster and, per watched type, the push state."""

    cluster: str | None
    resources: dict[str, tuple[Any, Any, Any]]  # type URL -> (sent nonce, acked nonce, lastError)


@dataclass(frozen=True, slots=True)
class Group:
    """Ztunnels whose views one fetch stands for: `ztunnels[0]` is asked, the rest share its answer."""

    istiod: PodRef
    cluster: str  # the members' cluster ID, as syncz shows it
    push: tuple[str, str]  # the push version acked for Address and for Authorization
    ztunnels: tuple[PodRef, ...]


@dataclass(slots=True)
class Routes:
    """Which istiod replica each ztunnel is connected to, and whose views can be shared, as syncz says."""

    owner: dict[str, str] = field(default_factory=dict)  # proxy ID -> istiod replica name
    read: set[str] = field(default_factory=set)  # replicas whose syncz or connections parsed
    syncs: dict[str, dict[str, Sync]] = field(default_factory=dict)  # proxy ID -> replica -> its line
    versions: dict[str, str] = field(default_factory=dict)  # replica -> its /version
    groups: list[Group] = field(default_factory=list)  # two or more ztunnels each (`plan_shares`)
    alone: dict[str, str] = field(default_factory=dict)  # ztunnel name -> why its views are its own
    fell_back: set[str] = field(default_factory=set)  # shared, then asked itself: the fetch failed

    def learn(self, istiod: str, input_: Input, data: bytes) -> None:
        """Read one replica's syncz, connections or /version; a body that does not parse teaches nothing."""
        if input_ is Input.ISTIOD_VERSION:
            m = _MINOR.search(data[:200].decode("utf-8", "replace"))
            if m:
                self.versions[istiod] = f"{m.group(1)}.{m.group(2)}"
            return
        try:
            doc = json.loads(data)
        except ValueError:
            return
        states = _syncz_states(doc) if input_ is Input.ISTIOD_SYNCZ else None
        proxies = [p for p, _ in states] if states is not None else _connection_proxies(doc)
        if proxies is None:
            return
        self.read.add(istiod)
        for proxy in proxies:
            self.owner.setdefault(proxy, istiod)
        for proxy, sync in states or ():
            self.syncs.setdefault(proxy, {})[istiod] = sync

    def replicas_for(self, plan: Plan, ztunnel: PodRef) -> tuple[list[PodRef], str]:
        """The replicas to ask about `ztunnel`, and which path that is."""
        owner = self.owner.get(ztunnel.proxy_id)
        chosen = [i for i in plan.istiods if i.name == owner]
        if chosen:
            return chosen, ROUTED
        return list(plan.istiods), ALL

    def share_key(self, plan: Plan, ztunnel: PodRef) -> tuple[str, str, str, str] | str:
        """(replica, cluster, push versions) for a ztunnel whose views may be shared, else why not."""
        replicas, path = self.replicas_for(plan, ztunnel)
        if path == ALL:
            return "not routed to one replica"
        istiod = replicas[0].name
        version = self.versions.get(istiod)
        if version is None:
            return f"{istiod} /version unknown"
        if tuple(int(p) for p in version.split(".")) not in SHARED_MINORS:
            return f"istiod {version}: no proof its views cannot differ"
        lines = self.syncs.get(ztunnel.proxy_id, {})
        if len(lines) != 1 or istiod not in lines:
            return "syncz does not show it on exactly one replica"
        pushes = []
        for type_url in _VIEW_TYPES:
            kind = type_url.rsplit(".", 1)[-1]
            state = lines[istiod].resources.get(type_url)
            if state is None:
                return f"syncz: {kind} not watched"
            sent, acked, error = state
            if error:
                return f"syncz: {kind} lastError"
            if sent != acked:
                return f"syncz: {kind} push not acked"
            m = _NONCE.fullmatch(sent) if isinstance(sent, str) else None
            if m is None:
                return f"syncz: {kind} push version unreadable"
            pushes.append(m.group(1))
        return istiod, lines[istiod].cluster or "", pushes[0], pushes[1]

    def plan_shares(self, plan: Plan) -> None:
        """Group the ztunnels whose views may be shared (two or more); note why each other one may not."""
        grouped: dict[tuple[str, str, str, str], list[PodRef]] = {}
        self.groups, self.alone = [], {}
        for ztunnel in plan.ztunnels:
            key = self.share_key(plan, ztunnel)
            if isinstance(key, str):
                self.alone[ztunnel.name] = key
            else:
                grouped.setdefault(key, []).append(ztunnel)
        by_name = {i.name: i for i in plan.istiods}
        for (replica, cluster, address, authz), zs in grouped.items():
            if len(zs) > 1:
                self.groups.append(Group(by_name[replica], cluster, (address, authz), tuple(zs)))
            else:
                self.alone[zs[0].name] = f"syncz: no other ztunnel on {replica} at its push state"

    def to_json(self, plan: Plan) -> dict[str, Any]:
        """The manifest's record of how per-proxy views were routed and which were shared."""
        unrouted = sorted(z.name for z in plan.ztunnels if self.replicas_for(plan, z)[1] == ALL)
        paths = {ALL if unrouted else ROUTED} | ({ROUTED} if len(unrouted) < len(plan.ztunnels) else set())
        return {
            "step": NAME,
            "path": "mixed" if len(paths) > 1 else paths.pop(),
            "replicas": len(plan.istiods),
            "replicas_read": sorted(self.read),
            "ztunnels_routed": len(plan.ztunnels) - len(unrouted),
            "ztunnels_asked_everywhere": unrouted,
            "shared_views": [
                {
                    "istiod": g.istiod.name,
                    "cluster": g.cluster,
                    "push_versions": list(g.push),
                    "fetched_for": g.ztunnels[0].name,
                    "shared_with": [z.name for z in g.ztunnels[1:] if z.name not in self.fell_back],
                    "asked_alone_after_failure": [z.name for z in g.ztunnels[1:] if z.name in self.fell_back],
                }
                for g in self.groups
            ],
            "ztunnels_fetched_alone": [{"ztunnel": n, "reason": self.alone[n]} for n in sorted(self.alone)],
        }


def _syncz_states(doc: Any) -> list[tuple[str, Sync]] | None:
    """syncz is a list of sync statuses, one per connected proxy, each naming its `proxy` ID: each
    proxy's cluster and per-type `resources` (sent, acked, lastError); None if `doc` is not that list."""
    if not isinstance(doc, list):
        return None
    out = []
    for e in doc:
        if not (isinstance(e, dict) and isinstance(e.get("proxy"), str)):
            continue
        raw = e.get("resources") if isinstance(e.get("resources"), dict) else {}
        resources = {
            str(t): (r.get("sent"), r.get("acked"), r.get("lastError"))
            for t, r in raw.items()
            if isinstance(r, dict)
        }
        cluster = e.get("cluster_id")
        out.append((e["proxy"], Sync(cluster if isinstance(cluster, str) else None, resources)))
    return out


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


def view_requests(proxy_id: str) -> tuple[str, str]:
    """The two admin requests for one proxy's views: WDS (the default type) and WADS."""
    base = f"/debug/config_dump?proxyID={quote(proxy_id, safe='.')}"
    return base, f"{base}&types=WADS"


def _views(istiod: PodRef, ztunnel: PodRef) -> Iterator[Item]:
    wds, wads = view_requests(ztunnel.proxy_id)
    for input_, path, request in (
        (Input.ISTIOD_PROXY_CONFIG, layout.istiod_proxy_config(istiod.name, ztunnel.name), wds),
        (Input.ISTIOD_PROXY_POLICIES, layout.istiod_proxy_policies(istiod.name, ztunnel.name), wads),
    ):
        yield admin_item(NAME, istiod, PORT, request, path, input_, peer=ztunnel)


def _shared_views(group: Group) -> Iterator[Item]:
    """The first member's two fetches, each carrying the other members' paths (same request, same bytes)."""
    first, *rest = group.ztunnels
    others = [list(_views(group.istiod, z)) for z in rest]
    for i, item in enumerate(_views(group.istiod, first)):
        # A member's artifact names the request that was actually made: the first member's.
        yield replace(item, shared_with=tuple(replace(views[i], source=item.source) for views in others))


def items(plan: Plan) -> Iterator[Item]:
    """Every replica × every ztunnel: the plan when nothing is known of the routing (an upper bound)."""
    for istiod in plan.istiods:
        for ztunnel in plan.ztunnels:
            yield from _views(istiod, ztunnel)


def routed_items(plan: Plan, routes: Routes) -> Iterator[Item]:
    """Each ztunnel's views from its own replica (every replica where that is unknown), shared by group."""
    routes.plan_shares(plan)
    first = {g.ztunnels[0].name: g for g in routes.groups}
    member = {z.name for g in routes.groups for z in g.ztunnels[1:]}
    for istiod in plan.istiods:
        for ztunnel in plan.ztunnels:
            if ztunnel.name in member or istiod not in routes.replicas_for(plan, ztunnel)[0]:
                continue
            group = first.get(ztunnel.name)
            yield from (_shared_views(group) if group else _views(istiod, ztunnel))


def retry_items(routes: Routes, ok_paths: Iterable[str]) -> Iterator[Item]:
    """Own requests for the members of a group whose shared fetch (WDS or WADS) did not come back ok."""
    ok = set(ok_paths)
    for group in routes.groups:
        first, *rest = group.ztunnels
        for i, item in enumerate(_views(group.istiod, first)):
            if item.path in ok:
                continue
            for ztunnel in rest:
                routes.fell_back.add(ztunnel.name)
                yield list(_views(group.istiod, ztunnel))[i]


STEP = Step(name=NAME, items=items, fetch=fetch_admin, heavy=True)
