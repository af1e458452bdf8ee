"""Snapshot each ztunnel's admin config_dump over a port-forward to 15000 (localhost-only, like istioctl)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collector.discovery import Plan
from collector.steps import Item, Step, admin_item, fetch_admin
from ztbundle import layout
from ztbundle.layout import Input

NAME = "ztunnel.config_dump"
PORT = 15000
PATH = "/config_dump"


def items(plan: Plan) -> Iterator[Item]:
    for pod in plan.ztunnels:
        yield admin_item(NAME, pod, PORT, PATH, layout.ztunnel_config_dump(pod.name), Input.ZTUNNEL_CONFIG)


def version_of(item: Item, doc: Any) -> str | None:
    """ztunnel reports the Istio release it ships with as `version.istioVersion`."""
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, dict):
        return None
    value = version.get("istioVersion") or version.get("version")
    return str(value) if value and value != "unknown" else None


STEP = Step(name=NAME, items=items, fetch=fetch_admin, version_of=version_of, heavy=True)
