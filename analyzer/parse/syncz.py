"""istiod `/debug/syncz` (list of SyncStatus) → `SyncEntry` per connected proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.model import SyncEntry, SyncResource
from analyzer.parse import as_list, as_map, parse_time


def parse_syncz(doc: Any) -> tuple[SyncEntry, ...]:
    out = []
    for raw in as_list(doc):
        if not isinstance(raw, Mapping):
            continue
        resources = as_map(raw.get("resources"))
        out.append(
            SyncEntry(
                proxy=str(raw.get("proxy") or ""),
                proxy_type=str(raw.get("proxy_type") or ""),
                istio_version=raw.get("istio_version") or None,
                cluster_id=raw.get("cluster_id") or None,
                resources=tuple(
                    SyncResource(
                        type_url=str(url),
                        sent=r.get("sent") or None,
                        acked=r.get("acked") or None,
                        last_error=r.get("lastError") or None,
                        sent_time=parse_time(r.get("sentTime")),
                    )
                    for url, r in resources.items()
                    if isinstance(r, Mapping)
                ),
            )
        )
    return tuple(out)
