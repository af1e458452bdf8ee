"""Read a bundle's manifest into the model: every artifact's status, and each input's availability.

An artifact is usable only when the collector recorded it `ok` and stored it, and the archive
holds it; an input is available when at least one of its artifacts is usable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from analyzer.bundle import BundleFiles
from analyzer.model import Artifact, Availability, Input, Manifest, Status
from analyzer.parse import parse_time


def _artifacts(raw: Iterable[Mapping[str, Any]]) -> dict[str, Artifact]:
    out = {}
    for a in raw:
        out[a["path"]] = Artifact(
            path=a["path"],
            input=Input(a["input"]),
            status=Status(a["status"]),
            error=a.get("error"),
            stored=bool(a.get("stored")),
            started_at=parse_time(a.get("started_at")),
            finished_at=parse_time(a.get("finished_at")),
            shared_from=a.get("shared_from"),
        )
    return out


def _reason(a: Artifact) -> str:
    text = f"{a.status.value}: {a.error}" if a.error else a.status.value
    return f"{a.path}: {text}"


def _availability(artifacts: Mapping[str, Artifact], files: BundleFiles) -> dict[Input, Availability]:
    by_input: dict[Input, list[Artifact]] = defaultdict(list)
    for a in artifacts.values():
        by_input[a.input].append(a)
    out = {}
    for inp, arts in by_input.items():
        # Not installed (no such CRD) is collected: the cluster holds nothing of that kind.
        usable = [is_usable(a, files) or a.status is Status.NOT_INSTALLED for a in arts]
        ok = [a for a, u in zip(arts, usable, strict=True) if u]
        bad = [a for a, u in zip(arts, usable, strict=True) if not u]
        reason = None
        if bad:
            reason = _reason(bad[0]) + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
        out[inp] = Availability(inp, bool(ok), reason, partial=bool(ok and bad))
    return out


def is_usable(a: Artifact, files: BundleFiles) -> bool:
    return a.status is Status.OK and a.stored and files.has(a.path)


def read_manifest(files: BundleFiles) -> Manifest:
    """The manifest as the model's `Manifest`, with which inputs are available and why not."""
    m = files.manifest
    artifacts = _artifacts(m["artifacts"])
    started = parse_time(m["started_at"])
    assert started is not None  # the schema's pattern guarantees RFC 3339
    return Manifest(
        collected_at=started,
        finished_at=parse_time(m.get("finished_at")),
        context=m.get("context"),
        istio_versions=tuple(m.get("istio_versions") or ()),
        complete=bool(m["complete"]),
        interrupted=bool(m["interrupted"]),
        availability=_availability(artifacts, files),
        artifacts=artifacts,
        errors=tuple(m.get("errors") or ()),
        trimmed=frozenset(t["artifact"] for t in m.get("trims") or ()),
    )
