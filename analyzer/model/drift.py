"""xDS drift between istiod's view and one ztunnel, shared by ZT401-ZT403 and the `xds` view.

Both sides are already decoded (`analyzer.xds`) into `XdsState`s with per-key content hashes, so
keys are compared by hash first and only the differing entries go through deepdiff. Guards
(`docs/rule-guards.md`): the baseline the model chose (per-proxy dump, else ambientz + WADS) is
named; a ztunnel entry that matches ANY istiod replica's view is not drift (replicas merged);
objects younger than the capture window are skipped by the caller's `settled`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from analyzer.model.bundle import Bundle
from analyzer.model.istiod import Baseline, BaselineKind
from analyzer.model.xds import XdsState
from analyzer.model.ztunnel import Ztunnel

SKEW_NOTE_S = 30.0
"""Dumps taken further apart than this get the gap stated in the message (capture skew)."""


class Kind(StrEnum):
    WORKLOADS = "workloads"
    SERVICES = "services"
    POLICIES = "policies"


def _hashes(xds: XdsState, kind: Kind) -> Mapping[str, str]:
    if kind is Kind.WORKLOADS:
        return xds.workload_hashes
    return xds.service_hashes if kind is Kind.SERVICES else xds.policy_hashes


def _entries(xds: XdsState, kind: Kind) -> Mapping[str, Any]:
    if kind is Kind.WORKLOADS:
        return xds.workloads
    return xds.services if kind is Kind.SERVICES else xds.policies


@dataclass(frozen=True, slots=True)
class Drift:
    """What one ztunnel holds differently from istiod's baseline, per key."""

    ztunnel: Ztunnel
    baseline: Baseline
    source: str  # human name of the baseline: "istiod-abc per-proxy config_dump"
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)

    def summary(self, limit: int = 3) -> str:
        """`2 missing (a, b), 1 changed (c: protocol 'HBONE' → 'TCP')`; lists cut at `limit`."""
        parts = []
        for label, keys in (("missing", self.missing), ("extra", self.extra)):
            if keys:
                parts.append(f"{len(keys)} {label} ({_cut(keys, limit)})")
        if self.changed:
            shown = [f"{k}: {'; '.join(lines[:2])}" for k, lines in self.changed[:limit]]
            more = f", +{len(self.changed) - limit} more" if len(self.changed) > limit else ""
            parts.append(f"{len(self.changed)} changed ({', '.join(shown)}{more})")
        return ", ".join(parts)


def _cut(keys: tuple[str, ...], limit: int) -> str:
    more = f", +{len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def source_name(bundle: Bundle, baseline: Baseline, kind: Kind) -> str:
    """Name the baseline in words, e.g. `istiod istiod-a per-proxy config_dump (baseline proxy-config)`.

    A view the collector fetched once for a group of ztunnels (manifest `shared_from`) says whose it was.
    """
    shared = ""
    if _from_views(baseline, kind):
        what = "per-proxy WADS dump" if kind is Kind.POLICIES else "per-proxy config_dump"
        wads = kind is Kind.POLICIES
        view = next((p for p in baseline.evidence if p.endswith(".wads.json") == wads), None)
        artifact = bundle.manifest.artifacts.get(view) if view else None
        if artifact is not None and artifact.shared_from:
            # The collector asked one ztunnel of a group whose views are the replica's push state.
            asked = PurePosixPath(artifact.shared_from).name.split(".", 1)[0]
            shared = f"; asked as {asked}'s, the same push state"
    else:
        what = "/debug/ambientz"
    return f"istiod {baseline.istiod} {what} (baseline {baseline.kind.value}{shared})"


def _from_views(baseline: Baseline, kind: Kind) -> bool:
    """Whether this kind's baseline came from a per-proxy dump (else from ambientz)."""
    if baseline.kind is BaselineKind.PROXY_CONFIG:
        return True
    return kind is Kind.POLICIES and any(p.endswith(".wads.json") for p in baseline.evidence)


def alternatives(bundle: Bundle, ztunnel: Ztunnel, kind: Kind, baseline: Baseline) -> list[XdsState]:
    """The same source on every OTHER istiod replica (guard: replicas merged).

    A ztunnel entry that matches another replica's copy is a timing difference between
    replicas, not ztunnel drift. The baseline replica's other endpoint is not an alternative.
    """
    views = _from_views(baseline, kind)
    out = []
    for istiod in bundle.istiods:
        if istiod.name == baseline.istiod:
            continue
        if views:
            view = istiod.views.get(ztunnel.name)
            ok = view is not None and (view.policies_available if kind is Kind.POLICIES else view.available)
            if view is not None and ok:
                out.append(view.xds)
        elif istiod.ambientz is not None:
            out.append(istiod.ambientz)
    return out


def comparable(bundle: Bundle, ztunnel: Ztunnel) -> bool:
    """A ztunnel worth comparing: dump parsed, not terminating, past its initial sync.

    Guards: settle window, current ztunnel (`docs/rule-guards.md`).
    """
    if not ztunnel.available or ztunnel.deleting:
        return False
    pod = ztunnel.pod
    return pod is None or bundle.settled(pod.started_at or pod.created_at)


def skew_note(bundle: Bundle, ztunnel: Ztunnel, baseline: Baseline) -> str:
    """` (dumps taken 45 s apart)` when the two snapshots are far apart, else empty."""
    gap = capture_gap(bundle, ztunnel, baseline)
    return f" (dumps taken {gap:.0f} s apart)" if gap is not None and gap > SKEW_NOTE_S else ""


def capture_gap(bundle: Bundle, ztunnel: Ztunnel, baseline: Baseline) -> float | None:
    """Seconds between the ztunnel dump and the baseline dump, from the manifest's artifact times."""
    arts = bundle.manifest.artifacts
    mine = arts.get(ztunnel.config_dump_path)
    theirs = [arts[p] for p in baseline.evidence if p in arts]
    if mine is None or mine.started_at is None or not theirs or theirs[0].started_at is None:
        return None
    return abs((mine.started_at - theirs[0].started_at).total_seconds())


def _key_diff(
    bundle: Bundle, want: Mapping[str, str], have: Mapping[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """Keys only in `want`, only in `have`, and in both with different hashes; each sorted.

    The loader shares one hash map between ztunnels whose sections are byte-identical, so this is
    computed once per distinct pair: at 1,000 ztunnels × 20,000 workloads, a few set operations
    instead of 20 million comparisons. The cache pins both maps, so their ids stay theirs.
    """
    cache = bundle.memo("drift.key_diff")
    hit = cache.get((id(want), id(have)))
    if hit is None or hit[0] is not want or hit[1] is not have:
        both = want.keys() & have.keys()
        result = (
            sorted(want.keys() - have.keys()),
            sorted(have.keys() - want.keys()),
            sorted(k for k in both if want[k] != have[k]),
        )
        hit = (want, have, result)
        cache[(id(want), id(have))] = hit
    diff: tuple[list[str], list[str], list[str]] = hit[2]
    return diff


def compare(
    bundle: Bundle,
    ztunnel: Ztunnel,
    kind: Kind,
    settled: Callable[[str, bool], bool] = lambda key, present_in_istiod: True,
    expected: XdsState | None = None,
    others: Iterable[XdsState] | None = None,
) -> Drift | None:
    """Drift of `ztunnel` for `kind` against its baseline; None when there is no baseline.

    `settled(key, present_in_istiod)` returns False for entries too young (or just deleted)
    to judge. `expected`/`others` override the baseline (peer comparison for policies).
    """
    baseline = bundle.baseline_for(ztunnel)
    if expected is None:
        if baseline.xds is None:
            return None
        expected = baseline.xds
    alts = list(others) if others is not None else alternatives(bundle, ztunnel, kind, baseline)
    want, have = _hashes(expected, kind), _hashes(ztunnel.xds, kind)
    only_want, only_have, differ = _key_diff(bundle, want, have)
    on_demand = ztunnel.config.xds_on_demand  # guard: on-demand subset
    missing = [
        k
        for k in only_want
        if not on_demand and settled(k, True) and all(k in _hashes(a, kind) for a in alts)
    ]
    extra = [
        k
        for k in only_have
        if settled(k, False) and not any(_hashes(a, kind).get(k) == have[k] for a in alts)
    ]
    changed = []
    for k in differ:
        if not settled(k, True):
            continue
        if any(_hashes(a, kind).get(k) == have[k] for a in alts):
            continue  # the ztunnel matches another replica's (or the other baseline's) view
        lines = diff(_entries(expected, kind)[k], _entries(ztunnel.xds, kind)[k])
        changed.append((k, tuple(lines)))
    return Drift(
        ztunnel,
        baseline,
        source_name(bundle, baseline, kind),
        tuple(missing),
        tuple(extra),
        tuple(changed),
    )


def same(expected: Any, actual: Any, ignore: Iterable[str] = ()) -> bool:
    """Equal entries, not counting the `ignore`d fields (see `XdsState.absent_fields`)."""
    if expected == actual:
        return True
    skip = set(ignore)
    if not skip:
        return False
    return all(
        getattr(expected, f.name) == getattr(actual, f.name)
        for f in dataclasses.fields(expected)
        if f.name not in skip
    )


def diff(expected: Any, actual: Any, ignore: Iterable[str] = ()) -> list[str]:
    """Field-level differences between two normalized entries (`field: expected → actual`)."""
    from deepdiff import DeepDiff  # heavy to import; only a drifting entry needs it

    a, b = dataclasses.asdict(expected), dataclasses.asdict(actual)
    for name in ignore:
        a.pop(name, None)
        b.pop(name, None)
    found = DeepDiff(a, b, ignore_order=True, verbose_level=2)
    lines = []
    for change, items in found.items():
        if isinstance(items, Mapping):
            for path, detail in items.items():
                path = str(path).removeprefix("root")
                if isinstance(detail, Mapping) and "old_value" in detail:
                    lines.append(f"{path}: {detail['old_value']!r} → {detail['new_value']!r}")
                else:
                    lines.append(f"{path}: {change.replace('_', ' ')} {detail!r}")
        else:
            lines.extend(f"{str(p).removeprefix('root')}: {change.replace('_', ' ')}" for p in items)
    return sorted(lines)
