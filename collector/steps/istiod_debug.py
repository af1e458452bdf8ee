"""Snapshot each istiod replica's ambient debug endpoints and version over a port-forward to 15014."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from collector.discovery import Plan
from collector.steps import Item, Step, admin_item, fetch_admin
from ztbundle import layout
from ztbundle.layout import Input

NAME = "istiod.debug"
PORT = 15014
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-(?:alpha|beta|rc)\.?\d+)?")

# (input, layout function, path, expect JSON). istiod's /version is plain text ("1.26.0-<sha>-Clean").
_ENDPOINTS: tuple[tuple[Input, Callable[[str], str], str, bool], ...] = (
    (Input.ISTIOD_AMBIENTZ, layout.istiod_ambientz, "/debug/ambientz", True),
    (Input.ISTIOD_SYNCZ, layout.istiod_syncz, "/debug/syncz", True),
    (Input.ISTIOD_CONNECTIONS, layout.istiod_connections, "/debug/connections", True),
    (Input.ISTIOD_VERSION, layout.istiod_version, "/version", False),
)

REQUESTS = tuple(request for _, _, request, _ in _ENDPOINTS)  # what each replica is asked, in order


def items(plan: Plan) -> Iterator[Item]:
    for istiod in plan.istiods:
        for input_, path_of, request, is_json in _ENDPOINTS:
            yield admin_item(NAME, istiod, PORT, request, path_of(istiod.name), input_, expect_json=is_json)


def version_of(item: Item, doc: Any) -> str | None:
    """Read the release from /version, whether it came back as text or as a JSON object."""
    if item.input is not Input.ISTIOD_VERSION:
        return None
    if isinstance(doc, dict):
        for key in ("version", "Version", "gitVersion"):
            if isinstance(doc.get(key), str):
                doc = doc[key]
                break
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8", "replace")
    if not isinstance(doc, str):
        return None
    m = _SEMVER.search(doc)
    return m.group(0) if m else None


STEP = Step(name=NAME, items=items, fetch=fetch_admin, version_of=version_of)
