"""The trace's vocabulary: verdicts, evidence, checks, hops and the trace itself (what renderers read)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Verdict(StrEnum):
    """What one check or hop concluded; `rank` orders them, worst first."""

    BROKEN = "broken"  # this connection cannot work as the bundle shows it
    DEGRADED = "degraded"  # works for some connections or is at risk
    UNKNOWN = "unknown"  # an input it needs was not collected: no claim either way
    OK = "ok"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Verdict.BROKEN: 0, Verdict.DEGRADED: 1, Verdict.UNKNOWN: 2, Verdict.OK: 3}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of `verdicts` (OK when there are none)."""
    return min(verdicts, key=lambda v: v.rank, default=Verdict.OK)


class HopKey(IntEnum):
    """The seven hops of a connection from a pod to its target, in path order."""

    SOURCE_ENROLLED = 1
    SOURCE_IDENTITY = 2
    DESTINATION_RESOLVED = 3
    WAYPOINT = 4
    POLICY = 5
    DESTINATION_SIDE = 6
    OBSERVED_TRAFFIC = 7

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")


_TITLES = {
    HopKey.SOURCE_ENROLLED: "source enrolled",
    HopKey.SOURCE_IDENTITY: "source identity",
    HopKey.DESTINATION_RESOLVED: "destination resolved",
    HopKey.WAYPOINT: "waypoint",
    HopKey.POLICY: "policy",
    HopKey.DESTINATION_SIDE: "destination side",
    HopKey.OBSERVED_TRAFFIC: "observed traffic",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a check looked: a bundle member, and the line for log evidence."""

    member: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.member}:{self.line}" if self.line else self.member


@dataclass(frozen=True, slots=True)
class Check:
    """One observation on the path.

    A `supplementary` check (objects a later collector adds, metrics) is shown with its verdict,
    but its `unknown` does not make the hop unknown when the hop's own evidence answered.
    """

    verdict: Verdict
    text: str
    evidence: tuple[Evidence, ...] = ()
    supplementary: bool = False


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A finding of the analysis that explains a hop, with its rule's Fix and its incident."""

    id: str
    code: str
    rule: str
    severity: str
    subject: str
    message: str
    fix: str
    incident: str | None = None
    root: str | None = None  # the incident's root finding id, when it is another finding


@dataclass(frozen=True, slots=True)
class Hop:
    key: HopKey
    verdict: Verdict
    checks: tuple[Check, ...]
    findings: tuple[FindingRef, ...] = ()

    @property
    def number(self) -> int:
        return int(self.key)

    @property
    def title(self) -> str:
        return self.key.title

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        seen: dict[Evidence, None] = {}
        for c in self.checks:
            for e in c.evidence:
                seen.setdefault(e, None)
        return tuple(seen)


def hop(key: HopKey, checks: Iterable[Check]) -> Hop:
    """A hop whose verdict is the worst of its checks (supplementary unknowns aside)."""
    checks = tuple(dict.fromkeys(checks))  # two endpoints on one ztunnel may repeat a check
    counted = [c.verdict for c in checks if not (c.supplementary and c.verdict is Verdict.UNKNOWN)]
    return Hop(key, worst(counted) if checks else Verdict.UNKNOWN, checks)


@dataclass(frozen=True, slots=True)
class Conclusion:
    """The last line: the first hop that is not ok, and what explains it."""

    verdict: Verdict
    hop: HopKey | None
    finding: FindingRef | None
    text: str


@dataclass(frozen=True, slots=True)
class Trace:
    source: str  # namespace/name
    target: str  # as resolved: `Service ns/name:port`, `Pod ns/name`, or an IP
    target_kind: str  # service | pod | ip
    now: str  # the analysis time (RFC 3339), never the wall clock
    hops: tuple[Hop, ...]
    conclusion: Conclusion
