"""The collection section: what the collector could not collect, and which of that was expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ztbundle import layout

if TYPE_CHECKING:
    from analyzer.model import Manifest

__all__ = ["CollectionError", "collection_errors"]

NOT_CONNECTED = "HTTP 404"
"""How an istiod replica answers for a ztunnel connected to another replica ("Proxy not connected to
this Pilot instance"); collector/manifest.py does not count it as missing either."""


@dataclass(frozen=True, slots=True)
class CollectionError:
    path: str | None  # None: an error of the run itself
    input: str | None
    status: str
    error: str | None
    expected: bool = False  # a normal non-answer, not a gap: another istiod replica served that ztunnel


def _served(manifest: Manifest) -> set[tuple[str, str]]:
    """(input, ztunnel) pairs some istiod replica answered."""
    from analyzer.model import Status

    out = set()
    for a in manifest.artifacts.values():
        parsed = layout.parse_istiod_proxy(a.path) if a.status is Status.OK else None
        if parsed is not None:
            out.add((a.input.value, parsed[1]))
    return out


def collection_errors(manifest: Manifest) -> tuple[CollectionError, ...]:
    """Artifacts that are not `ok` and the run's own errors, by path."""
    from analyzer.model import Status

    served = _served(manifest)
    out = []
    for a in manifest.artifacts.values():
        if a.status is Status.OK:
            continue
        proxy = layout.parse_istiod_proxy(a.path)
        expected = (
            proxy is not None
            and (a.error or "").startswith(NOT_CONNECTED)
            and (a.input.value, proxy[1]) in served
        )
        out.append(CollectionError(a.path, a.input.value, a.status.value, a.error, expected))
    out += [CollectionError(None, None, "error", e) for e in manifest.errors]
    return tuple(sorted(out, key=lambda e: (e.path or "", e.status)))
