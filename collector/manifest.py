"""The manifest: what was collected, from where, and what failed and why (validated before writing)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.failures import Trim
from collector.redact_text import Redaction
from collector.steps import Item
from ztbundle import __version__, layout
from ztbundle.layout import Input, Status
from ztbundle.schema_check import validate_manifest


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Artifact:
    """The outcome of one attempted item."""

    item: Item
    status: Status
    error: str | None
    stored: bool
    bytes: int
    sha256: str | None
    started_at: str | None
    finished_at: str | None
    trim: Trim | None = None
    pieces: tuple[str, ...] | None = None  # format 2: the recipe when stored as shared objects
    transport: str | None = None  # port-forward artifacts: "websocket" or "kubectl" (`collector.transport`)
    shared_from: str | None = None  # not fetched itself: the body fetched as this path (`Item.shared_with`)

    def to_json(self, *, storage: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.item.path,
            "input": self.item.input.value,
            "source": self.item.source.to_json(),
            "status": self.status.value,
            "error": self.error,
            "stored": self.stored,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        if self.transport is not None:
            out["transport"] = self.transport
        if self.shared_from is not None:
            out["shared_from"] = self.shared_from
        if storage:  # format 2 records how the bytes are kept; format 1 has only raw members
            out["storage"] = layout.Storage.RAW.value if self.pieces is None else layout.Storage.RECIPE.value
            if self.pieces is not None:
                out["pieces"] = list(self.pieces)
        return out


@dataclass(slots=True)
class Manifest:
    """Accumulates artifact records (metadata only, never bodies) and renders the manifest JSON."""

    command: list[str]
    context: str | None
    options: dict[str, Any]
    started_at: str = field(default_factory=utc_now)
    server_version: str | None = None
    istio_namespace: str | None = None
    istio_versions: set[str] = field(default_factory=set)
    interrupted: bool = False
    deadline_exceeded: bool = False
    errors: list[str] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)
    format_version: int = layout.FORMAT_VERSION
    routing: dict[str, Any] | None = None  # how istiod per-proxy views were routed (`istiod_proxy.Routes`)

    def record(self, artifact: Artifact) -> None:
        self.artifacts.append(artifact)

    def tally(self) -> layout.Tally:
        """The run's count (collected / missing / expected non-answers), as every display shows it."""
        return layout.tally((a.item.path, a.item.input, a.status, a.error) for a in self.artifacts)

    def missing(self) -> list[Artifact]:
        """Artifacts whose failure makes the bundle incomplete (`layout.Tally` says which)."""
        missing = set(self.tally().missing)
        return [a for a in self.artifacts if a.item.path in missing]

    @property
    def complete(self) -> bool:
        return not self.missing() and not self.interrupted and not self.deadline_exceeded

    def render(self) -> bytes:
        """Serialise and validate against the manifest schema; a failure there is our bug, so it raises.

        The check is compiled once (`ztbundle.schema_check`); jsonschema only explains a rejection.
        """
        doc: dict[str, Any] = {
            "format_version": self.format_version,
            "tool": {"name": "ztbundle", "version": __version__},
            "command": self.command,
            "started_at": self.started_at,
            "finished_at": utc_now(),
            "context": self.context,
            "server_version": self.server_version,
            "istio_namespace": self.istio_namespace,
            "istio_versions": sorted(self.istio_versions),
            "complete": self.complete,
            "interrupted": self.interrupted,
            "deadline_exceeded": self.deadline_exceeded,
            "options": self.options,
            "errors": self.errors,
            "artifacts": [a.to_json(storage=self.format_version >= 2) for a in self.artifacts],
            "redactions": [r.to_json() for r in self.redactions],
            "trims": [
                {
                    "artifact": a.item.path,
                    "bytes_kept": a.trim.bytes_kept,
                    "bytes_dropped": a.trim.bytes_dropped,
                    "rule": a.trim.rule,
                }
                for a in self.artifacts
                if a.trim is not None
            ],
        }
        if self.routing is not None:
            doc["routing"] = self.routing
        validate_manifest(doc)
        return json.dumps(doc, indent=2).encode("utf-8") + b"\n"


def tool_log_item() -> Item:
    """The item describing our own log, which is written last, just before the manifest."""
    from collector.steps import Source, SourceKind

    return Item(
        step="tool.log",
        path=layout.TOOL_LOG,
        input=Input.TOOL_LOG,
        source=Source(SourceKind.LOCAL, "ztbundle log (masked)"),
        action="write the tool log",
        expect_json=False,
    )
