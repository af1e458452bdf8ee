"""The bundle being laid out from a bug-report, what the archive says about its run, and their words."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ztbundle.layout import Input

SOURCE_FORMAT = "istioctl bug-report"
REASON = "not in an istioctl bug-report archive"


@dataclass(slots=True)
class Out:
    """The bundle being laid out: members at logical paths, their manifest artifacts, run notes."""

    path: Path
    at: str
    tool: str
    members: dict[str, bytes] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def ok(self, logical: str, inp: Input, data: bytes, origin: str) -> None:
        """Present `data` (from archive member or derivation `origin`) at `logical`."""
        if logical in self.artifacts:
            self.errors.append(f"{origin}: skipped, {logical} is already taken by another member")
            return
        self.members[logical] = data
        self.artifacts[logical] = self._artifact(logical, inp, origin, "ok", None, data)

    def absent(self, logical: str, inp: Input, why: str = REASON) -> None:
        """List `logical` as not collected, with the reason rules and views will quote."""
        if logical not in self.artifacts:
            self.artifacts[logical] = self._artifact(logical, inp, None, "skipped", why, None)

    def _artifact(
        self, logical: str, inp: Input, origin: str | None, status: str, error: str | None, data: bytes | None
    ) -> dict[str, Any]:
        return {
            "path": logical,
            "input": inp.value,
            "source": {"kind": "local", "request": f"{self.tool}: {origin or '-'}"},
            "status": status,
            "error": error,
            "stored": data is not None,
            "bytes": len(data) if data is not None else 0,
            "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
            "started_at": self.at,
            "finished_at": self.at,
        }


@dataclass(frozen=True, slots=True)
class Meta:
    """What the archive says about its own run."""

    istioctl_version: str | None
    control_plane_versions: tuple[str, ...]
    started_at: str
    finished_at: str
    context: str | None
    server_version: str | None


def source_of(manifest: Mapping[str, Any]) -> str | None:
    """`istioctl bug-report 1.26.2` when the bundle was read from such an archive, else None."""
    options = manifest.get("options") or {}
    if options.get("source_format") != SOURCE_FORMAT:
        return None
    version = options.get("istioctl_version")
    return f"{SOURCE_FORMAT} {version}" if version else SOURCE_FORMAT
