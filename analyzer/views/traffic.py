"""What traffic ztunnel carried: per workload HBONE seen or not, per service the spread over endpoints.

Evidence is the access log. A connection is logged by the source ztunnel (outbound) and again
by the destination ztunnel (inbound); both records carry the same source address, so connections
are counted once per (source address, destination workload).

Load-balancing check: ztunnel picks uniformly among a service's healthy endpoints, so with n
connections over k endpoints each expects n/k. We run Pearson's chi-square goodness-of-fit test
against that uniform expectation (df = k - 1) and call the spread skewed when p < 0.001. The test
is only run when every endpoint expects at least 5 connections (n >= 5k, Cochran's rule);
below that the verdict is "too few". The strict p keeps a mesh with dozens of services from
flagging one by chance; all-to-one-of-three is flagged from n = 15 (p ~ 3e-7).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from analyzer.model import Bundle
from analyzer.views.logs import ztunnel_logs
from analyzer.views.table import Table

P_SKEWED = 0.001
MIN_EXPECTED = 5


class Seen(StrEnum):
    HBONE = "hbone"  # access records with dst.hbone_addr or peer identities: mTLS tunnel confirmed
    PLAIN = "plaintext"  # records through ztunnel, but none shows HBONE
    NONE = "none"  # no record at all


class Verdict(StrEnum):
    EVEN = "even"
    SKEWED = "skewed"
    TOO_FEW = "too-few"


@dataclass(frozen=True, slots=True)
class WorkloadTraffic:
    namespace: str
    name: str
    node: str | None
    inbound: Seen
    outbound: Seen
    inbound_count: int
    outbound_count: int


@dataclass(frozen=True, slots=True)
class Spread:
    service: str
    counts: tuple[tuple[str, int], ...]  # (ns/workload, connections), endpoints first in name order
    total: int
    chi2: float | None
    p_value: float | None
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Traffic:
    workloads: tuple[WorkloadTraffic, ...]
    services: tuple[Spread, ...]
    records: int


# --- statistics ----------------------------------------------------------------------


def _gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x): series below a+1, continued fraction above."""
    if x <= 0:
        return 1.0
    ln_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(500):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(ln_front))
    b, c, d = x + 1 - a, 1e300, 1.0 / (x + 1 - a)
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(ln_front) * h


def chi_square_uniform(counts: Iterable[int]) -> tuple[float, float]:
    """Pearson's statistic against a uniform expectation and its p-value (df = k - 1)."""
    obs = list(counts)
    n, k = sum(obs), len(obs)
    expected = n / k
    chi2 = sum((o - expected) ** 2 / expected for o in obs)
    return chi2, _gamma_q((k - 1) / 2, chi2 / 2)


def spread(service: str, counts: Mapping[str, int], endpoints: Iterable[str]) -> Spread:
    """Judge how a service's connections spread over its endpoints (extra destinations listed after)."""
    eps = sorted(set(endpoints))
    ordered = [(e, counts.get(e, 0)) for e in eps] + sorted((w, c) for w, c in counts.items() if w not in eps)
    observed = [c for _, c in ordered[: len(eps)]]
    total = sum(c for _, c in ordered)
    if len(eps) < 2 or sum(observed) < MIN_EXPECTED * len(eps):
        return Spread(service, tuple(ordered), total, None, None, Verdict.TOO_FEW)
    chi2, p = chi_square_uniform(observed)
    return Spread(service, tuple(ordered), total, chi2, p, Verdict.SKEWED if p < P_SKEWED else Verdict.EVEN)


# --- from the bundle -------------------------------------------------------------------


_Kept = tuple[datetime | None, int, str, int, int, str | None, str | None]
"""A connection's record, by what decides between two and what is counted: its time, line,
ztunnel, file and index (`access_log`'s order), destination service and destination workload."""


def _rank(kept: _Kept) -> tuple[bool, datetime, str, int, int, int]:
    """One record stands for each connection key: the least by this, the first in `access_log`'s
    order (time, ztunnel, line; then file and record order)."""
    time, line, ztunnel, file, index, *_ = kept
    return (time is None, time or datetime.min, ztunnel, line, file, index)


_Key = tuple[str | None, str | None]


def _by_service(outbound: dict[_Key, _Kept], other: dict[_Key, _Kept]) -> dict[str, Counter[str]]:
    """Connections per destination, per destination service: one record per connection (source
    address + destination), the outbound record preferred."""
    out: dict[str, Counter[str]] = {}
    kept = [*outbound.values(), *(v for k, v in other.items() if k not in outbound)]
    for *_, service, d in kept:
        if service and d:
            counts = out.get(service)
            if counts is None:
                counts = out[service] = Counter()
            counts[d] += 1
    return out


def _endpoints(bundle: Bundle) -> dict[str, set[str]]:
    """Service hostname → `ns/pod` of its endpoints, from every ztunnel's view (union)."""
    out: dict[str, set[str]] = {}
    seen: list[tuple[object, object]] = []  # tables already merged (the loader shares identical ones)
    for z in bundle.ztunnels:
        if not z.available or any(s is z.xds.services and w is z.xds.workloads for s, w in seen):
            continue
        seen.append((z.xds.services, z.xds.workloads))
        for svc in z.xds.services.values():
            for uid, _ in svc.endpoints:
                w = z.xds.workloads.get(uid)
                name = f"{w.namespace}/{w.name}" if w else uid.partition("//Pod/")[2]
                if name:
                    out.setdefault(svc.hostname, set()).add(name)
    return out


def _seen(count: int, hbone: bool) -> Seen:
    if not count:
        return Seen.NONE
    return Seen.HBONE if hbone else Seen.PLAIN


@dataclass(frozen=True, slots=True)
class Observed:
    """What the access logs show, before the services' endpoints are known (those come from the
    ztunnels' dumps): a row per ambient pod, connections per destination per service, records read."""

    workloads: tuple[WorkloadTraffic, ...]
    by_service: dict[str, Counter[str]]
    records: int


def observed(bundle: Bundle) -> Observed:
    """Every `connection complete` record of every ztunnel's access log (`access_log`), counted in one
    pass over each log; needs only the logs and the pod list (`analyzer.load.load_index` has both).

    Records are neither built whole nor sorted (`_rank` keeps `access_log`'s order where it decides
    which record stands for a connection).
    """
    inbound: dict[str, int] = {}
    outbound: dict[str, int] = {}
    hbone_in: set[str] = set()
    hbone_out: set[str] = set()
    conns: tuple[dict[_Key, _Kept], dict[_Key, _Kept]] = ({}, {})  # outbound records, the others
    names: dict[str | None, str | None] = {}  # one copy of each name kept: ~200k connections
    records = 0
    for file, log in enumerate(ztunnel_logs(bundle)):
        ztunnel = log.pod
        for index, r in enumerate(log.traffic_fields()):
            (time, message, direction, src_addr, dst_addr, hbone_addr, src_wl, src_ns, src_id, dst_svc,
             dst_wl, dst_ns, dst_id, line) = r  # fmt: skip
            if message != "connection complete":
                continue
            records += 1  # every record counts as evidence, whichever side logged it
            hbone = bool(hbone_addr or src_id or dst_id)
            d = f"{dst_ns}/{dst_wl}" if dst_ns and dst_wl else None
            d = names.setdefault(d, d)
            if d is not None:
                inbound[d] = inbound.get(d, 0) + 1
                if hbone:
                    hbone_in.add(d)
            if src_ns and src_wl:
                s = f"{src_ns}/{src_wl}"
                outbound[s] = outbound.get(s, 0) + 1
                if hbone:
                    hbone_out.add(s)
            kept = (time, line, ztunnel, file, index, names.setdefault(dst_svc, dst_svc), d)
            conn = (src_addr, d or hbone_addr or dst_addr)
            best = conns[direction != "outbound"]
            held = best.get(conn)
            if held is None or _rank(kept) < _rank(held):
                best[conn] = kept
    rows = []
    for pod in sorted(bundle.pods, key=lambda p: (p.namespace, p.name)):
        if pod.terminal or not bundle.is_ambient(pod):
            continue
        key = f"{pod.namespace}/{pod.name}"
        i, o = inbound.get(key, 0), outbound.get(key, 0)
        rows.append(
            WorkloadTraffic(
                pod.namespace, pod.name, pod.node, _seen(i, key in hbone_in), _seen(o, key in hbone_out), i, o
            )
        )
    return Observed(tuple(rows), _by_service(*conns), records)


def traffic(bundle: Bundle, service: str | None = None, seen: Observed | None = None) -> Traffic:
    """Per ambient pod: inbound/outbound seen through ztunnel; per multi-endpoint service: the spread.

    `seen`: `observed(bundle)` when already computed (analyze computes it beside the rules).
    """
    seen = seen if seen is not None else observed(bundle)
    endpoints = _endpoints(bundle)
    spreads = []
    for host in sorted(set(seen.by_service) | {h for h, e in endpoints.items() if len(e) > 1}):
        if service and host != service and host.split(".")[0] != service:
            continue
        eps = endpoints.get(host, set())
        if len(eps) < 2:
            continue  # only services with several endpoints have a spread to judge
        spreads.append(spread(host, seen.by_service.get(host, Counter()), eps))
    return Traffic(seen.workloads, tuple(spreads), seen.records)


def workload_table(t: Traffic) -> Table:
    rows = tuple(
        (w.namespace, w.name, w.node or "-", w.inbound.value, str(w.inbound_count), w.outbound.value,
         str(w.outbound_count))
        for w in t.workloads
    )  # fmt: skip
    headers = ("NAMESPACE", "WORKLOAD", "NODE", "INBOUND", "IN RECORDS", "OUTBOUND", "OUT RECORDS")
    return Table(headers, rows)


def spread_table(t: Traffic) -> Table:
    rows = []
    for s in t.services:
        for endpoint, count in s.counts:
            share = f"{100 * count / s.total:.0f}%" if s.total else "-"
            p = "-" if s.p_value is None else f"{s.p_value:.2g}"
            rows.append((s.service, endpoint, str(count), share, s.verdict.value, p))
    return Table(("SERVICE", "ENDPOINT", "CONNECTIONS", "SHARE", "SPREAD", "P-VALUE"), tuple(rows))
