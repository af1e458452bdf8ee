"""What the collector recorded: per-artifact status and per-input availability."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ztbundle.layout import Input, Status


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether an Input was collected; `reason` is the collector's recorded reason when it was not."""

    input: Input
    ok: bool
    reason: str | None = None
    partial: bool = False  # some targets ok, some failed


@dataclass(frozen=True, slots=True)
class Artifact:
    path: str
    input: Input
    status: Status
    error: str | None
    stored: bool
    started_at: datetime | None
    finished_at: datetime | None
    # Not fetched itself: the body fetched as this other path, shared because istiod's answer is the
    # same for both (a replica's push state, `docs/istiod-views.md`).
    shared_from: str | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    collected_at: datetime
    finished_at: datetime | None
    context: str | None
    istio_versions: tuple[str, ...]
    complete: bool
    interrupted: bool
    availability: Mapping[Input, Availability]
    artifacts: Mapping[str, Artifact]
    errors: tuple[str, ...] = ()
    trimmed: frozenset[str] = frozenset()
