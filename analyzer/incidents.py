"""Group findings into incidents: a root cause and everything that follows from it.

A rule declares, next to its `RULE`, which other rules' findings its own findings explain and
within what scope (`Explains`). Given the findings of one analysis, `group` links every finding to
the root that explains it — transitively, so a ztunnel that lost its xDS stream explains its
readiness failure and, through it, every workload that ztunnel does not serve — and returns the
incidents ranked most urgent first. Every finding belongs to exactly one incident; a finding
nothing explains is an incident of its own.

Pure: it reads findings and a `Topology` (which node a ztunnel runs on, which ambient pods a node
hosts) and nothing else.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from analyzer.findings import Explains, Finding, Scope, Severity
from analyzer.model import Bundle


class CausalRule(Protocol):
    """What grouping needs to know of a rule (`analyzer.findings.Rule` satisfies it)."""

    @property
    def code(self) -> str: ...
    @property
    def explains(self) -> tuple[Explains, ...]: ...
    @property
    def priority(self) -> int: ...
    @property
    def outage(self) -> Scope | None: ...
    @property
    def next_steps(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Topology:
    """The little of the model grouping needs: ztunnel → node, node → ambient pods on it."""

    ztunnel_nodes: Mapping[str, str] = field(default_factory=dict)
    ambient_pods: Mapping[str, frozenset[str]] = field(default_factory=dict)


def topology_of(bundle: Bundle) -> Topology:
    """Where each ztunnel runs and which ambient pods each node hosts (young pods too: a broken
    ztunnel breaks them as well, even if the rules give them time to settle)."""
    pods: dict[str, set[str]] = {}
    for pod in bundle.pods:
        if pod.node and not pod.terminal and bundle.is_ambient(pod):
            pods.setdefault(pod.node, set()).add(f"{pod.namespace}/{pod.name}")
    return Topology(
        ztunnel_nodes={z.name: z.node for z in bundle.ztunnels if z.node},
        ambient_pods={node: frozenset(names) for node, names in pods.items()},
    )


@dataclass(frozen=True, slots=True)
class BlastRadius:
    pods: int
    nodes: int
    ztunnels: int


@dataclass(frozen=True, slots=True)
class Incident:
    """A root finding and the findings that follow from it (ids, in report order)."""

    id: str
    root: Finding
    explains: tuple[Finding, ...]
    headline: str
    blast_radius: BlastRadius
    next_steps: tuple[str, ...]

    @property
    def severity(self) -> Severity:
        return min((self.root, *self.explains), key=lambda f: f.severity.rank).severity

    @property
    def findings(self) -> tuple[Finding, ...]:
        return (self.root, *self.explains)


@dataclass(frozen=True, slots=True)
class Grouping:
    """The findings with `id` and `caused_by` set, and the incidents they form, most urgent first."""

    findings: tuple[Finding, ...]
    incidents: tuple[Incident, ...]


def finding_id(f: Finding) -> str:
    """Stable across analyses of one bundle: code plus a digest of subject and ztunnel."""
    key = "\x1f".join((f.code, str(f.subject), f.ztunnel or "", f.node or ""))
    return f"{f.code}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _ids(findings: Sequence[Finding]) -> list[str]:
    """`finding_id` for each; a repeat (same rule, subject and ztunnel) gets `-2`, `-3`… in order."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        base = finding_id(f)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def _node(f: Finding, topo: Topology) -> str | None:
    return f.node or (topo.ztunnel_nodes.get(f.ztunnel) if f.ztunnel else None)


def _identity(f: Finding) -> str | None:
    s = f.subject
    return f"{s.namespace}/{s.name}" if s.kind == "ServiceAccount" else None


def _in_scope(scope: Scope, root: Finding, other: Finding, topo: Topology) -> bool:
    if scope is Scope.MESH:
        return True
    if scope is Scope.SUBJECT:
        return root.subject == other.subject
    if scope is Scope.ZTUNNEL:
        return root.ztunnel is not None and root.ztunnel == other.ztunnel
    if scope is Scope.NODE:
        node = _node(root, topo)
        return node is not None and node == _node(other, topo)
    ident = _identity(root)
    return ident is not None and ident == _identity(other)


def _parents(
    findings: Sequence[Finding], rules: Mapping[str, CausalRule], topo: Topology
) -> dict[int, list[int]]:
    """For each finding index, the indices of findings that could explain it, best candidate first."""
    by_code: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        by_code.setdefault(f.code, []).append(i)
    cands: dict[int, list[int]] = {}
    for j, root in enumerate(findings):
        rule = rules.get(root.code)
        if rule is None:
            continue
        for link in rule.explains:
            for code in link.codes:
                for i in by_code.get(code, ()):
                    if i != j and _in_scope(link.scope, root, findings[i], topo):
                        cands.setdefault(i, []).append(j)

    def strength(j: int) -> tuple[int, int, int]:
        rule = rules[findings[j].code]
        return (rule.priority, findings[j].severity.rank, j)

    return {i: sorted(set(js), key=strength) for i, js in cands.items()}


def _choose(n: int, cands: Mapping[int, list[int]]) -> list[int | None]:
    """One parent per finding, never forming a cycle: a finding whose best candidate would close a
    loop takes the next; one with none left becomes a root."""
    parent: list[int | None] = [None] * n

    def reaches(start: int, target: int) -> bool:
        seen = set()
        cur: int | None = start
        while cur is not None and cur not in seen:
            if cur == target:
                return True
            seen.add(cur)
            cur = parent[cur]
        return False

    for i in range(n):
        for j in cands.get(i, ()):
            if not reaches(j, i):
                parent[i] = j
                break
    return parent


def _blast(members: Sequence[Finding], rules: Mapping[str, CausalRule], topo: Topology) -> BlastRadius:
    """Pods, nodes and ztunnels the incident touches: the pods its findings name, plus every ambient
    pod on a node (or in the mesh) where a finding's rule declares it an outage there."""
    nodes = {n for f in members if (n := _node(f, topo))}
    ztunnels = {f.ztunnel for f in members if f.ztunnel}
    pods = {f"{f.subject.namespace}/{f.subject.name}" for f in members if f.subject.kind == "Pod"}
    for f in members:
        outage = rules[f.code].outage if f.code in rules else None
        if outage is Scope.MESH:
            pods = pods.union(*topo.ambient_pods.values())
        elif outage is Scope.NODE and (n := _node(f, topo)):
            pods |= topo.ambient_pods.get(n, frozenset())
    return BlastRadius(pods=len(pods), nodes=len(nodes), ztunnels=len(ztunnels))


def _headline(root: Finding, consequences: int) -> str:
    if not consequences:
        return root.message
    return f"{root.message} — {consequences} finding(s) follow from it"


def _steps(rule: CausalRule | None, root: Finding, bundle: str) -> tuple[str, ...]:
    if rule is None:
        return ()
    values = {
        "bundle": bundle,
        "ztunnel": root.ztunnel or "",
        "node": root.node or "",
        "namespace": root.subject.namespace,
        "name": root.subject.name,
        "kind": root.subject.kind,
    }
    out = []
    for template in rule.next_steps:
        fields = {name for _, name, _, _ in _FORMATTER.parse(template) if name}
        if all(values.get(name) for name in fields):  # skip a step this finding cannot fill in
            out.append(template.format_map(values))
    return tuple(out)


_FORMATTER = string.Formatter()


def group(
    findings: Sequence[Finding],
    rules: Iterable[CausalRule],
    topology: Topology | None = None,
    bundle: str = "BUNDLE",
) -> Grouping:
    """Give every finding an id and its cause, and group them into ranked incidents."""
    topo = topology or Topology()
    by_code = {r.code: r for r in rules}
    ids = _ids(findings)
    cands = _parents(findings, by_code, topo)
    parent = _choose(len(findings), cands)
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parent):
        if p is not None:
            children.setdefault(p, []).append(i)
    stamped = tuple(
        _stamp(
            f,
            ids[i],
            ids[p] if (p := parent[i]) is not None else None,
            tuple(ids[j] for j in cands.get(i, ()) if j != p),
        )
        for i, f in enumerate(findings)
    )
    incidents = []
    for r, root in enumerate(stamped):
        if parent[r] is not None:
            continue
        below: list[int] = []
        todo = list(children.get(r, ()))
        while todo:
            i = todo.pop()
            below.append(i)
            todo.extend(children.get(i, ()))
        below.sort()  # findings arrive sorted (severity, code, subject): keep that order
        members = [stamped[i] for i in below]
        incidents.append(
            Incident(
                id=f"incident-{root.id}",
                root=root,
                explains=tuple(members),
                headline=_headline(root, len(members)),
                blast_radius=_blast([root, *members], by_code, topo),
                next_steps=_steps(by_code.get(root.code), root, bundle),
            )
        )
    incidents.sort(key=_rank)
    return Grouping(stamped, tuple(incidents))


def _rank(inc: Incident) -> tuple[int, int, int, int, int, tuple[int, str, str]]:
    b = inc.blast_radius
    return (inc.severity.rank, -b.pods, -b.nodes, -b.ztunnels, -len(inc.explains), inc.root.sort_key)


def _stamp(f: Finding, fid: str, caused_by: str | None, also: tuple[str, ...]) -> Finding:
    return replace(f, id=fid, caused_by=caused_by, also_caused_by=also)
