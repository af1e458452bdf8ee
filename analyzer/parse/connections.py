"""istiod `/debug/connections` → `IstiodConnection` per connected client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.model import IstiodConnection
from analyzer.parse import as_list, parse_time


def parse_connections(doc: Any) -> tuple[IstiodConnection, ...]:
    clients = doc.get("clients") if isinstance(doc, Mapping) else doc
    return tuple(
        IstiodConnection(
            connection_id=str(c.get("connectionId") or ""),
            connected_at=parse_time(c.get("connectedAt")),
            address=c.get("address") or None,
        )
        for c in as_list(clients)
        if isinstance(c, Mapping)
    )
