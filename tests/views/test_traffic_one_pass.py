"""The traffic section counted in one pass per log gives what counting the sorted records gives."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzer.parse.logs import AccessRecord
from analyzer.views import traffic
from analyzer.views.logs import access_log
from tests.builders import build_bundle

NAMESPACE = "shop"
PODS = ("a-0", "b-0", "b-1", "c-0")
WORKLOADS = [f"{NAMESPACE}/{p}" for p in PODS]
SVC = {  # two endpoints: a spread to judge
    "ref": f"{NAMESPACE}/svc",
    "hostname": "svc.shop.svc.cluster.local",
    "endpoints": [f"Kubernetes//Pod/{NAMESPACE}/b-0", f"Kubernetes//Pod/{NAMESPACE}/b-1"],
}


def _reference(bundle: Any) -> traffic.Traffic:
    """The section as it was computed from `access_log`'s sorted, whole records."""
    records = [e.record for e in access_log(bundle).entries if e.record.message == "connection complete"]

    def dst(r: AccessRecord) -> str | None:
        return f"{r.dst_namespace}/{r.dst_workload}" if r.dst_namespace and r.dst_workload else None

    def src(r: AccessRecord) -> str | None:
        return f"{r.src_namespace}/{r.src_workload}" if r.src_namespace and r.src_workload else None

    def seen(rs: list[AccessRecord]) -> traffic.Seen:
        if not rs:
            return traffic.Seen.NONE
        hbone = any(r.dst_hbone_addr or r.src_identity or r.dst_identity for r in rs)
        return traffic.Seen.HBONE if hbone else traffic.Seen.PLAIN

    conns: dict[tuple[str | None, str | None], AccessRecord] = {}
    for r in sorted(records, key=lambda r: r.direction != "outbound"):
        conns.setdefault((r.src_addr, dst(r) or r.dst_hbone_addr or r.dst_addr), r)
    inbound: dict[str, list[AccessRecord]] = {}
    outbound: dict[str, list[AccessRecord]] = {}
    for r in records:
        if (d := dst(r)) is not None:
            inbound.setdefault(d, []).append(r)
        if (s := src(r)) is not None:
            outbound.setdefault(s, []).append(r)
    rows = []
    for pod in sorted(bundle.pods, key=lambda p: (p.namespace, p.name)):
        if pod.terminal or not bundle.is_ambient(pod):
            continue
        key = f"{pod.namespace}/{pod.name}"
        i, o = inbound.get(key, []), outbound.get(key, [])
        row = traffic.WorkloadTraffic(pod.namespace, pod.name, pod.node, seen(i), seen(o), len(i), len(o))
        rows.append(row)
    by_service: dict[str, Counter[str]] = {}
    for r in conns.values():
        if r.dst_service and (d := dst(r)):
            by_service.setdefault(r.dst_service, Counter())[d] += 1
    endpoints = traffic._endpoints(bundle)
    spreads = []
    for host in sorted(set(by_service) | {h for h, e in endpoints.items() if len(e) > 1}):
        eps = endpoints.get(host, set())
        if len(eps) >= 2:
            spreads.append(traffic.spread(host, by_service.get(host, Counter()), eps))
    return traffic.Traffic(tuple(rows), tuple(spreads), len(records))


# Few values each, so records collide: one source address, one time, one line number in two logs;
# the last time has no such date (an untimed record).
_TIMES = ("2026-01-01T12:00:00Z", "2026-01-01T12:00:01Z", "2026-01-01T12:00:00.5Z", "2026-13-01T12:00:00Z")
_FIELDS = {
    "src.addr": st.sampled_from(["10.0.0.1:1", "10.0.0.1:2"]),
    "src.workload": st.sampled_from(PODS),
    "src.namespace": st.sampled_from([NAMESPACE, ""]),
    "src.identity": st.sampled_from(["spiffe://c/ns/shop/sa/a", ""]),
    "dst.addr": st.sampled_from(["10.0.0.2:15008", "10.0.0.3:80"]),
    "dst.hbone_addr": st.sampled_from(["10.0.0.2:8080", ""]),
    "dst.service": st.sampled_from(["svc.shop.svc.cluster.local", "other.shop.svc.cluster.local", ""]),
    "dst.workload": st.sampled_from(["b-0", "b-1", "a-0"]),
    "dst.namespace": st.sampled_from([NAMESPACE, NAMESPACE, "elsewhere"]),
    "direction": st.sampled_from(["outbound", "inbound", ""]),
}


@st.composite
def _line(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["  continued", "garbage", f"{_TIMES[0]}\tinfo\txds\tconnected"]))
    fields = " ".join(f'{k}="{draw(v)}"' for k, v in _FIELDS.items() if draw(st.integers(0, 3)))
    message = draw(st.sampled_from(["connection complete", "connection complete", "connection failed"]))
    return f"{draw(st.sampled_from(_TIMES))}\tinfo\taccess\t{message}\t{fields}"


_LOGS = st.lists(
    st.fixed_dictionaries(
        {
            "component": st.just("ztunnel"),
            "pod": st.sampled_from(["zt-a", "zt-b"]),
            "previous": st.booleans(),
            "lines": st.lists(_line(), max_size=8),  # as written: their own times
        }
    ),
    max_size=4,
    unique_by=lambda log: (log["pod"], log["previous"]),
)


def _tie(service: str, ztunnel: str, before: int = 0, previous: bool = False) -> dict[str, Any]:
    """A log whose one outbound record to shop/b-0 from 10.0.0.1:1 comes after `before` other lines."""
    to = f'dst.service="{service}" dst.workload=b-0 dst.namespace=shop'
    fields = f"src.addr=10.0.0.1:1 {to} direction=outbound"
    record = f"{_TIMES[0]}\tinfo\taccess\tconnection complete\t{fields}"
    lines = [f"{_TIMES[0]}\tinfo\txds\tconnected"] * before + [record]
    return {"component": "ztunnel", "pod": ztunnel, "previous": previous, "lines": lines}


OTHER = "other.shop.svc.cluster.local"


@settings(max_examples=300, deadline=None)
@given(_LOGS)
# One connection logged twice at one time: the ztunnel's name decides before the line number, and
# between a ztunnel's previous and current log (same name, same line) the order of the logs does.
@example([_tie(SVC["hostname"], "zt-b"), _tie(OTHER, "zt-a", before=1)])
@example([_tie(OTHER, "zt-b"), _tie(SVC["hostname"], "zt-a", before=1)])
@example([_tie(SVC["hostname"], "zt-a"), _tie(OTHER, "zt-a", previous=True)])
@example([_tie(OTHER, "zt-a"), _tie(SVC["hostname"], "zt-a", previous=True)])
def test_traffic_is_what_the_sorted_records_give(logs: list[dict[str, Any]]) -> None:
    bundle = build_bundle(
        {
            "namespaces": [{"name": NAMESPACE, "dataplane_mode": "ambient"}],
            "pods": [{"ref": f"{NAMESPACE}/{p}", "node": "n1"} for p in PODS],
            "ztunnels": [
                {"node": "n1", "name": "zt-a", "workloads": WORKLOADS, "services": [SVC]},
                {"node": "n2", "name": "zt-b", "workloads": WORKLOADS},
            ],
            "logs": logs,
        }
    )
    assert traffic.traffic(bundle) == _reference(bundle)


def test_the_reference_sees_records_at_all() -> None:
    """The comparison above is not between two empty sections."""
    fields = "src.addr=10.0.0.1:1 dst.workload=b-0 dst.namespace=shop"
    line = f"{_TIMES[0]}\tinfo\taccess\tconnection complete\t{fields}"
    bundle = build_bundle(
        {
            "namespaces": [{"name": NAMESPACE, "dataplane_mode": "ambient"}],
            "pods": [{"ref": f"{NAMESPACE}/b-0", "node": "n1"}],
            "ztunnels": [{"node": "n1", "name": "zt-a", "workloads": [f"{NAMESPACE}/b-0"]}],
            "logs": [{"component": "ztunnel", "pod": "zt-a", "lines": [line]}],
        }
    )
    assert traffic.traffic(bundle).records == _reference(bundle).records == 1
